"""Cohort and lifecycle reads: members by first day, their periods, active sets per period."""

from __future__ import annotations

from datetime import date
from typing import Any


from ..periods import period_end, period_start
from ..scope import Scope
from .activity import member_periods
from .base import _Days, _d, _id_set, _memoized, _query, complete_to_end, md_days, scope_filter
from .people import first_days


_BASIS_COLUMN = {"activity": "first_active_day", "message": "first_message_day", "join": "first_join_day"}


def cohort_members(scope: Scope, basis: str, first: date, last: date) -> dict[int, date]:
    """``{member: day of their first <basis> event}`` for members whose first falls between two days.

    (``last`` is also the as-of day: nothing later is known.)
    """
    days = _Days()
    if scope.group_ids:
        position = {"activity": 0, "message": 1, "join": 2}[basis]
        return {m: v[position] for m, v in first_days(scope, last).items()
                if v[position] is not None and first <= v[position] <= last}
    column = _BASIS_COLUMN[basis]
    join, _where, jp = scope_filter(scope, "s")
    rows = _query(f"SELECT s.member_id, s.{column} FROM qunyun_member_stats s{join} WHERE s.community_id = %s "
                  f"AND s.{column} BETWEEN %s AND %s", [*jp, scope.cid, _d(first), _d(last)])
    return {m: days(d) for m, d in rows}


def cohort_periods(scope: Scope, period: str, basis: str, first: date, last: date) -> list[tuple[int, date, int, int]]:
    """:func:`member_periods` rows of the members in :func:`cohort_members` only, from ``first``'s period."""
    if scope.group_ids:
        members = cohort_members(scope, basis, first, last)
        return [r for r in member_periods(scope, period, first, last) if r[0] in members]
    days = _Days()
    column = _BASIS_COLUMN[basis]
    first_start, last_start = period_start(first, period), period_start(last, period)
    table, pcol = ("qunyun_member_week", "week") if period == "week" else ("qunyun_member_month", "month")
    whole_until = period_start(last, period) if not complete_to_end(scope) else last
    join, _where, jp = scope_filter(scope, "s")
    # The cohort's members first (a short index range), then their period rows by member.
    out = [(m, days(p), n, r) for m, p, n, r in _query(
        f"SELECT p.member_id, p.{pcol}, p.messages, p.reactions FROM qunyun_member_stats s{join} "
        f"CROSS JOIN {table} p WHERE s.community_id = %s AND s.{column} BETWEEN %s AND %s "
        f"AND p.member_id = s.member_id AND p.{pcol} >= %s AND p.{pcol} <= %s",
        [*jp, scope.cid, _d(first), _d(last), _d(first_start), _d(whole_until)])
        if days(p) < last_start or whole_until == last]
    if whole_until != last:
        out.extend((m, last_start, int(n), int(r)) for m, n, r in _query(
            f"SELECT md.member_id, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_stats s{join} "
            f"CROSS JOIN qunyun_member_day md WHERE s.community_id = %s AND s.{column} BETWEEN %s AND %s "
            "AND md.member_id = s.member_id AND md.day BETWEEN %s AND %s GROUP BY md.member_id",
            [*jp, scope.cid, _d(first), _d(last), _d(last_start), _d(last)]))
    return out


def _period_members(scope: Scope, period: str, start: date) -> tuple[str, list[Any]]:
    """SQL of the distinct members active in the period starting ``start`` (only days up to the scope's end)."""
    end = period_end(start, period)
    if not scope.group_ids and (end <= scope.end or complete_to_end(scope)):
        table, pcol = ("qunyun_member_week", "week") if period == "week" else ("qunyun_member_month", "month")
        join, _where, jp = scope_filter(scope, "p")
        return (f"SELECT p.member_id FROM {table} p{join} WHERE p.community_id = %s AND p.{pcol} = %s",
                [*jp, scope.cid, _d(start)])
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, start, min(end, scope.end))
    return f"SELECT DISTINCT md.member_id FROM qunyun_member_day md{join} WHERE {span}", [*jp, *sp]


@_memoized
def period_active(scope: Scope, period: str, start: date) -> int:
    """How many members were active in the period starting ``start`` (up to the scope's end)."""
    if start > scope.end:
        return 0
    sql_a, pa = _period_members(scope, period, start)
    return int(_query(f"SELECT COUNT(*) FROM ({sql_a}) a", pa)[0][0])


@_memoized
def period_lifecycle(scope: Scope, period: str, start: date, before: date) -> tuple[int, int, int]:
    """``(active, new, returning)`` for the period at ``start``; ``before`` is the previous period's start."""
    sql_a, pa = _period_members(scope, period, start)
    sql_b, pb = _period_members(scope, period, before)
    active = period_active(scope, period, start)
    returning = int(_query(f"SELECT COUNT(*) FROM ({sql_a}) a JOIN ({sql_b}) b ON b.member_id = a.member_id",
                           pa + pb)[0][0])
    if scope.group_ids:
        groups = ", ".join(["%s"] * len(scope.group_ids))
        # (One key lookup per member and group: the member-days before ``start``, looked up by member,
        # had to be fetched from the table for their group.)
        new = _query(f"SELECT COUNT(*) FROM ({sql_a}) a WHERE NOT EXISTS (SELECT 1 FROM qunyun_member_group_firsts x "
                     f"WHERE x.group_id IN ({groups}) AND x.member_id = a.member_id AND x.first_active_day < %s)",
                     pa + [*scope.group_ids, _d(start)])[0][0]
    else:
        new = _query(f"SELECT COUNT(*) FROM ({sql_a}) a JOIN qunyun_member_stats s ON s.member_id = a.member_id "
                     "WHERE s.first_active_day >= %s", pa + [_d(start)])[0][0]
    return active, int(new), returning


@_memoized
def period_member_ids(scope: Scope, period: str, start: date) -> frozenset[int]:
    """The members active in the period starting ``start`` (only days up to the scope's end)."""
    if start > scope.end:
        return frozenset()
    sql_a, pa = _period_members(scope, period, start)
    return _id_set(sql_a, pa)


@_memoized
def first_active_between(scope: Scope, first: date, last: date) -> frozenset[int]:
    """Members whose first activity in the community falls between two days (no group filter)."""
    join, _where, jp = scope_filter(scope, "s")
    return _id_set(f"SELECT s.member_id FROM qunyun_member_stats s{join} WHERE s.community_id = %s "
                   "AND s.first_active_day BETWEEN %s AND %s", [*jp, scope.cid, _d(first), _d(last)])

"""Members as people: in a group now or ever, names, channels, bots, first days."""

from __future__ import annotations

from datetime import date
from typing import Iterable


from ..scope import Scope
from .base import _Days, _d, _id_sets, _memoized, _params, _query, complete_to_end, md_days, scope_filter


@_memoized
def first_days(scope: Scope, last: date) -> dict[int, tuple[date | None, date | None, date | None]]:
    """``{member: (first active day, first message day, first join day)}`` as known on ``last``."""
    days = _Days()
    out: dict[int, tuple[date | None, date | None, date | None]] = {}

    def upto(value):
        day = days(value)
        return day if day is not None and day <= last else None

    if not scope.group_ids:
        join, _where, jp = scope_filter(scope, "s")
        statement, params = (f"SELECT s.member_id, s.first_active_day, s.first_message_day, s.first_join_day "
                             f"FROM qunyun_member_stats s{join} WHERE s.community_id = %s", [*jp, scope.cid])
    else:
        # A member's first day in a set of groups is the earliest of their firsts in each: a read
        # of the groups' key ranges (grouping the member-days and the log's joins instead took
        # ~3 s at 10M for the busiest group; docs/analytics.md, "A group filter reads by group").
        join, where, jp = scope_filter(scope, "f")
        statement, params = (
            "SELECT f.member_id, MIN(f.first_active_day), MIN(f.first_message_day), MIN(f.first_join_day) "
            f"FROM qunyun_member_group_firsts f{join} WHERE f.community_id = %s{where} GROUP BY f.member_id",
            _params(scope, jp, scope.cid))
    for m, fa, fm, fj in _query(statement, params):
        row = (upto(fa), upto(fm), upto(fj))
        if row != (None, None, None):
            out[m] = row
    return out


def group_firsts_of(member_id: int, group_ids: Iterable[int]) -> dict[int, tuple[date | None, date | None]]:
    """``{group: (first active day, first message day)}`` of one member in the given groups."""
    days, groups = _Days(), sorted(set(group_ids))
    if not groups:
        return {}
    return {g: (days(fa), days(fm)) for g, fa, fm in _query(
        "SELECT group_id, first_active_day, first_message_day FROM qunyun_member_group_firsts "
        f"WHERE group_id IN ({', '.join(['%s'] * len(groups))}) AND member_id = %s", [*groups, member_id])}


@_memoized
def memberships(scope: Scope) -> dict[int, bool]:
    """``{member: currently in at least one group of the scope}`` for non-bot members with a membership."""
    join, where, jp = scope_filter(scope, "ms")
    rows = _query(
        "SELECT ms.member_id, MAX(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
        f"JOIN qunyun_group g ON g.id = ms.group_id JOIN qunyun_member bm ON bm.id = ms.member_id{join} "
        f"WHERE g.community_id = %s AND bm.is_bot = %s{where} GROUP BY ms.member_id",
        _params(scope, jp, scope.cid, False))
    return {m: bool(current) for m, current in rows}


@_memoized
def members_now_by_group(scope: Scope) -> dict[int, int]:
    """``{group: members currently in it}`` (non-bot) for the scope's groups."""
    if scope.channel_id is None:  # kept per group by the rollups
        where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
        return {g: int(n) for g, n in _query(
            f"SELECT group_id, members_now FROM qunyun_group_size WHERE community_id = %s{where}",
            [scope.cid, *scope.group_ids])}
    join, where, jp = scope_filter(scope, "ms")
    base = (f"FROM qunyun_membership ms JOIN qunyun_group g ON g.id = ms.group_id{join} "
            f"WHERE g.community_id = %s AND ms.is_member = %s{where}")
    counts = {g: int(n) for g, n in _query(f"SELECT ms.group_id, COUNT(*) {base} GROUP BY ms.group_id",
                                           _params(scope, jp, scope.cid, True))}
    # Bots are few: subtract theirs rather than look up every member's flag.
    for g, n in _query(f"SELECT ms.group_id, COUNT(*) {base} AND ms.member_id IN "
                       "(SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s) GROUP BY ms.group_id",
                       _params(scope, jp, scope.cid, True) + [scope.cid, True]):
        counts[g] -= int(n)
    return counts


@_memoized
def membership_counts(scope: Scope) -> tuple[int, int]:
    """``(members now, members ever)``: distinct non-bot members currently in / ever in a group of the scope."""
    join, where, jp = scope_filter(scope, "ms")
    base = (f"SELECT COUNT(DISTINCT CASE WHEN ms.is_member THEN ms.member_id END), COUNT(DISTINCT ms.member_id) "
            f"FROM qunyun_membership ms JOIN qunyun_group g ON g.id = ms.group_id{join} WHERE g.community_id = %s{where}")
    if not scope.group_ids:  # kept per member by the rollups
        sjoin, _w, sjp = scope_filter(scope, "s")
        now, ever = _query(f"SELECT SUM(CASE WHEN s.in_group THEN 1 ELSE 0 END), COUNT(*) FROM qunyun_member_stats s"
                           f"{sjoin} WHERE s.community_id = %s", [*sjp, scope.cid])[0]
        return int(now or 0), int(ever or 0)
    now, ever = _query(base, _params(scope, jp, scope.cid))[0]
    # Bots are few: subtract theirs rather than look up every member's flag.
    bots_now, bots_ever = _query(
        base + " AND ms.member_id IN (SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s)",
        _params(scope, jp, scope.cid) + [scope.cid, True])[0]
    return int(now or 0) - int(bots_now or 0), int(ever or 0) - int(bots_ever or 0)


def members_now(scope: Scope) -> int:
    """Distinct non-bot members currently in at least one group of the scope."""
    return membership_counts(scope)[0]


def members_ever(scope: Scope) -> int:
    """Distinct non-bot members with a membership (current or past) in a group of the scope."""
    return membership_counts(scope)[1]


@_memoized
def current_posters(scope: Scope, first: date, last: date) -> int:
    """Members who posted between two days and are in a group of the scope now."""
    if not scope.group_ids and complete_to_end(scope) and last >= scope.end:
        # Nothing after the end exists: "posted since first" is "last message on or after first".
        sjoin, _w, sjp = scope_filter(scope, "s")
        return int(_query(f"SELECT COUNT(*) FROM qunyun_member_stats s{sjoin} WHERE s.community_id = %s "
                          "AND s.in_group = %s AND s.last_message_day >= %s", [*sjp, scope.cid, True, _d(first)])[0][0])
    md_join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    groups = f" AND ms.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT md.member_id FROM qunyun_member_day md{md_join} "
        f"WHERE {span} AND md.messages > 0) p "
        "WHERE EXISTS (SELECT 1 FROM qunyun_membership ms JOIN qunyun_group g ON g.id = ms.group_id "
        f"WHERE ms.member_id = p.member_id AND ms.is_member = %s AND g.community_id = %s{groups})",
        [*jp, *sp, True, scope.cid, *scope.group_ids])
    return int(rows[0][0])


def names(member_ids: Iterable[int]) -> dict[int, str]:
    """Display names of members (``#id`` when a member has none)."""
    out: dict[int, str] = {}
    for among, ids in _id_sets("id", set(member_ids)):
        for pk, name in _query(f"SELECT id, display_name FROM qunyun_member WHERE {among}", ids):
            out[pk] = name or f"#{pk}"
    return out


@_memoized
def group_names(scope: Scope) -> dict[int, str]:
    rows = _query("SELECT id, name FROM qunyun_group WHERE community_id = %s", [scope.cid])
    return {g: name for g, name in rows if not scope.group_ids or g in scope.group_ids}


@_memoized
def channels_of(scope: Scope) -> dict[int, int]:
    """``{member: acquisition channel id}`` (``Member.channel``) for members that have one."""
    return dict(_query("SELECT id, channel_id FROM qunyun_member WHERE community_id = %s AND channel_id IS NOT NULL",
                       [scope.cid]))


@_memoized
def channel_names(scope: Scope) -> dict[int, str]:
    """``{channel id: code}`` of the community's channels."""
    return {pk: code for pk, code in _query("SELECT id, code FROM qunyun_channel WHERE community_id = %s", [scope.cid])}


@_memoized
def bot_ids(scope: Scope) -> set[int]:
    """Members of the community that are bots."""
    return {r[0] for r in _query("SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s",
                                 [scope.cid, True])}


def channel_members(scope: Scope) -> set[int]:
    """Members whose acquisition channel is the scope's channel."""
    return {r[0] for r in _query("SELECT id FROM qunyun_member WHERE community_id = %s AND channel_id = %s",
                                 [scope.cid, scope.channel_id])}


def channels_for(scope: Scope, member_ids: list[int]) -> dict[int, int]:
    """``{member: acquisition channel id}`` of the given members that have one."""
    if len(member_ids) > 20_000:
        return channels_of(scope)
    out: dict[int, int] = {}
    for among, ids in _id_sets("id", member_ids):
        out.update(_query(f"SELECT id, channel_id FROM qunyun_member WHERE {among} AND channel_id IS NOT NULL", ids))
    return out

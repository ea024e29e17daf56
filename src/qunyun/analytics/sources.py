"""Reads of rollups and of the event log, as plain Python data, for one :class:`Scope`.

Every function here answers one question with one or two SQL statements, applying the scope's
group and channel filters the same way; the metric modules do the arithmetic. Rollups already
leave bots and system lines out; event-log reads exclude them explicitly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any, Iterable

from django.db import connection

from . import sql
from .periods import period_end, period_start
from .scope import Scope


_memo: ContextVar[dict | None] = ContextVar("qunyun_analytics_memo", default=None)


@contextmanager
def memo() -> Iterator[None]:
    """Within this block, each read below is done once per distinct arguments (one page, one report).

    The figures of a dashboard ask the same questions several times (the DAU of the last 30 days
    is both a series and the stickiness); outside a block nothing is cached, so nothing goes stale.
    """
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _memoized(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        cache = _memo.get()
        if cache is None:
            return fn(*args, **kwargs)
        key = (fn.__name__, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = fn(*args, **kwargs)
        return cache[key]
    return wrapper


class _Days:
    """Turns the database's date values (text on SQLite, dates on PostgreSQL) into dates, memoised."""

    def __init__(self) -> None:
        self._memo: dict[Any, date] = {}

    def __call__(self, value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        found = self._memo.get(value)
        if found is None:
            found = date.fromisoformat(str(value)[:10])
            self._memo[value] = found
        return found


def _d(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _query(statement: str, params: Iterable[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return cursor.fetchall()


def scope_filter(scope: Scope, alias: str, *, member_column: str = "member_id") -> tuple[str, str, list[Any]]:
    """``(join, where, params)`` restricting rows of ``alias`` to the scope's groups and channel."""
    join, where, params = "", "", []
    if scope.channel_id is not None:
        join = f" JOIN qunyun_member fm ON fm.id = {alias}.{member_column} AND fm.channel_id = %s"
        params.append(scope.channel_id)
    if scope.group_ids:
        where = f" AND {alias}.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})"
    return join, where, params


def _params(scope: Scope, join_params: list[Any], *rest: Any) -> list[Any]:
    return [*join_params, *rest, *scope.group_ids]


# ----------------------------------------------------------------- daily totals


@_memoized
def day_totals(scope: Scope, first: date, last: date) -> dict[date, list[int]]:
    """``{day: [messages, reactions, joins, leaves]}`` for days with any of them."""
    days = _Days()
    out: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    if scope.channel_id is None:
        join, where, jp = scope_filter(scope, "g")
        rows = _query(
            f"SELECT g.day, SUM(g.messages), SUM(g.reactions), SUM(g.joins), SUM(g.leaves) FROM qunyun_group_day g{join} "
            f"WHERE g.community_id = %s AND g.day BETWEEN %s AND %s{where} GROUP BY g.day",
            _params(scope, jp, scope.cid, _d(first), _d(last)))
        for day, messages, reactions, joins, leaves in rows:
            out[days(day)] = [int(messages), int(reactions), int(joins), int(leaves)]
        return dict(out)
    join, where, jp = scope_filter(scope, "md")
    for day, messages, reactions in _query(
        f"SELECT md.day, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_day md{join} "
        f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} GROUP BY md.day",
        _params(scope, jp, scope.cid, _d(first), _d(last)),
    ):
        row = out[days(day)]
        row[0], row[1] = int(messages), int(reactions)
    join, where, jp = scope_filter(scope, "e")
    for day, etype, count in _query(
        f"SELECT e.day, e.type, COUNT(*) FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id{join} "
        f"WHERE e.community_id = %s AND e.type IN ('join', 'leave') AND e.day BETWEEN %s AND %s "
        f"AND bm.is_bot = %s{where} GROUP BY e.day, e.type",
        _params(scope, jp, scope.cid, _d(first), _d(last), False),
    ):
        out[days(day)][2 if etype == "join" else 3] += int(count)
    return dict(out)


# ----------------------------------------------------------------- member activity


@_memoized
def data_end(scope: Scope) -> date | None:
    """The last local day with activity, joins or leaves in the community (the rollups hold nothing later)."""
    return _Days()(_query("SELECT MAX(day) FROM qunyun_group_day WHERE community_id = %s", [scope.cid])[0][0])


def complete_to_end(scope: Scope) -> bool:
    """Whether nothing after the scope's end exists: then a period's rollup row that runs past the end
    holds only days up to it, and can be used as it is."""
    last = data_end(scope)
    return last is None or last <= scope.end


@_memoized
def daily_active(scope: Scope, first: date, last: date) -> dict[date, tuple[int, int]]:
    """``{day: (active members, members who posted)}`` for days with activity."""
    days = _Days()
    join, where, jp = scope_filter(scope, "md")
    if not scope.group_ids and scope.channel_id is None:
        rows = _query(
            "SELECT day, active_members, authors FROM qunyun_community_day WHERE community_id = %s "
            "AND day BETWEEN %s AND %s", [scope.cid, _d(first), _d(last)])
    else:
        rows = _query(
            "SELECT day, COUNT(*), SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END) FROM ("
            f"SELECT md.day, md.member_id, SUM(md.messages) AS messages FROM qunyun_member_day md{join} "
            f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} GROUP BY md.day, md.member_id"
            ") x GROUP BY day",
            _params(scope, jp, scope.cid, _d(first), _d(last)))
    return {days(day): (int(active), int(posting or 0)) for day, active, posting in rows}


def _single_group(scope: Scope) -> bool:
    """Whether the community has at most one group (then member-day rows are already per member)."""
    cache = scope.community.__dict__.setdefault("_analytics_group_count", None)
    if cache is None:
        cache = _query("SELECT COUNT(*) FROM qunyun_group WHERE community_id = %s", [scope.cid])[0][0]
        scope.community.__dict__["_analytics_group_count"] = cache
    return cache <= 1


@_memoized
def distinct_members(scope: Scope, first: date, last: date, *, posting: bool = False) -> int:
    """Members active (or, with ``posting``, who posted) between two days."""
    join, where, jp = scope_filter(scope, "md")
    condition = " AND md.messages > 0" if posting else ""
    rows = _query(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT md.member_id FROM qunyun_member_day md{join} "
        f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{condition}{where}) x",
        _params(scope, jp, scope.cid, _d(first), _d(last)))
    return int(rows[0][0])


@_memoized
def member_window(scope: Scope, first: date, last: date) -> dict[int, list[int]]:
    """``{member: [active days, messages, replies, reactions]}`` between two days (all groups of the scope)."""
    join, where, jp = scope_filter(scope, "md")
    if not scope.group_ids and _single_group(scope):
        rows = _query(
            f"SELECT md.member_id, COUNT(*), SUM(md.messages), SUM(md.replies), SUM(md.reactions) "
            f"FROM qunyun_member_day md{join} WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} "
            "GROUP BY md.member_id",
            _params(scope, jp, scope.cid, _d(first), _d(last)))
    else:  # one row per member and day first (several groups), then per member: two hash aggregates
        rows = _query(
            "SELECT member_id, COUNT(*), SUM(messages), SUM(replies), SUM(reactions) FROM ("
            f"SELECT md.member_id, md.day, SUM(md.messages) AS messages, SUM(md.replies) AS replies, "
            f"SUM(md.reactions) AS reactions FROM qunyun_member_day md{join} WHERE md.community_id = %s "
            f"AND md.day BETWEEN %s AND %s{where} GROUP BY md.member_id, md.day) x GROUP BY member_id",
            _params(scope, jp, scope.cid, _d(first), _d(last)))
    return {m: [int(d), int(n), int(r), int(x)] for m, d, n, r, x in rows}


def member_active_days(scope: Scope, first: date, last: date) -> list[tuple[int, date, int]]:
    """``(member, day, messages)`` for each member-day with activity between two days."""
    days = _Days()
    join, where, jp = scope_filter(scope, "md")
    rows = _query(
        f"SELECT md.member_id, md.day, SUM(md.messages) FROM qunyun_member_day md{join} "
        f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} GROUP BY md.member_id, md.day",
        _params(scope, jp, scope.cid, _d(first), _d(last)))
    return [(m, days(day), int(n)) for m, day, n in rows]


def member_periods(scope: Scope, period: str, first: date, last: date) -> list[tuple[int, date, int, int]]:
    """``(member, period start, messages, reactions)`` for periods from ``first``'s to ``last``'s.

    Nothing after ``last`` is counted: the period containing ``last`` is read from day rows up
    to ``last``; whole periods come from the week/month rollups when no group is filtered.
    """
    days = _Days()
    first_start, last_start = period_start(first, period), period_start(last, period)
    out: list[tuple[int, date, int, int]] = []
    if scope.group_ids:
        bucket = sql.week_of("md.day") if period == "week" else sql.month_of("md.day")
        join, where, jp = scope_filter(scope, "md")
        rows = _query(
            f"SELECT md.member_id, {bucket}, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_day md{join} "
            f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} GROUP BY md.member_id, 2",
            _params(scope, jp, scope.cid, _d(first_start), _d(last)))
        return [(m, days(p), int(n), int(r)) for m, p, n, r in rows]
    table, column = ("qunyun_member_week", "week") if period == "week" else ("qunyun_member_month", "month")
    join, _where, jp = scope_filter(scope, "p")
    rows = _query(
        f"SELECT p.member_id, p.{column}, p.messages, p.reactions FROM {table} p{join} "
        f"WHERE p.community_id = %s AND p.{column} >= %s AND p.{column} < %s",
        [*jp, scope.cid, _d(first_start), _d(last_start)])
    out.extend((m, days(p), n, r) for m, p, n, r in rows)
    join, _where, jp = scope_filter(scope, "md")
    rows = _query(
        f"SELECT md.member_id, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_day md{join} "
        "WHERE md.community_id = %s AND md.day BETWEEN %s AND %s GROUP BY md.member_id",
        [*jp, scope.cid, _d(last_start), _d(last)])
    out.extend((m, last_start, int(n), int(r)) for m, n, r in rows)
    return out


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
        for m, fa, fm, fj in _query(
            f"SELECT s.member_id, s.first_active_day, s.first_message_day, s.first_join_day "
            f"FROM qunyun_member_stats s{join} WHERE s.community_id = %s", [*jp, scope.cid]
        ):
            row = (upto(fa), upto(fm), upto(fj))
            if row != (None, None, None):
                out[m] = row
        return out
    join, where, jp = scope_filter(scope, "md")
    firsts: dict[int, list] = {}
    for m, fa, fm in _query(
        f"SELECT md.member_id, MIN(md.day), MIN(CASE WHEN md.messages > 0 THEN md.day END) "
        f"FROM qunyun_member_day md{join} WHERE md.community_id = %s AND md.day <= %s{where} GROUP BY md.member_id",
        _params(scope, jp, scope.cid, _d(last)),
    ):
        firsts[m] = [days(fa), days(fm), None]
    join, where, jp = scope_filter(scope, "e")
    for m, fj in _query(
        f"SELECT e.member_id, MIN(e.day) FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id{join} "
        f"WHERE e.community_id = %s AND e.type = 'join' AND e.day <= %s AND bm.is_bot = %s{where} GROUP BY e.member_id",
        _params(scope, jp, scope.cid, _d(last), False),
    ):
        firsts.setdefault(m, [None, None, None])[2] = days(fj)
    return {m: tuple(v) for m, v in firsts.items()}


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
    md_join, md_where, jp = scope_filter(scope, "md")
    groups = f" AND ms.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT md.member_id FROM qunyun_member_day md{md_join} "
        f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s AND md.messages > 0{md_where}) p "
        "WHERE EXISTS (SELECT 1 FROM qunyun_membership ms JOIN qunyun_group g ON g.id = ms.group_id "
        f"WHERE ms.member_id = p.member_id AND ms.is_member = %s AND g.community_id = %s{groups})",
        _params(scope, jp, scope.cid, _d(first), _d(last)) + [True, scope.cid, *scope.group_ids])
    return int(rows[0][0])


@_memoized
def active_days_histogram(scope: Scope, first: date, last: date) -> dict[int, int]:
    """``{number of active days: members}`` for members active between two days."""
    join, where, jp = scope_filter(scope, "md")
    distinct_days = "COUNT(*)" if not scope.group_ids and _single_group(scope) else "COUNT(DISTINCT md.day)"
    rows = _query(
        f"SELECT n, COUNT(*) FROM (SELECT md.member_id, {distinct_days} AS n FROM qunyun_member_day md{join} "
        f"WHERE md.community_id = %s AND md.day BETWEEN %s AND %s{where} GROUP BY md.member_id) x GROUP BY n",
        _params(scope, jp, scope.cid, _d(first), _d(last)))
    return {int(n): int(c) for n, c in rows}


@_memoized
def hour_cells(scope: Scope, first: date, last: date) -> tuple[dict[tuple[date, int], int], dict[tuple[date, int], int]]:
    """Messages and distinct active members per (local day, hour) between two days."""
    days = _Days()
    messages: dict[tuple[date, int], int] = {}
    active: dict[tuple[date, int], int] = {}
    join, where, jp = scope_filter(scope, "h")
    if scope.channel_id is None:
        for day, hour, n in _query(
            f"SELECT h.day, h.hour, SUM(h.messages) FROM qunyun_group_hour h WHERE h.community_id = %s "
            f"AND h.day BETWEEN %s AND %s{where} GROUP BY h.day, h.hour",
            [scope.cid, _d(first), _d(last), *scope.group_ids],
        ):
            messages[(days(day), int(hour))] = int(n)
    else:
        for day, hour, n in _query(
            f"SELECT h.day, h.hour, SUM(h.messages) FROM qunyun_member_hour h{join} WHERE h.community_id = %s "
            f"AND h.day BETWEEN %s AND %s{where} GROUP BY h.day, h.hour",
            _params(scope, jp, scope.cid, _d(first), _d(last)),
        ):
            if n:
                messages[(days(day), int(hour))] = int(n)
    # DISTINCT in a subquery, then COUNT: PostgreSQL hashes it instead of sorting every group.
    for day, hour, n in _query(
        f"SELECT day, hour, COUNT(*) FROM (SELECT DISTINCT h.day, h.hour, h.member_id FROM qunyun_member_hour h{join} "
        f"WHERE h.community_id = %s AND h.day BETWEEN %s AND %s{where}) x GROUP BY day, hour",
        _params(scope, jp, scope.cid, _d(first), _d(last)),
    ):
        active[(days(day), int(hour))] = int(n)
    return messages, active


@_memoized
def top_members(scope: Scope, first: date, last: date, limit: int | None = 20) -> list[tuple[int, str, int]]:
    """``(member, name, messages)`` by messages between two days, most first, ties by name."""
    if limit is not None:
        counts = [(m, v[1]) for m, v in member_window(scope, first, last).items() if v[1] > 0]
        counts.sort(key=lambda kv: -kv[1])
        if len(counts) > limit:  # keep every member tied with the last one shown, then order by name
            counts = [kv for kv in counts if kv[1] >= counts[limit - 1][1]]
        found = names(m for m, _n in counts)
        counts.sort(key=lambda kv: (-kv[1], found.get(kv[0], ""), kv[0]))
        return [(m, found.get(m, f"#{m}"), n) for m, n in counts[:limit]]
    join, where, jp = scope_filter(scope, "md")
    rows = _query(
        f"SELECT md.member_id, m.display_name, SUM(md.messages) AS n FROM qunyun_member_day md "
        f"JOIN qunyun_member m ON m.id = md.member_id{join} WHERE md.community_id = %s AND md.day BETWEEN %s AND %s"
        f"{where} GROUP BY md.member_id, m.display_name HAVING SUM(md.messages) > 0",
        _params(scope, jp, scope.cid, _d(first), _d(last)))
    rows.sort(key=lambda r: (-int(r[2]), r[1] or "", r[0]))
    return [(m, name, int(n)) for m, name, n in (rows if limit is None else rows[:limit])]


def names(member_ids: Iterable[int]) -> dict[int, str]:
    """Display names of members (``#id`` when a member has none)."""
    ids = list(set(member_ids))
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for pk, name in _query(
            f"SELECT id, display_name FROM qunyun_member WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk
        ):
            out[pk] = name or f"#{pk}"
    return out


@_memoized
def group_names(scope: Scope) -> dict[int, str]:
    rows = _query("SELECT id, name FROM qunyun_group WHERE community_id = %s", [scope.cid])
    return {g: name for g, name in rows if not scope.group_ids or g in scope.group_ids}


# ----------------------------------------------------------------- the event log


@_memoized
def message_rows(scope: Scope, first: date, last: date, *, between: tuple[datetime, datetime] | None = None) -> list[tuple]:
    """Messages between two days, per group in time order, for conversations, answers and the graph.

    ``(group, at, day, member, message_id, reply_to, reply_to_member, mentions, is_question)``;
    ``mentions`` is a list of member ids (possibly empty). ``between`` (UTC instants covering the
    days) lets a one-group read use the group's time index.
    """
    days = _Days()
    join, where, jp = scope_filter(scope, "e")
    at_range, at_params = "", []
    if between is not None:
        at_range = " AND e.at >= %s AND e.at < %s"
        at_params = [connection.ops.adapt_datetimefield_value(between[0]),
                     connection.ops.adapt_datetimefield_value(between[1])]
    rows = _query(
        "SELECT e.group_id, e.at, e.day, e.member_id, e.message_id, e.reply_to, e.reply_to_member_id, e.mentions, "
        "CASE WHEN e.text LIKE %s OR e.text LIKE %s OR rtrim(e.text) LIKE %s THEN 1 ELSE 0 END "
        f"FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id{join} "
        "WHERE e.community_id = %s AND e.type = 'message' AND e.kind <> 'system' AND e.day BETWEEN %s AND %s"
        f"{at_range} AND bm.is_bot = %s{where} ORDER BY e.group_id, e.at, e.id",
        ["%?%", "%？%", "%吗", *jp, scope.cid, _d(first), _d(last), *at_params, False, *scope.group_ids])
    out = []
    for g, at, day, m, mid, reply_to, reply_member, mentions, question in rows:
        if isinstance(mentions, str):
            mentions = json.loads(mentions)
        out.append((g, _as_datetime(at), days(day), m, mid, reply_to or "", reply_member, mentions or [],
                    bool(question)))
    return out


def join_rows(scope: Scope, first: date, last: date) -> list[tuple[int, date, int | None, int | None, int]]:
    """Non-bot join events between two days: ``(member, day, channel, inviter, group)`` in time order."""
    days = _Days()
    join, where, jp = scope_filter(scope, "e")
    rows = _query(
        "SELECT e.member_id, e.day, e.channel_id, e.actor_id, e.group_id FROM qunyun_event e "
        f"JOIN qunyun_member bm ON bm.id = e.member_id{join} WHERE e.community_id = %s AND e.type = 'join' "
        f"AND e.day BETWEEN %s AND %s AND bm.is_bot = %s{where} ORDER BY e.at, e.id",
        _params(scope, jp, scope.cid, _d(first), _d(last), False))
    return [(m, days(day), ch, actor, g) for m, day, ch, actor, g in rows]


def members_joined_before(scope: Scope, member_ids: list[int], before: date) -> set[int]:
    """Which of ``member_ids`` have a join (in the scope's groups) before ``before``."""
    found: set[int] = set()
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        rows = _query(
            f"SELECT DISTINCT member_id FROM qunyun_event WHERE community_id = %s AND type = 'join' AND day < %s "
            f"AND member_id IN ({', '.join(['%s'] * len(chunk))}){where}",
            [scope.cid, _d(before), *chunk, *scope.group_ids])
        found.update(r[0] for r in rows)
    return found


def activity_of(scope: Scope, member_ids: list[int], first: date, last: date) -> list[tuple[int, date, int]]:
    """``(member, day, messages)`` of the given members between two days (scope's groups)."""
    days = _Days()
    out = []
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        rows = _query(
            f"SELECT member_id, day, SUM(messages) FROM qunyun_member_day WHERE community_id = %s "
            f"AND day BETWEEN %s AND %s AND member_id IN ({', '.join(['%s'] * len(chunk))}){where} "
            "GROUP BY member_id, day",
            [scope.cid, _d(first), _d(last), *chunk, *scope.group_ids])
        out.extend((m, days(day), int(n)) for m, day, n in rows)
    return out


def payment_rows(scope: Scope, first: date, last: date) -> list[tuple[int, date, str]]:
    """``(member, day, amount)`` of payment events between two days."""
    days = _Days()
    where = f" AND e.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(
        "SELECT e.member_id, e.day, e.data FROM qunyun_event e WHERE e.community_id = %s AND e.type = 'payment' "
        f"AND e.day BETWEEN %s AND %s{where}",
        [scope.cid, _d(first), _d(last), *scope.group_ids])
    out = []
    for m, day, data in rows:
        if isinstance(data, str):
            data = json.loads(data)
        out.append((m, days(day), str((data or {}).get("amount", "0"))))
    return out


def _as_datetime(value: Any) -> datetime:
    from qunyun.core.timeutil import UTC

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@_memoized
def new_member_days(scope: Scope, first: date, last: date) -> dict[date, int]:
    """``{day: members whose first join or first activity in the scope is that day}`` between two days."""
    days = _Days()
    if not scope.group_ids:
        join, _where, jp = scope_filter(scope, "s")
        first_seen = ("CASE WHEN s.first_join_day IS NULL OR s.first_active_day < s.first_join_day "
                      "THEN s.first_active_day ELSE s.first_join_day END")
        rows = _query(
            f"SELECT d, COUNT(*) FROM (SELECT {first_seen} AS d FROM qunyun_member_stats s{join} "
            "WHERE s.community_id = %s) x WHERE d BETWEEN %s AND %s GROUP BY d",
            [*jp, scope.cid, _d(first), _d(last)])
        return {days(d): int(n) for d, n in rows}
    out: dict[date, int] = defaultdict(int)
    for fa, _fm, fj in first_days(scope, last).values():
        seen = min(x for x in (fa, fj) if x is not None)
        if first <= seen <= last:
            out[seen] += 1
    return dict(out)


@_memoized
def channels_of(scope: Scope) -> dict[int, int]:
    """``{member: acquisition channel id}`` (``Member.channel``) for members that have one."""
    return dict(_query("SELECT id, channel_id FROM qunyun_member WHERE community_id = %s AND channel_id IS NOT NULL",
                       [scope.cid]))


@_memoized
def channel_names(scope: Scope) -> dict[int, str]:
    """``{channel id: code}`` of the community's channels."""
    return {pk: code for pk, code in _query("SELECT id, code FROM qunyun_channel WHERE community_id = %s", [scope.cid])}


def last_message_days(scope: Scope, member_ids: list[int], last: date) -> dict[int, date]:
    """``{member: last day with a message, up to last}`` for the given members (scope's groups)."""
    days = _Days()
    out: dict[int, date] = {}
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        for m, day in _query(
            f"SELECT member_id, MAX(day) FROM qunyun_member_day WHERE community_id = %s AND messages > 0 "
            f"AND day <= %s AND member_id IN ({', '.join(['%s'] * len(chunk))}){where} GROUP BY member_id",
            [scope.cid, _d(last), *chunk, *scope.group_ids],
        ):
            out[m] = days(day)
    return out


@_memoized
def bot_ids(scope: Scope) -> set[int]:
    """Members of the community that are bots."""
    return {r[0] for r in _query("SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s",
                                 [scope.cid, True])}


def channel_members(scope: Scope) -> set[int]:
    """Members whose acquisition channel is the scope's channel."""
    return {r[0] for r in _query("SELECT id FROM qunyun_member WHERE community_id = %s AND channel_id = %s",
                                 [scope.cid, scope.channel_id])}


def inviter_rows(scope: Scope, first: date, last: date) -> list[tuple[int, date]]:
    """``(inviter, day)`` of every non-bot join between two days that names an inviter (scope's groups)."""
    days = _Days()
    where = f" AND e.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(
        "SELECT e.actor_id, e.day FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id "
        "WHERE e.community_id = %s AND e.type = 'join' AND e.actor_id IS NOT NULL AND e.actor_id <> e.member_id "
        f"AND e.day BETWEEN %s AND %s AND bm.is_bot = %s{where}",
        [scope.cid, _d(first), _d(last), False, *scope.group_ids])
    return [(actor, days(day)) for actor, day in rows]


def member_days_of(scope: Scope, member_id: int, first: date, last: date) -> list[tuple[date, int, int, int]]:
    """``(day, messages, reactions, replies)`` of one member between two days (scope's groups), by day."""
    days = _Days()
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(
        "SELECT day, SUM(messages), SUM(reactions), SUM(replies) FROM qunyun_member_day WHERE member_id = %s "
        f"AND day BETWEEN %s AND %s{where} GROUP BY day ORDER BY day",
        [member_id, _d(first), _d(last), *scope.group_ids])
    return [(days(day), int(m), int(r), int(p)) for day, m, r, p in rows]


def first_active_of(scope: Scope, member_id: int, last: date) -> date | None:
    """The member's first day with activity in the scope's groups, up to ``last``."""
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    rows = _query(f"SELECT MIN(day) FROM qunyun_member_day WHERE member_id = %s AND day <= %s{where}",
                  [member_id, _d(last), *scope.group_ids])
    return _Days()(rows[0][0])


# ----------------------------------------------------------------- cohorts and lifecycle in SQL

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
    from .periods import period_end

    end = period_end(start, period)
    if not scope.group_ids and (end <= scope.end or complete_to_end(scope)):
        table, pcol = ("qunyun_member_week", "week") if period == "week" else ("qunyun_member_month", "month")
        join, _where, jp = scope_filter(scope, "p")
        return (f"SELECT p.member_id FROM {table} p{join} WHERE p.community_id = %s AND p.{pcol} = %s",
                [*jp, scope.cid, _d(start)])
    join, where, jp = scope_filter(scope, "md")
    return (f"SELECT DISTINCT md.member_id FROM qunyun_member_day md{join} WHERE md.community_id = %s "
            f"AND md.day BETWEEN %s AND %s{where}",
            _params(scope, jp, scope.cid, _d(start), _d(min(end, scope.end))))


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
        new = _query(f"SELECT COUNT(*) FROM ({sql_a}) a WHERE NOT EXISTS (SELECT 1 FROM qunyun_member_day x "
                     f"WHERE x.member_id = a.member_id AND x.day < %s AND x.group_id IN ({groups}))",
                     pa + [_d(start), *scope.group_ids])[0][0]
    else:
        new = _query(f"SELECT COUNT(*) FROM ({sql_a}) a JOIN qunyun_member_stats s ON s.member_id = a.member_id "
                     "WHERE s.first_active_day >= %s", pa + [_d(start)])[0][0]
    return active, int(new), returning


def channels_for(scope: Scope, member_ids: list[int]) -> dict[int, int]:
    """``{member: acquisition channel id}`` of the given members that have one."""
    if len(member_ids) > 20_000:
        return channels_of(scope)
    out: dict[int, int] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        out.update(_query(f"SELECT id, channel_id FROM qunyun_member WHERE id IN ({', '.join(['%s'] * len(chunk))}) "
                          "AND channel_id IS NOT NULL", chunk))
    return out


@_memoized
def reply_edges(scope: Scope, first: date, last: date) -> list[tuple[int, int, int, int]]:
    """``(source, target, replies, mentions)`` summed over the days (and groups) of the scope.

    With a channel filter both ends must have come through the channel.
    """
    where = f" AND r.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    join, params = "", []
    if scope.channel_id is not None:
        join = (" JOIN qunyun_member fs ON fs.id = r.source_id AND fs.channel_id = %s"
                " JOIN qunyun_member ft ON ft.id = r.target_id AND ft.channel_id = %s")
        params = [scope.channel_id, scope.channel_id]
    rows = _query(
        f"SELECT r.source_id, r.target_id, SUM(r.replies), SUM(r.mentions) FROM qunyun_reply_edge_day r{join} "
        f"WHERE r.community_id = %s AND r.day BETWEEN %s AND %s{where} GROUP BY r.source_id, r.target_id",
        [*params, scope.cid, _d(first), _d(last), *scope.group_ids])
    return [(a, b, int(r), int(m)) for a, b, r, m in rows]


def messages_of(scope: Scope, member_ids: list[int], first: date, last: date) -> dict[int, int]:
    """Messages of the given members between two days (scope's groups)."""
    out: dict[int, int] = {}
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        out.update((m, int(n)) for m, n in _query(
            f"SELECT member_id, SUM(messages) FROM qunyun_member_day WHERE community_id = %s AND day BETWEEN %s AND %s "
            f"AND member_id IN ({', '.join(['%s'] * len(chunk))}){where} GROUP BY member_id",
            [scope.cid, _d(first), _d(last), *chunk, *scope.group_ids]))
    return out


def funnel_inputs(scope: Scope) -> tuple[dict, list, list, list]:
    """The funnel's inputs from the rollups (no group filter): joiners ``{member: (first join day, channel)}``,
    their activity ``(member, day, messages)`` from the join day on, payments ``(member, day, n)`` and
    invites ``(inviter, day, n)``, all up to the scope's end."""
    days = _Days()
    join, _where, jp = scope_filter(scope, "s")
    first, last = _d(scope.start), _d(scope.end)
    joiners = {m: (days(d), ch) for m, d, ch in _query(
        f"SELECT s.member_id, s.first_join_day, mm.channel_id FROM qunyun_member_stats s "
        f"JOIN qunyun_member mm ON mm.id = s.member_id{join} WHERE s.community_id = %s "
        "AND s.first_join_day BETWEEN %s AND %s", [*jp, scope.cid, first, last])}
    activity = [(m, days(d), int(n)) for m, d, n in _query(
        f"SELECT md.member_id, md.day, SUM(md.messages) FROM qunyun_member_stats s{join} "
        "JOIN qunyun_member_day md ON md.member_id = s.member_id AND md.day >= s.first_join_day AND md.day <= %s "
        "WHERE s.community_id = %s AND s.first_join_day BETWEEN %s AND %s GROUP BY md.member_id, md.day",
        [*jp, last, scope.cid, first, last])]
    deeds = _query(
        f"SELECT f.member_id, f.day, f.payments, f.invites FROM qunyun_member_stats s{join} "
        "JOIN qunyun_funnel_day f ON f.member_id = s.member_id AND f.day >= s.first_join_day AND f.day <= %s "
        "WHERE s.community_id = %s AND s.first_join_day BETWEEN %s AND %s",
        [*jp, last, scope.cid, first, last])
    payments = [(m, days(d), p) for m, d, p, _i in deeds if p]
    invites = [(m, days(d), i) for m, d, _p, i in deeds if i]
    return joiners, activity, payments, invites


@_memoized
def period_active_clipped(scope: Scope, period: str, start: date, first: date, last: date) -> int:
    """Distinct members active in the period starting ``start``, counting only ``first``–``last``.

    A whole period (or one cut only by the end of the data) is one lookup in the week/month rollup.
    """
    whole = first == start and (last == period_end(start, period) or complete_to_end(scope))
    if whole and not scope.group_ids:
        table, pcol = ("qunyun_member_week", "week") if period == "week" else ("qunyun_member_month", "month")
        join, _where, jp = scope_filter(scope, "p")
        return int(_query(f"SELECT COUNT(*) FROM {table} p{join} WHERE p.community_id = %s AND p.{pcol} = %s",
                          [*jp, scope.cid, _d(start)])[0][0])
    return distinct_members(scope, first, last)


@_memoized
def period_member_ids(scope: Scope, period: str, start: date) -> frozenset[int]:
    """The members active in the period starting ``start`` (only days up to the scope's end)."""
    if start > scope.end:
        return frozenset()
    sql_a, pa = _period_members(scope, period, start)
    return frozenset(r[0] for r in _query(sql_a, pa))


@_memoized
def first_active_between(scope: Scope, first: date, last: date) -> frozenset[int]:
    """Members whose first activity in the community falls between two days (no group filter)."""
    join, _where, jp = scope_filter(scope, "s")
    return frozenset(r[0] for r in _query(
        f"SELECT s.member_id FROM qunyun_member_stats s{join} WHERE s.community_id = %s "
        "AND s.first_active_day BETWEEN %s AND %s", [*jp, scope.cid, _d(first), _d(last)]))


def core_members(scope: Scope, first: date, last: date, t, *, silent_since: date | None = None) -> list[int]:
    """Members who were core in the window ``first``–``last`` (thresholds ``t``), the rule in SQL.

    With ``silent_since``, only those who posted nothing from that day on are wanted: when nothing
    after the scope's end exists, the members' last message day narrows them down first.
    """
    having = ("HAVING {days} >= %s AND (SUM(md.messages) >= %s OR SUM(md.replies) >= %s)")
    limits = [t.core_min_active_days, t.core_min_messages, t.core_min_replies]
    distinct_days = "COUNT(*)" if not scope.group_ids and _single_group(scope) else "COUNT(DISTINCT md.day)"
    if silent_since is not None and not scope.group_ids and complete_to_end(scope):
        sjoin, _w, sjp = scope_filter(scope, "s")
        candidates = [r[0] for r in _query(
            f"SELECT s.member_id FROM qunyun_member_stats s{sjoin} WHERE s.community_id = %s "
            "AND s.last_message_day BETWEEN %s AND %s", [*sjp, scope.cid, _d(first), _d(silent_since - timedelta(days=1))])]
        out: list[int] = []
        for start in range(0, len(candidates), 500):
            chunk = candidates[start:start + 500]
            out.extend(r[0] for r in _query(
                f"SELECT md.member_id FROM qunyun_member_day md WHERE md.member_id IN ({', '.join(['%s'] * len(chunk))}) "
                f"AND md.day BETWEEN %s AND %s GROUP BY md.member_id " + having.format(days="COUNT(DISTINCT md.day)"),
                [*chunk, _d(first), _d(last), *limits]))
        return sorted(out)
    join, where, jp = scope_filter(scope, "md")
    return [r[0] for r in _query(
        f"SELECT md.member_id FROM qunyun_member_day md{join} WHERE md.community_id = %s AND md.day BETWEEN %s AND %s"
        f"{where} GROUP BY md.member_id " + having.format(days=distinct_days) + " ORDER BY md.member_id",
        _params(scope, jp, scope.cid, _d(first), _d(last)) + limits)]


def posted_since(scope: Scope, member_ids: list[int], first: date) -> set[int]:
    """Which of the members posted from ``first`` to the scope's end (scope's groups)."""
    out: set[int] = set()
    if not scope.group_ids and complete_to_end(scope):
        for start in range(0, len(member_ids), 500):
            chunk = member_ids[start:start + 500]
            out.update(r[0] for r in _query(
                f"SELECT member_id FROM qunyun_member_stats WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) "
                "AND last_message_day >= %s", [*chunk, _d(first)]))
        return out
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start:start + 500]
        out.update(r[0] for r in _query(
            f"SELECT DISTINCT member_id FROM qunyun_member_day WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) "
            f"AND day BETWEEN %s AND %s AND messages > 0{where}", [*chunk, _d(first), _d(scope.end), *scope.group_ids]))
    return out

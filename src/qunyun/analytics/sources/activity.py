"""Who was active when, and how much: reads of the member-day, group/community-hour, week/month and community-day rollups."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone


from .. import sql
from ..periods import period_end, period_start
from ..scope import Scope
from .base import (
    _Days, _d, _id_sets, _memoized, _params, _query, _single_group, complete_to_end, log_days, md_days,
    scope_filter,
)
from .people import first_days, names


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
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    for day, messages, reactions in _query(
        f"SELECT md.day, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_day md{join} "
        f"WHERE {span} GROUP BY md.day", [*jp, *sp],
    ):
        row = out[days(day)]
        row[0], row[1] = int(messages), int(reactions)
    join, _where, jp = scope_filter(scope, "e")
    logged, lp = log_days(scope, first, last)
    for day, etype, count in _query(
        f"SELECT e.day, e.type, COUNT(*) FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id{join} "
        f"WHERE {logged} AND e.type IN ('join', 'leave') AND bm.is_bot = %s GROUP BY e.day, e.type",
        [*jp, *lp, False],
    ):
        out[days(day)][2 if etype == "join" else 3] += int(count)
    return dict(out)


@_memoized
def daily_active(scope: Scope, first: date, last: date) -> dict[date, tuple[int, int]]:
    """``{day: (active members, members who posted)}`` for days with activity."""
    days = _Days()
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    if not scope.group_ids and scope.channel_id is None:
        rows = _query(
            "SELECT day, active_members, authors FROM qunyun_community_day WHERE community_id = %s "
            "AND day BETWEEN %s AND %s", [scope.cid, _d(first), _d(last)])
    else:
        rows = _query(
            "SELECT day, COUNT(*), SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END) FROM ("
            f"SELECT md.day, md.member_id, SUM(md.messages) AS messages FROM qunyun_member_day md{join} "
            f"WHERE {span} GROUP BY md.day, md.member_id) x GROUP BY day", [*jp, *sp])
    return {days(day): (int(active), int(posting or 0)) for day, active, posting in rows}


@_memoized
def distinct_members(scope: Scope, first: date, last: date, *, posting: bool = False) -> int:
    """Members active (or, with ``posting``, who posted) between two days."""
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    condition = " AND md.messages > 0" if posting else ""
    rows = _query(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT md.member_id FROM qunyun_member_day md{join} "
        f"WHERE {span}{condition}) x", [*jp, *sp])
    return int(rows[0][0])


@_memoized
def member_window(scope: Scope, first: date, last: date) -> dict[int, list[int]]:
    """``{member: [active days, messages, replies, reactions]}`` between two days (all groups of the scope).

    Whole weeks inside the range are read from the member-week rows (one per member and week,
    with its active days), the days before and after them from the member-day rows: a quarter
    of the rows a 30-day range has in member-days. With a group filter, member-days only.
    """
    statement, params = _window_sql(scope, first, last)
    return {m: [int(d), int(n), int(r), int(x)] for m, d, n, r, x in _query(statement, params)}


@_memoized
def window_day_counts(scope: Scope, first: date, last: date) -> dict[int, int]:
    """``{active days: members}`` between two days: :func:`member_window` counted in the database
    (a week's distribution and its active members, without a row per member to read)."""
    if _days_only(scope, first, last):
        # Only the active days are wanted: the distinct (day, member) pairs, which the
        # (community, day, member, …) index gives in order, then counted per member.
        join, _where, jp = scope_filter(scope, "md")
        span, sp = md_days(scope, first, last)
        statement = (f"SELECT member_id AS m, COUNT(*) AS d FROM (SELECT DISTINCT md.day, md.member_id "
                     f"FROM qunyun_member_day md{join} WHERE {span}) x GROUP BY member_id")
        params = [*jp, *sp]
    else:
        statement, params = _window_sql(scope, first, last)
    return {int(d): int(n) for d, n in _query(f"SELECT d, COUNT(*) FROM ({statement}) w GROUP BY d", params)}


def _whole_weeks(first: date, last: date) -> tuple[date, date]:
    """The first Monday from ``first`` on, and the Monday of the last whole week ending by ``last``."""
    monday = first + timedelta(days=-first.weekday() % 7)
    last_monday = last - timedelta(days=(last.weekday() + 1) % 7 + 6)
    return monday, last_monday


def _days_only(scope: Scope, first: date, last: date) -> bool:
    """Whether :func:`member_window` reads member-days alone (a group filter, or no whole week inside)."""
    monday, last_monday = _whole_weeks(first, last)
    return bool(scope.group_ids) or monday > last_monday


def _window_sql(scope: Scope, first: date, last: date) -> tuple[str, list]:
    """The SQL of :func:`member_window`: ``(m, d, n, r, x)`` per member, and its parameters."""
    if _days_only(scope, first, last):
        return _day_window_sql(scope, first, last)
    monday, last_monday = _whole_weeks(first, last)
    parts, params = [], []
    for a, b in ((first, monday - timedelta(days=1)), (last_monday + timedelta(days=7), last)):
        if a <= b:
            statement, day_params = _day_window_sql(scope, a, b)
            parts.append(statement)
            params.extend(day_params)
    join, _where, jp = scope_filter(scope, "p")
    parts.append(f"SELECT p.member_id AS m, p.active_days AS d, p.messages AS n, p.replies AS r, p.reactions AS x "
                 f"FROM qunyun_member_week p{join} WHERE p.community_id = %s AND p.week BETWEEN %s AND %s")
    params.extend([*jp, scope.cid, _d(monday), _d(last_monday)])
    s = sql.int_sum
    return (f"SELECT m, {s('d')} AS d, {s('n')} AS n, {s('r')} AS r, {s('x')} AS x FROM ("
            + " UNION ALL ".join(parts) + ") u GROUP BY m"), params


def _day_window_sql(scope: Scope, first: date, last: date) -> tuple[str, list]:
    """SQL for :func:`member_window` from the member-day rows alone: ``(member, days, messages, replies, reactions)``."""
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    params = [*jp, *sp]
    if not sql.is_postgres():  # one sort by member; the distinct days are counted per member as it goes
        return (f"SELECT md.member_id AS m, COUNT(DISTINCT md.day) AS d, SUM(md.messages) AS n, SUM(md.replies) AS r, "
                "SUM(md.reactions) AS x "
                f"FROM qunyun_member_day md{join} WHERE {span} GROUP BY md.member_id"), params
    s, count = sql.int_sum, sql.int_count()
    if not scope.group_ids and _single_group(scope):
        return (f"SELECT md.member_id AS m, {count} AS d, {s('md.messages')} AS n, {s('md.replies')} AS r, "
                f"{s('md.reactions')} AS x "
                f"FROM qunyun_member_day md{join} WHERE {span} GROUP BY md.member_id"), params
    # One row per member and day first (several groups), then per member. Grouped by day, then
    # member: the order of the (community, day, member, …) index, so the rows of a member-day
    # are adjacent and the first step streams (no hash table of every member-day).
    return (f"SELECT member_id AS m, {count} AS d, {s('messages')} AS n, {s('replies')} AS r, {s('reactions')} AS x "
            f"FROM (SELECT md.member_id, md.day, {s('md.messages')} AS messages, {s('md.replies')} AS replies, "
            f"{s('md.reactions')} AS reactions FROM qunyun_member_day md{join} WHERE {span} "
            "GROUP BY md.day, md.member_id) x GROUP BY member_id"), params


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
        join, _where, jp = scope_filter(scope, "md")
        span, sp = md_days(scope, first_start, last)
        rows = _query(
            f"SELECT md.member_id, {bucket}, SUM(md.messages), SUM(md.reactions) FROM qunyun_member_day md{join} "
            f"WHERE {span} GROUP BY md.member_id, 2", [*jp, *sp])
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
def hour_cells(scope: Scope, first: date, last: date) -> tuple[dict[tuple[date, int], int], dict[tuple[date, int], int]]:
    """Messages and distinct active members per (local day, hour) between two days.

    Kept per group-hour and community-hour: the whole community and one group read them. A
    member active in two of several chosen groups counts once, and a channel is a set of
    members: those two filters count from the event log itself, by its community-day index.
    """
    days = _Days()
    messages: dict[tuple[date, int], int] = {}
    active: dict[tuple[date, int], int] = {}
    if scope.channel_id is not None or len(scope.group_ids) > 1:
        return _hour_cells_from_log(scope, first, last)
    if scope.group_ids:
        rows = _query("SELECT day, hour, messages, active_members FROM qunyun_group_hour WHERE group_id = %s "
                      "AND day BETWEEN %s AND %s", [scope.group_ids[0], _d(first), _d(last)])
    else:
        rows = _query("SELECT day, hour, messages, active_members FROM qunyun_community_hour WHERE community_id = %s "
                      "AND day BETWEEN %s AND %s", [scope.cid, _d(first), _d(last)])
    for day, hour, n, members in rows:
        if n:
            messages[(days(day), int(hour))] = int(n)
        active[(days(day), int(hour))] = int(members)
    return messages, active


def _hour_cells_from_log(scope: Scope, first: date, last: date):
    """:func:`hour_cells` counted from the events (a channel's members, or several groups)."""
    from ..periods import offset_spans
    from ..rollups import activity_events_select, activity_params

    days = _Days()
    where = ("e.community_id = %s AND e.day BETWEEN %s AND %s AND e.member_id NOT IN "
             "(SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s)")
    params: list = [scope.cid, _d(first), _d(last), scope.cid, True]
    if scope.channel_id is not None:
        where += " AND e.member_id IN (SELECT id FROM qunyun_member WHERE channel_id = %s)"
        params.append(scope.channel_id)
    if scope.group_ids:
        where += f" AND e.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})"
        params.extend(scope.group_ids)
    zone_day = datetime.combine(first, time(), tzinfo=timezone.utc), datetime.combine(last, time(), tzinfo=timezone.utc)
    spans = offset_spans(scope.tz, *zone_day)
    messages: dict[tuple[date, int], int] = {}
    active: dict[tuple[date, int], int] = {}
    for day, hour, n, members in _query(
        f"SELECT x.day, x.hour, SUM(x.messages), COUNT(DISTINCT x.member_id) FROM ({activity_events_select(where, spans)}) x "
        "GROUP BY x.day, x.hour", [*activity_params(), *params],
    ):
        if n:
            messages[(days(day), int(hour))] = int(n)
        active[(days(day), int(hour))] = int(members)
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
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    rows = _query(
        f"SELECT md.member_id, m.display_name, SUM(md.messages) AS n FROM qunyun_member_day md "
        f"JOIN qunyun_member m ON m.id = md.member_id{join} WHERE {span} "
        "GROUP BY md.member_id, m.display_name HAVING SUM(md.messages) > 0", [*jp, *sp])
    rows.sort(key=lambda r: (-int(r[2]), r[1] or "", r[0]))
    return [(m, name, int(n)) for m, name, n in (rows if limit is None else rows[:limit])]


@_memoized
def new_member_days(scope: Scope, first: date, last: date) -> dict[date, int]:
    """``{day: members whose first join or first activity in the scope is that day}`` between two days."""
    days = _Days()
    if not scope.group_ids:
        join, _where, jp = scope_filter(scope, "s")
        first_seen = ("CASE WHEN s.first_join_day IS NULL OR s.first_active_day < s.first_join_day "
                      "THEN s.first_active_day ELSE s.first_join_day END")
        # The first day seen is one of the two first days: only members with one of them in the
        # range can count (two index ranges, not every member of the community).
        rows = _query(
            f"SELECT d, COUNT(*) FROM (SELECT {first_seen} AS d FROM qunyun_member_stats s{join} "
            "WHERE s.community_id = %s AND (s.first_active_day BETWEEN %s AND %s "
            "OR s.first_join_day BETWEEN %s AND %s)) x WHERE d BETWEEN %s AND %s GROUP BY d",
            [*jp, scope.cid, *[_d(first), _d(last)] * 3])
        return {days(d): int(n) for d, n in rows}
    out: dict[date, int] = defaultdict(int)
    for fa, _fm, fj in first_days(scope, last).values():
        seen = min(x for x in (fa, fj) if x is not None)
        if first <= seen <= last:
            out[seen] += 1
    return dict(out)


def last_message_days(scope: Scope, member_ids: list[int], last: date) -> dict[int, date]:
    """``{member: last day with a message, up to last}`` for the given members (scope's groups)."""
    days = _Days()
    out: dict[int, date] = {}
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for among, ids in _id_sets("member_id", member_ids):
        for m, day in _query(
            # By member (the members are the community's): the (member, day) index, not a scan of all days.
            f"SELECT member_id, MAX(day) FROM qunyun_member_day WHERE messages > 0 "
            f"AND day <= %s AND {among}{where} GROUP BY member_id",
            [_d(last), *ids, *scope.group_ids],
        ):
            out[m] = days(day)
    return out


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


def messages_of(scope: Scope, member_ids: list[int], first: date, last: date) -> dict[int, int]:
    """Messages of the given members between two days (scope's groups)."""
    out: dict[int, int] = {}
    span, sp = md_days(scope, first, last, alias="qunyun_member_day")
    for among, ids in _id_sets("member_id", member_ids):
        out.update((m, int(n)) for m, n in _query(
            f"SELECT member_id, SUM(messages) FROM qunyun_member_day WHERE {span} AND {among} GROUP BY member_id",
            [*sp, *ids]))
    return out


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
    return _clipped_from_window(scope, first, last)


def _clipped_from_window(scope: Scope, first: date, last: date) -> int:
    """Distinct members active ``first``–``last`` when that is most of the scope's range, from one end of it.

    The range's member window is read anyway by the dashboard; the members active in the part left
    out (the few days on the other side) are read, and those of them with no active day outside it
    are taken off the window's count — instead of sorting almost the whole range's days again.
    """
    if not (scope.start <= first <= last <= scope.end) or (first != scope.start and last != scope.end):
        return distinct_members(scope, first, last)
    rest = (last + timedelta(days=1), scope.end) if first == scope.start else (scope.start, first - timedelta(days=1))
    if rest[0] > rest[1]:  # the whole range
        return len(member_window(scope, scope.start, scope.end))
    if (rest[1] - rest[0]).days + 1 > (last - first).days + 1:
        return distinct_members(scope, first, last)
    window = member_window(scope, scope.start, scope.end)
    outside = member_window(scope, *rest)
    only_outside = sum(1 for member, figures in outside.items() if window[member][0] == figures[0])
    return len(window) - only_outside


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
        # "in a group or not" named so the (community, in_group, last message day) index answers
        # the day range: without it SQLite read every member's row of the community.
        candidates = [r[0] for r in _query(
            f"SELECT s.member_id FROM qunyun_member_stats s{sjoin} WHERE s.community_id = %s AND s.in_group IN (%s, %s) "
            "AND s.last_message_day BETWEEN %s AND %s",
            [*sjp, scope.cid, False, True, _d(first), _d(silent_since - timedelta(days=1))])]
        out: list[int] = []
        for among, ids in _id_sets("md.member_id", candidates):
            out.extend(r[0] for r in _query(
                f"SELECT md.member_id FROM qunyun_member_day md WHERE {among} "
                f"AND md.day BETWEEN %s AND %s GROUP BY md.member_id " + having.format(days="COUNT(DISTINCT md.day)"),
                [*ids, _d(first), _d(last), *limits]))
        return sorted(out)
    join, _where, jp = scope_filter(scope, "md")
    span, sp = md_days(scope, first, last)
    return [r[0] for r in _query(
        f"SELECT md.member_id FROM qunyun_member_day md{join} WHERE {span} "
        "GROUP BY md.member_id " + having.format(days=distinct_days) + " ORDER BY md.member_id", [*jp, *sp, *limits])]


def posted_since(scope: Scope, member_ids: list[int], first: date) -> set[int]:
    """Which of the members posted from ``first`` to the scope's end (scope's groups)."""
    out: set[int] = set()
    if not scope.group_ids and complete_to_end(scope):
        for among, ids in _id_sets("member_id", member_ids):
            out.update(r[0] for r in _query(
                f"SELECT member_id FROM qunyun_member_stats WHERE {among} AND last_message_day >= %s",
                [*ids, _d(first)]))
        return out
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for among, ids in _id_sets("member_id", member_ids):
        out.update(r[0] for r in _query(
            f"SELECT DISTINCT member_id FROM qunyun_member_day WHERE {among} "
            f"AND day BETWEEN %s AND %s AND messages > 0{where}", [*ids, _d(first), _d(scope.end), *scope.group_ids]))
    return out

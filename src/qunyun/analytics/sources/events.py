"""Reads of the event log itself (and of the rollups of sparse events: payments, invitations, reply edges)."""

from __future__ import annotations

import json
from datetime import date, datetime

from django.db import connection

from .. import sql
from ..scope import Scope
from .base import _Days, _as_datetime, _d, _id_sets, _memoized, _query, log_days, md_days, scope_filter


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
    join, _where, jp = scope_filter(scope, "e")
    logged, lp = log_days(scope, first, last)
    rows = _query(
        "SELECT e.member_id, e.day, e.channel_id, e.actor_id, e.group_id FROM qunyun_event e "
        f"JOIN qunyun_member bm ON bm.id = e.member_id{join} WHERE {logged} AND e.type = 'join' "
        "AND bm.is_bot = %s ORDER BY e.at, e.id", [*jp, *lp, False])
    return [(m, days(day), ch, actor, g) for m, day, ch, actor, g in rows]


def members_joined_before(scope: Scope, member_ids: list[int], before: date) -> set[int]:
    """Which of ``member_ids`` have a join (in the scope's groups) before ``before``."""
    found: set[int] = set()
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    for among, ids in _id_sets("member_id", member_ids):
        rows = _query(
            f"SELECT DISTINCT member_id FROM qunyun_event WHERE community_id = %s AND type = 'join' AND day < %s "
            f"AND {among}{where}",
            [scope.cid, _d(before), *ids, *scope.group_ids])
        found.update(r[0] for r in rows)
    return found


def activity_of(scope: Scope, member_ids: list[int], first: date, last: date) -> list[tuple[int, date, int]]:
    """``(member, day, messages)`` of the given members between two days (scope's groups)."""
    days = _Days()
    out = []
    span, sp = md_days(scope, first, last, alias="qunyun_member_day")
    for among, ids in _id_sets("member_id", member_ids):
        rows = _query(
            f"SELECT member_id, day, SUM(messages) FROM qunyun_member_day WHERE {span} AND {among} "
            "GROUP BY member_id, day", [*sp, *ids])
        out.extend((m, days(day), int(n)) for m, day, n in rows)
    return out


def payment_rows(scope: Scope, first: date, last: date) -> list[tuple[int, date, str]]:
    """``(member, day, amount)`` of payment events between two days."""
    days = _Days()
    logged, lp = log_days(scope, first, last)
    rows = _query(f"SELECT e.member_id, e.day, e.data FROM qunyun_event e WHERE {logged} AND e.type = 'payment'", lp)
    out = []
    for m, day, data in rows:
        if isinstance(data, str):
            data = json.loads(data)
        out.append((m, days(day), str((data or {}).get("amount", "0"))))
    return out


def inviter_rows(scope: Scope, first: date, last: date) -> list[tuple[int, date]]:
    """``(inviter, day)`` of every non-bot join between two days that names an inviter (scope's groups)."""
    days = _Days()
    logged, lp = log_days(scope, first, last)
    rows = _query(
        "SELECT e.actor_id, e.day FROM qunyun_event e JOIN qunyun_member bm ON bm.id = e.member_id "
        f"WHERE {logged} AND e.type = 'join' AND e.actor_id IS NOT NULL AND e.actor_id <> e.member_id "
        "AND bm.is_bot = %s", [*lp, False])
    return [(actor, days(day)) for actor, day in rows]


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


def funnel_inputs(scope: Scope) -> tuple[dict, list, list, list]:
    """The funnel's inputs from the rollups (no group filter): joiners ``{member: (first join day, channel)}``,
    their activity ``(member, day, messages)`` from the join day on (only the days the rule needs),
    payments ``(member, day, n)`` and invites ``(inviter, day, n)``, all up to the scope's end."""
    days = _Days()
    join, _where, jp = scope_filter(scope, "s")
    first, last = _d(scope.start), _d(scope.end)
    # The channel looked up per joiner by primary key (a join let PostgreSQL hash every member of
    # the community for the few thousand who joined in the range).
    joiners = {m: (days(d), ch) for m, d, ch in _query(
        f"SELECT s.member_id, s.first_join_day, (SELECT mm.channel_id FROM qunyun_member mm WHERE mm.id = s.member_id) "
        f"FROM qunyun_member_stats s{join} WHERE s.community_id = %s AND s.first_join_day BETWEEN %s AND %s",
        [*jp, scope.cid, first, last])}
    # Per joiner, the two days the funnel's rule looks for (the first with a message from the join
    # day on, and the first 7–27 days after it) stand for all their days: the rule gives the same.
    from ..funnel import RETAINED_FROM, RETAINED_TO

    activity = []
    for m, posted, back in _query(
        f"SELECT md.member_id, MIN(CASE WHEN md.messages > 0 THEN md.day END), "
        f"MIN(CASE WHEN md.day BETWEEN {sql.plus_days('s.first_join_day', RETAINED_FROM)} "
        f"AND {sql.plus_days('s.first_join_day', RETAINED_TO)} THEN md.day END) FROM qunyun_member_stats s{join} "
        "JOIN qunyun_member_day md ON md.member_id = s.member_id AND md.day >= s.first_join_day AND md.day <= %s "
        "WHERE s.community_id = %s AND s.first_join_day BETWEEN %s AND %s GROUP BY md.member_id",
        [*jp, last, scope.cid, first, last]):
        if posted is not None:
            activity.append((m, days(posted), 1))
        if back is not None:
            activity.append((m, days(back), 0))
    deeds = _query(
        f"SELECT f.member_id, f.day, f.payments, f.invites FROM qunyun_member_stats s{join} "
        "JOIN qunyun_funnel_day f ON f.member_id = s.member_id AND f.day >= s.first_join_day AND f.day <= %s "
        "WHERE s.community_id = %s AND s.first_join_day BETWEEN %s AND %s",
        [*jp, last, scope.cid, first, last])
    payments = [(m, days(d), p) for m, d, p, _i in deeds if p]
    invites = [(m, days(d), i) for m, d, _p, i in deeds if i]
    return joiners, activity, payments, invites

"""Rollups: kept up to date as events arrive, and rebuilt from the event log on demand.

Two ways in, one meaning:

* :func:`rollups_apply` is called by the event store for each batch of newly stored events
  (one call site in :mod:`qunyun.bus.store`). It adds them to the analytics-owned rollups
  (member-hour, member-week, member-month, member stats, group-day mix); the store itself
  keeps member-day, group-day and group-hour.
* :func:`rollups_rebuild` deletes every rollup row of a community and recomputes all of them
  (the store's too) from ``qunyun_event`` with set-based ``INSERT … SELECT`` statements that run
  on SQLite and PostgreSQL. Rebuilding after an incremental load gives identical rows — a test
  holds us to that.

The rules both follow (see docs/metrics.md "Members, bots and messages"): bots are not members;
system lines are not messages; activity is a message or a reaction; days and hours are local.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction

from qunyun.core import events as ev

from . import sql
from .periods import offset_spans

log = logging.getLogger(__name__)

#: Characters trimmed before measuring a message's length ("water" = at most 3 left).
WATER_TRIM = " \t\r\n"
WATER_MAX_CHARS = 3
LINK_MARKERS = ("http://", "https://", "www.")

#: Every rollup table with a ``community_id`` column, in the order a rebuild fills them.
ROLLUP_TABLES = (
    "qunyun_member_hour", "qunyun_member_day", "qunyun_group_hour", "qunyun_group_day",
    "qunyun_group_day_mix", "qunyun_member_week", "qunyun_member_month", "qunyun_member_stats",
    "qunyun_funnel_day", "qunyun_reply_edge_day", "qunyun_talk_day", "qunyun_community_day", "qunyun_group_size",
)


def message_is_water(kind: str, text: str) -> bool:
    """A sticker, or a text message of at most three characters after trimming spaces."""
    if kind == ev.MessageKind.STICKER.value:
        return True
    return kind == ev.MessageKind.TEXT.value and len(text.strip(WATER_TRIM)) <= WATER_MAX_CHARS


def message_has_link(kind: str, text: str) -> bool:
    """A link message, or a text that carries a URL."""
    if kind == ev.MessageKind.LINK.value:
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in LINK_MARKERS)


# ----------------------------------------------------------------- incremental

_ROWS_PER_STATEMENT = 400  # × at most 9 columns stays under SQLite's 32,766 parameters


def _upsert(cursor, head: str, width: int, rows: list[tuple], tail: str) -> None:
    """``head VALUES (…), (…), … tail`` in chunks: one round trip per chunk, not per row.

    (``executemany`` is a statement per row on PostgreSQL; a live batch of a few events then
    costs a round trip for each rollup row it touches.)
    """
    one = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start:start + _ROWS_PER_STATEMENT]
        cursor.execute(f"{head} VALUES {', '.join([one] * len(chunk))} {tail}",
                       [value for row in chunk for value in row])



def rollups_apply(*, store: Any, fresh: list[tuple]) -> None:
    """Add newly stored events to the analytics-owned rollups (called inside the store's transaction).

    ``fresh`` holds the store's ``(event, group, member_id, channel, local_time, reply_member)``
    tuples for events that were not stored before.
    """
    accounts = store._accounts  # the store's account cache: which members are bots
    hours: dict[tuple[int, int, date, int], list[int]] = defaultdict(lambda: [0, 0])
    weeks: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    months: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    # member -> [first_active, last_active, first_message, last_message, first_join, messages]
    stats: dict[int, list[Any]] = {}
    mix: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    funnel: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])  # payments, invites
    edges: dict[tuple[int, date, int, int], list[int]] = defaultdict(lambda: [0, 0])  # replies, mentions
    talk_days: set[tuple[int, date]] = set()
    roster_groups: set[int] = set()  # groups whose memberships may have changed
    moved: set[int] = set()  # members who joined or left (their "in a group" may turn either way)
    period_starts: dict[date, tuple[date, date]] = {}
    for event, group, member_id, _channel, local, reply_member in fresh:
        etype = event.type
        day = local.date()
        if etype == "delete":
            mix[(group.id, day)][2] += 1
            continue
        if member_id is None:
            continue
        subject = event.subject
        account = accounts.get(subject.id) if subject is not None else None
        if account is not None and account.is_bot:
            continue
        if etype in ("message", "reaction", "join", "leave"):  # the store updated this membership
            roster_groups.add(group.id)
            stats.setdefault(member_id, [None, None, None, None, None, 0])
            if etype in ("join", "leave"):
                moved.add(member_id)
        if etype == "join":
            row = stats.setdefault(member_id, [None, None, None, None, None, 0])
            row[4] = day if row[4] is None or day < row[4] else row[4]
            inviter = accounts.get(event.inviter.id) if event.inviter is not None else None
            if inviter is not None and inviter.member_id != member_id:
                funnel[(inviter.member_id, day)][1] += 1
            continue
        if etype == "payment":
            funnel[(member_id, day)][0] += 1
            continue
        if etype == "message":
            if event.kind is ev.MessageKind.SYSTEM:
                continue
            talk_days.add((group.id, day))
            if reply_member is not None and reply_member != member_id:
                edges[(group.id, day, member_id, reply_member)][0] += 1
            for account_id in set(event.mentions):
                mentioned = accounts.get(account_id)
                if mentioned is not None and mentioned.member_id not in (member_id, reply_member):
                    edges[(group.id, day, member_id, mentioned.member_id)][1] += 1
            slot = 0
            kind, text = event.kind.value, event.text or ""
            water, link = message_is_water(kind, text), message_has_link(kind, text)
            if water or link:
                m = mix[(group.id, day)]
                m[0] += water
                m[1] += link
        elif etype == "reaction":
            slot = 1
        else:
            continue
        starts = period_starts.get(day)
        if starts is None:
            starts = period_starts[day] = (day - timedelta(days=day.weekday()), day.replace(day=1))
        hours[(group.id, member_id, day, local.hour)][slot] += 1
        weeks[(member_id, starts[0])][slot] += 1
        months[(member_id, starts[1])][slot] += 1
        row = stats.setdefault(member_id, [None, None, None, None, None, 0])
        row[0] = day if row[0] is None or day < row[0] else row[0]
        row[1] = day if row[1] is None or day > row[1] else row[1]
        if slot == 0:
            row[2] = day if row[2] is None or day < row[2] else row[2]
            row[3] = day if row[3] is None or day > row[3] else row[3]
            row[5] += 1
    if not (hours or stats or mix or funnel or edges or roster_groups):
        return
    cid = store.community.pk
    adapt = connection.ops.adapt_datefield_value
    adapted: dict[date, Any] = {}

    def d(day: date) -> Any:  # a batch has a few distinct days and thousands of rows
        value = adapted.get(day)
        if value is None:
            value = adapted[day] = adapt(day)
        return value

    with connection.cursor() as cursor:
        if hours:
            _upsert(
                cursor, "INSERT INTO qunyun_member_hour (community_id, group_id, member_id, day, hour, messages, "
                "reactions)", 7, [(cid, g, m, d(day), hour, *v) for (g, m, day, hour), v in hours.items()],
                "ON CONFLICT (group_id, member_id, day, hour) DO UPDATE SET "
                "messages = qunyun_member_hour.messages + excluded.messages, "
                "reactions = qunyun_member_hour.reactions + excluded.reactions",
            )
        for table, column, rows in (("qunyun_member_week", "week", weeks), ("qunyun_member_month", "month", months)):
            if rows:
                _upsert(
                    cursor, f"INSERT INTO {table} (community_id, member_id, {column}, messages, reactions)", 5,
                    [(cid, m, d(start), *v) for (m, start), v in rows.items()],
                    f"ON CONFLICT (member_id, {column}) DO UPDATE SET "
                    f"messages = {table}.messages + excluded.messages, "
                    f"reactions = {table}.reactions + excluded.reactions",
                )
        if stats:
            t = "qunyun_member_stats"

            def earliest(col: str) -> str:
                return f"{col} = COALESCE(CASE WHEN excluded.{col} < {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

            def latest(col: str) -> str:
                return f"{col} = COALESCE(CASE WHEN excluded.{col} > {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

            _upsert(
                cursor, f"INSERT INTO {t} (community_id, member_id, first_active_day, last_active_day, "
                "first_message_day, last_message_day, first_join_day, messages, in_group)", 9,
                [(cid, m, *(d(x) if x is not None else None for x in v[:5]), v[5], False) for m, v in stats.items()],
                f"ON CONFLICT (member_id) DO UPDATE SET {earliest('first_active_day')}, {latest('last_active_day')}, "
                f"{earliest('first_message_day')}, {latest('last_message_day')}, {earliest('first_join_day')}, "
                f"messages = {t}.messages + excluded.messages",
            )
        if stats:
            # Whether each member touched is in a group now (the store has just updated the memberships).
            # A message or reaction can only bring a member in (a member seen posting is in a group);
            # only joins and leaves can take one out: members already in are skipped.
            members = sorted(stats)
            for start in range(0, len(members), 500):
                chunk = members[start:start + 500]
                movers = [m for m in chunk if m in moved] or [0]
                cursor.execute(
                    "UPDATE qunyun_member_stats SET in_group = EXISTS (SELECT 1 FROM qunyun_membership ms "
                    "WHERE ms.member_id = qunyun_member_stats.member_id AND ms.is_member = %s) "
                    f"WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) AND (in_group = %s "
                    f"OR member_id IN ({', '.join(['%s'] * len(movers))}))", [True, *chunk, False, *movers])
        if roster_groups:
            groups = sorted(roster_groups)
            cursor.execute(
                "SELECT ms.group_id, SUM(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
                f"WHERE ms.group_id IN ({', '.join(['%s'] * len(groups))}) AND ms.member_id NOT IN "
                "(SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s) GROUP BY ms.group_id",
                [*groups, cid, True])
            sizes = cursor.fetchall()
            if sizes:
                _upsert(cursor, "INSERT INTO qunyun_group_size (community_id, group_id, members_now)", 3,
                        [(cid, g, int(n)) for g, n in sizes],
                        "ON CONFLICT (group_id) DO UPDATE SET members_now = excluded.members_now")
        if funnel:
            _upsert(
                cursor, "INSERT INTO qunyun_funnel_day (community_id, member_id, day, payments, invites)", 5,
                [(cid, m, d(day), *v) for (m, day), v in funnel.items()],
                "ON CONFLICT (member_id, day) DO UPDATE SET "
                "payments = qunyun_funnel_day.payments + excluded.payments, "
                "invites = qunyun_funnel_day.invites + excluded.invites",
            )
        if edges:
            targets = sorted({t for (_g, _d, _s, t) in edges})
            bots = set()
            for start in range(0, len(targets), 500):
                chunk = targets[start:start + 500]
                cursor.execute(f"SELECT id FROM qunyun_member WHERE is_bot = %s AND id IN ({', '.join(['%s'] * len(chunk))})",
                               [True, *chunk])
                bots.update(r[0] for r in cursor.fetchall())
            rows = [(cid, g, d(day), source, target, *v) for (g, day, source, target), v in edges.items()
                    if target not in bots]
            if rows:
                _upsert(
                    cursor, "INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, "
                    "replies, mentions)", 7, rows,
                    "ON CONFLICT (group_id, day, source_id, target_id) "
                    "DO UPDATE SET replies = qunyun_reply_edge_day.replies + excluded.replies, "
                    "mentions = qunyun_reply_edge_day.mentions + excluded.mentions",
                )
        if hours:
            # Distinct members across groups per day: a member-day is new to the community when all
            # its activity (over every group, after the store added this batch) is this batch's.
            batch: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
            for (_g, m, day, _h), (messages, reactions) in hours.items():
                batch[(m, day)][0] += messages
                batch[(m, day)][1] += reactions
            members = sorted({m for m, _day in batch})
            day_list = sorted({day for _m, day in batch})
            totals: dict[tuple[int, Any], tuple[int, int]] = {}
            for start in range(0, len(members), 500):
                chunk = members[start:start + 500]
                cursor.execute(
                    "SELECT member_id, day, SUM(messages), SUM(reactions) FROM qunyun_member_day "
                    f"WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) "
                    f"AND day IN ({', '.join(['%s'] * len(day_list))}) GROUP BY member_id, day",
                    [*chunk, *(d(day) for day in day_list)])
                for m, day, messages, reactions in cursor.fetchall():
                    totals[(m, str(day)[:10])] = (int(messages), int(reactions))
            per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            for (m, day), (messages, reactions) in batch.items():
                total = totals.get((m, day.isoformat()), (messages, reactions))
                if total[0] + total[1] == messages + reactions:
                    per_day[day][0] += 1  # active for the first time that day
                if messages and total[0] == messages:
                    per_day[day][1] += 1  # posted for the first time that day
            rows = [(cid, d(day), *v) for day, v in per_day.items() if v[0] or v[1]]
            if rows:
                _upsert(cursor, "INSERT INTO qunyun_community_day (community_id, day, active_members, authors)", 4,
                        rows, "ON CONFLICT (community_id, day) DO UPDATE SET "
                        "active_members = qunyun_community_day.active_members + excluded.active_members, "
                        "authors = qunyun_community_day.authors + excluded.authors")
        if talk_days:
            # One statement: the kept days of these groups around these days (a few extra
            # combinations may go too; they are only computed again).
            stale_groups = sorted({g for g, _day in talk_days})
            stale_days = sorted({d(day + timedelta(days=shift)) for _g, day in talk_days for shift in (-1, 0, 1)})
            cursor.execute(
                f"DELETE FROM qunyun_talk_day WHERE group_id IN ({', '.join(['%s'] * len(stale_groups))}) "
                f"AND day IN ({', '.join(['%s'] * len(stale_days))})", [*stale_groups, *stale_days])
        if mix:
            _upsert(
                cursor, "INSERT INTO qunyun_group_day_mix (community_id, group_id, day, water, links, deleted)", 6,
                [(cid, g, d(day), *v) for (g, day), v in mix.items()],
                "ON CONFLICT (group_id, day) DO UPDATE SET "
                "water = qunyun_group_day_mix.water + excluded.water, "
                "links = qunyun_group_day_mix.links + excluded.links, "
                "deleted = qunyun_group_day_mix.deleted + excluded.deleted",
            )


# ----------------------------------------------------------------- rebuild


def rollups_rebuild(community) -> dict[str, float]:
    """Recompute every rollup of ``community`` from its event log, in one transaction.

    Returns the seconds each step took (for benchmarks and ``qunyun analytics rebuild -v``).
    """
    cid = community.pk
    timings: dict[str, float] = {}
    # SQLite empties a table in one step only with foreign-key enforcement off (it is a pragma,
    # so it can only change outside a transaction); the rebuild writes rows derived from rows
    # that exist, so nothing is lost by not checking them.
    relaxed = connection.vendor == "sqlite" and not connection.in_atomic_block and \
        connection.disable_constraint_checking()
    try:
        return _rebuild(community, cid, timings)
    finally:
        if relaxed:
            connection.enable_constraint_checking()


def _rebuild(community, cid: int, timings: dict[str, float]) -> dict[str, float]:
    def step(name: str, statement: str, params: list[Any]) -> None:
        started = time.perf_counter()
        cursor.execute(statement, params)
        timings[name] = time.perf_counter() - started

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        if sql.is_postgres():  # no deferred foreign-key checks left pending: indexes can be dropped
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Big sorts and index builds in memory, for this transaction only.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Rows derived from rows that exist need no foreign-key checks (one per row and key
            # otherwise). Only a superuser may switch them off; without the right we keep them.
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                pass
        recreate: list[str] = []
        for table in ROLLUP_TABLES:
            recreate.extend(_clear(cursor, table, cid))
        timings["delete"] = time.perf_counter() - started
        cursor.execute("SELECT MIN(at), MAX(at) FROM qunyun_event WHERE community_id = %s", [cid])
        first, last = cursor.fetchone()
        if first is None:
            return timings
        first, last = _as_datetime(first), _as_datetime(last)
        hour = sql.local_hour("x.ep", offset_spans(community.time_zone, first, last))
        for table in ("qunyun_tmp_activity", "qunyun_tmp_sparse", "qunyun_tmp_bots"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        # Bots are few: a small table to leave them out, rather than a member lookup per event.
        cursor.execute("CREATE TEMP TABLE qunyun_tmp_bots AS SELECT id FROM qunyun_member "
                       "WHERE community_id = %s AND is_bot = %s", [cid, True])
        not_bot = "NOT IN (SELECT id FROM qunyun_tmp_bots)"
        # Pass 1 over the log: activity at the finest grain every rollup needs (member, group, day, hour).
        step("scan", (
            "CREATE TEMP TABLE qunyun_tmp_activity AS "
            f"SELECT x.group_id, x.member_id, x.day, {hour} AS hour, "
            "SUM(x.is_message) AS messages, SUM(1 - x.is_message) AS reactions, "
            "SUM(x.is_reply) AS replies, SUM(x.mentions) AS mentions, "
            "SUM(x.is_water) AS water, SUM(x.has_link) AS links "
            "FROM (SELECT e.group_id, e.member_id, e.day, "
            f"{sql.epoch_seconds('e.at')} AS ep, "
            "CASE WHEN e.type = 'message' THEN 1 ELSE 0 END AS is_message, "
            "CASE WHEN e.type = 'message' AND e.reply_to_member_id IS NOT NULL "
            "AND e.reply_to_member_id <> e.member_id THEN 1 ELSE 0 END AS is_reply, "
            "CASE WHEN e.type = 'message' THEN "
            f"{sql.json_length('e.mentions')} + {sql.json_length('e.data', 'mentions_unresolved')} "
            "ELSE 0 END AS mentions, "
            "CASE WHEN e.type = 'message' AND (e.kind = 'sticker' OR (e.kind = 'text' AND "
            f"{sql.char_length(sql.trim_chars('e.text'))} <= %s)) THEN 1 ELSE 0 END AS is_water, "
            "CASE WHEN e.type = 'message' AND (e.kind = 'link' OR "
            f"{sql.contains_ascii_ci('e.text')} OR {sql.contains_ascii_ci('e.text')} OR "
            f"{sql.contains_ascii_ci('e.text')}) THEN 1 ELSE 0 END AS has_link "
            f"FROM qunyun_event e WHERE e.community_id = %s AND e.member_id {not_bot} "
            "AND ((e.type = 'message' AND e.kind <> 'system') OR e.type = 'reaction')) x "
            "GROUP BY x.group_id, x.member_id, x.day, 4"
        ), [WATER_TRIM, WATER_MAX_CHARS, *(f"%{marker}%" for marker in LINK_MARKERS), cid])
        # Pass 2: the few events the other rollups need (joins, leaves, payments, deletions, replies, mentions).
        step("scan_sparse", (
            "CREATE TEMP TABLE qunyun_tmp_sparse AS SELECT e.id, e.type, e.group_id, e.member_id, e.actor_id, e.day, "
            "e.reply_to_member_id, e.mentions FROM qunyun_event e WHERE e.community_id = %s AND ("
            "e.type IN ('join', 'leave', 'payment', 'delete') OR (e.type = 'message' AND e.kind <> 'system' "
            "AND (e.reply_to_member_id IS NOT NULL OR e.mentions IS NOT NULL)))"
        ), [cid])
        step("member_hour", (
            "INSERT INTO qunyun_member_hour (community_id, group_id, member_id, day, hour, messages, reactions) "
            "SELECT %s, group_id, member_id, day, hour, messages, reactions FROM qunyun_tmp_activity"
        ), [cid])
        step("member_day", (
            "INSERT INTO qunyun_member_day (community_id, group_id, member_id, day, messages, reactions, "
            "replies, mentions) SELECT %s, group_id, member_id, day, SUM(messages), SUM(reactions), "
            "SUM(replies), SUM(mentions) FROM qunyun_tmp_activity GROUP BY group_id, member_id, day"
        ), [cid])
        step("group_hour", (
            "INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages) "
            "SELECT %s, group_id, day, hour, SUM(messages) FROM qunyun_tmp_activity "
            "GROUP BY group_id, day, hour HAVING SUM(messages) > 0"
        ), [cid])
        step("group_day", (
            "INSERT INTO qunyun_group_day (community_id, group_id, day, messages, reactions, active_members, "
            "joins, leaves) SELECT %s, group_id, day, SUM(messages), SUM(reactions), SUM(active), SUM(joins), "
            "SUM(leaves) FROM ("
            "SELECT group_id, day, messages, reactions, 1 AS active, 0 AS joins, 0 AS leaves "
            "FROM qunyun_member_day WHERE community_id = %s "
            "UNION ALL SELECT group_id, day, 0, 0, 0, CASE WHEN type = 'join' THEN 1 ELSE 0 END, "
            "CASE WHEN type = 'leave' THEN 1 ELSE 0 END FROM qunyun_tmp_sparse "
            f"WHERE type IN ('join', 'leave') AND member_id {not_bot}"
            ") u GROUP BY group_id, day"
        ), [cid, cid])
        step("group_day_mix", (
            "INSERT INTO qunyun_group_day_mix (community_id, group_id, day, water, links, deleted) "
            "SELECT %s, group_id, day, SUM(water), SUM(links), SUM(deleted) FROM ("
            "SELECT group_id, day, water, links, 0 AS deleted FROM qunyun_tmp_activity "
            "WHERE water > 0 OR links > 0 "
            "UNION ALL SELECT group_id, day, 0, 0, 1 FROM qunyun_tmp_sparse WHERE type = 'delete'"
            ") u GROUP BY group_id, day"
        ), [cid])
        for name, table, column, expression in (
            ("member_week", "qunyun_member_week", "week", sql.week_of("day")),
            ("member_month", "qunyun_member_month", "month", sql.month_of("day")),
        ):
            step(name, (
                f"INSERT INTO {table} (community_id, member_id, {column}, messages, reactions) "
                f"SELECT %s, member_id, {expression}, SUM(messages), SUM(reactions) FROM qunyun_member_day "
                f"WHERE community_id = %s GROUP BY member_id, {expression}"
            ), [cid, cid])
        step("member_stats", (
            "INSERT INTO qunyun_member_stats (community_id, member_id, first_active_day, last_active_day, "
            "first_message_day, last_message_day, first_join_day, messages, in_group) "
            "SELECT %s, member_id, MIN(first_active), MAX(last_active), MIN(first_message), MAX(last_message), "
            "MIN(first_join), SUM(messages), MAX(in_group) = 1 FROM ("
            "SELECT member_id, MIN(day) AS first_active, MAX(day) AS last_active, "
            "MIN(CASE WHEN messages > 0 THEN day END) AS first_message, "
            "MAX(CASE WHEN messages > 0 THEN day END) AS last_message, NULL AS first_join, "
            "SUM(messages) AS messages, 0 AS in_group FROM qunyun_member_day WHERE community_id = %s GROUP BY member_id "
            "UNION ALL SELECT member_id, NULL, NULL, NULL, NULL, MIN(day), 0, 0 FROM qunyun_tmp_sparse "
            f"WHERE type = 'join' AND member_id {not_bot} GROUP BY member_id "
            "UNION ALL SELECT ms.member_id, NULL, NULL, NULL, NULL, NULL, 0, "
            "MAX(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
            f"JOIN qunyun_group g ON g.id = ms.group_id WHERE g.community_id = %s AND ms.member_id {not_bot} "
            "GROUP BY ms.member_id"
            ") u GROUP BY member_id"
        ), [cid, cid, cid])
        step("group_size", (
            "INSERT INTO qunyun_group_size (community_id, group_id, members_now) "
            "SELECT %s, ms.group_id, SUM(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
            f"JOIN qunyun_group g ON g.id = ms.group_id WHERE g.community_id = %s AND ms.member_id {not_bot} "
            "GROUP BY ms.group_id"
        ), [cid, cid])
        step("community_day", (
            "INSERT INTO qunyun_community_day (community_id, day, active_members, authors) "
            "SELECT %s, day, COUNT(DISTINCT member_id), COUNT(DISTINCT CASE WHEN messages > 0 THEN member_id END) "
            "FROM qunyun_member_day WHERE community_id = %s GROUP BY day"
        ), [cid, cid])
        step("funnel_day", (
            "INSERT INTO qunyun_funnel_day (community_id, member_id, day, payments, invites) "
            "SELECT %s, member_id, day, SUM(payments), SUM(invites) FROM ("
            "SELECT member_id, day, 1 AS payments, 0 AS invites FROM qunyun_tmp_sparse "
            f"WHERE type = 'payment' AND member_id {not_bot} "
            "UNION ALL SELECT actor_id, day, 0, 1 FROM qunyun_tmp_sparse WHERE type = 'join' "
            f"AND actor_id IS NOT NULL AND actor_id <> member_id AND member_id {not_bot}"
            ") u GROUP BY member_id, day"
        ), [cid])
        mention_rows = (
            "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS BIGINT) AS target, "
            "e.reply_to_member_id FROM qunyun_tmp_sparse e, jsonb_array_elements_text(e.mentions) j "
            if sql.is_postgres() else
            "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS INTEGER) AS target, "
            "e.reply_to_member_id FROM qunyun_tmp_sparse e, json_each(e.mentions) j "
        )
        step("reply_edge_day", (
            "INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, replies, mentions) "
            "SELECT %s, u.group_id, u.day, u.source, u.target, SUM(u.replies), SUM(u.mentions) FROM ("
            "SELECT group_id, day, member_id AS source, reply_to_member_id AS target, 1 AS replies, "
            "0 AS mentions FROM qunyun_tmp_sparse WHERE type = 'message' "
            "AND reply_to_member_id IS NOT NULL AND reply_to_member_id <> member_id "
            "UNION ALL SELECT x.group_id, x.day, x.source, x.target, 0, 1 FROM ("
            + mention_rows +
            "WHERE e.type = 'message' AND e.mentions IS NOT NULL"
            ") x WHERE x.target <> x.source AND (x.reply_to_member_id IS NULL OR x.target <> x.reply_to_member_id)"
            f") u WHERE u.source {not_bot} AND u.target {not_bot} GROUP BY u.group_id, u.day, u.source, u.target"
        ), [cid])
        cursor.execute("DROP TABLE qunyun_tmp_sparse")
        cursor.execute("DROP TABLE qunyun_tmp_bots")
        cursor.execute("DROP TABLE qunyun_tmp_activity")
        started = time.perf_counter()
        for statement in recreate:
            cursor.execute(statement)
        timings["indexes"] = time.perf_counter() - started
        if sql.is_postgres():  # fresh statistics for the planner (VACUUM, for index-only scans, is autovacuum's)
            started = time.perf_counter()
            for table in ROLLUP_TABLES:
                cursor.execute(f"ANALYZE {table}")
            timings["analyze"] = time.perf_counter() - started
    log.info("rollups of %s rebuilt in %.1f s", community.slug, sum(timings.values()))
    return timings


def _clear(cursor, table: str, cid: int) -> list[str]:
    """Delete the community's rows of a rollup table; returns statements to run once it is refilled.

    When the community is the only one in the table (the usual installation), the table is
    emptied at once and its secondary indexes are dropped, to be built again after the refill:
    filling an unindexed table and then indexing it is many times faster than keeping several
    indexes up to date row by row. Otherwise the community's rows are deleted one by one.
    """
    cursor.execute(f"SELECT 1 FROM {table} WHERE community_id <> %s LIMIT 1", [cid])
    if cursor.fetchone() is not None:
        cursor.execute(f"DELETE FROM {table} WHERE community_id = %s", [cid])
        return []
    if sql.is_postgres():
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'u'", [table])
        constraints = cursor.fetchall()
        cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
                       "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.conrelid = %s::regclass)",
                       [table, table])
        indexes = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        return ([f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in constraints]
                + [definition for _name, definition in indexes])
    cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                   [table])
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("DELETE FROM " + table)  # no WHERE (and no foreign-key checks): emptied in one step
    return [definition for _name, definition in indexes]


def _as_datetime(value: Any) -> datetime:
    """A timestamp from a raw cursor (SQLite gives text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        from qunyun.core.timeutil import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment

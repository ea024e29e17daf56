"""Rollups kept up to date per stored batch (the incremental path; the rebuild is :mod:`.rebuild`).

The event store (:mod:`qunyun.bus.store`) describes a batch's new rows as :class:`NewEvents`;
:func:`batch_prepare` reads them once into small work tables, and every rollup is then increased
from those tables with one ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` each
(:func:`store_rollups_apply`, :func:`rollups_apply`). The SQL that reads the log is shared with
the rebuild (:mod:`.rollups`), so the two cannot count differently.

**Staged application** (:class:`~.staging.Staged`). On SQLite the whole database has one write lock, and
the live path's deferred rollups (:mod:`qunyun.bus.deferred`) held it for ~20–30 ms per
application while arriving events waited for their turn. Most of that time is reading:
the log's hour probes, the grouping, the lookups in the rollup tables. With ``new.staged`` set,
every statement computes its rows in one read transaction (one moment of the log and the
rollups) into a temporary table of this connection (the temporary database has its own lock),
and what must change the main database is kept, in order, as steps to run later: an upsert of
the staged rows (member stats that change no indexed day by a plain ``UPDATE``, :class:`Light`),
the group sizes counted in the read part, and the few statements that must see the rows written
before them (a group-day's active members counted from the member-days, a member's "in a group
now", the conversation days to forget). Each step can also be made plain data, the staged rows
in a JSON parameter, to be stored and written after a crash (:meth:`Staged.parts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from . import sql
from .periods import OffsetSpan, offset_spans
from .rollups import (
    ACTIVITY_COUNTS, ACTIVITY_KEY, SPARSE_COLUMNS, activity_events_select, activity_params, activity_select,
    reply_edges_select, sparse_select,
)
from .staging import Light, Staged, _json_rows, _later, _upsert  # noqa: F401  (Staged: imported from here by the bus)



@dataclass(slots=True)
class NewEvents:
    """The events one batch added to the log, as the incremental rollups need them.

    ``where`` is an SQL condition on ``e`` (qunyun_event) that selects exactly the new rows
    (with ``params``); the store knows the rest without a query: the batch's time range, the
    community's bot members, and which memberships the batch touched.
    """

    community_id: int
    time_zone: str
    where: str
    params: list[Any]
    first_at: datetime
    last_at: datetime
    bots: frozenset[int] = frozenset()
    sparse: bool = True  # any join, leave, payment, deletion, reply or mention among them
    touched: frozenset[int] = frozenset()  # non-bot members whose memberships the batch updated
    movers: frozenset[int] = frozenset()  # those of them who joined or left
    roster_groups: frozenset[int] = frozenset()  # groups of the touched memberships
    activity_rows: int = field(default=0)  # not 0 when the batch has activity (set by batch_prepare)
    #: The zone's UTC offsets around the batch (set by batch_prepare; the hour probes reuse them).
    spans: list[OffsetSpan] = field(default_factory=list)
    #: When set, the main database's changes are computed now and written later (see :class:`Staged`).
    staged: Staged | None = None

    def not_bot(self) -> str:
        """``NOT IN (…)`` of the community's bot members (ids are positive: ``-1`` stands for none)."""
        return "NOT IN (" + ", ".join(str(int(b)) for b in sorted(self.bots) or (-1,)) + ")"


_ACTIVITY = "qunyun_batch_activity"
_DAYS = "qunyun_batch_member_day"  # the activity summed per member and day over all groups
_SPARSE = "qunyun_batch_sparse"


def _temp_tables(cursor) -> None:
    """The per-batch work tables, created once per connection (they survive commits, not rollbacks), emptied.

    Whether they exist is one lookup in the temporary schema (three ``CREATE … IF NOT EXISTS``
    cost several times that on every batch, a live batch of one event included).
    """
    names = (_ACTIVITY, _SPARSE, _DAYS)
    if sql.is_postgres():
        cursor.execute("SELECT COUNT(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname IN "
                       "(%s, %s, %s)", list(names))
        if cursor.fetchone()[0] == len(names):
            return  # ON COMMIT DELETE ROWS: empty at the start of every transaction
    else:
        cursor.execute("SELECT COUNT(*) FROM sqlite_temp_master WHERE type = 'table' AND name IN (%s, %s, %s)",
                       list(names))
        if cursor.fetchone()[0] == len(names):
            for table in names:
                cursor.execute(f"DELETE FROM {table}")
            return
    if sql.is_postgres():
        # Emptied by every commit, so a batch never sees another batch's rows.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_ACTIVITY} (group_id bigint, member_id bigint, day date, "
                       "hour integer, messages integer, reactions integer, replies integer, mentions integer, "
                       "water integer, links integer) ON COMMIT DELETE ROWS")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SPARSE} (id bigint, type varchar(16), group_id bigint, "
                       "member_id bigint, actor_id bigint, day date, reply_to_member_id bigint, mentions jsonb) "
                       "ON COMMIT DELETE ROWS")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_DAYS} (member_id bigint, day date, messages integer, "
                       "reactions integer, replies integer, fresh integer) ON COMMIT DELETE ROWS")
    else:
        # No declared types: SQLite keeps the values exactly as the event table holds them. The
        # activity is keyed by time first: a batch arrives in time order, so each event's row is
        # found next to the previous one (cheaper than sorting the batch for a GROUP BY).
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_ACTIVITY} ({', '.join(ACTIVITY_KEY + ACTIVITY_COUNTS)}, "
                       "PRIMARY KEY (day, hour, group_id, member_id)) WITHOUT ROWID")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_SPARSE} ({SPARSE_COLUMNS})")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_DAYS} (member_id, day, messages, reactions, replies, fresh)")
    for table in names:
        cursor.execute(f"DELETE FROM {table}")


def batch_prepare(new: NewEvents) -> None:
    """Read the batch's new rows once into the work tables every rollup below starts from."""
    columns = ", ".join(ACTIVITY_KEY + ACTIVITY_COUNTS)
    with connection.cursor() as cursor:
        _temp_tables(cursor)
        # Two days either side: the hour probes (_first_in_hour) read the log around the batch's
        # local days; offsets over a wider range give the same hours for the batch's own rows.
        spans = new.spans = offset_spans(new.time_zone, new.first_at - timedelta(days=2),
                                         new.last_at + timedelta(days=2))
        where = f"{new.where} AND e.member_id {new.not_bot()}"
        if sql.is_postgres():
            statement = f"INSERT INTO {_ACTIVITY} ({columns}) {activity_select(where, spans)}"
        else:
            sums = ", ".join(f"{c} = {c} + excluded.{c}" for c in ACTIVITY_COUNTS)
            statement = (f"INSERT INTO {_ACTIVITY} ({columns}) SELECT * FROM ({activity_events_select(where, spans)}) "
                         f"WHERE TRUE ON CONFLICT (day, hour, group_id, member_id) DO UPDATE SET {sums}")
        cursor.execute(statement, [*activity_params(), *new.params])
        new.activity_rows = max(cursor.rowcount, 0)
        if new.activity_rows:
            cursor.execute(f"INSERT INTO {_DAYS} (member_id, day, messages, reactions, replies, fresh) SELECT member_id, "
                           f"day, SUM(messages), SUM(reactions), SUM(replies), 0 FROM {_ACTIVITY} GROUP BY member_id, day")
        if new.sparse:
            cursor.execute(f"INSERT INTO {_SPARSE} ({SPARSE_COLUMNS}) {sparse_select(new.where)}", new.params)


def store_rollups_apply(new: NewEvents) -> None:
    """The store's rollups: member-day, group-day (with its active members) and group-hour.

    Bots' events are left out: bots are not members. System messages are not counted as
    messages. ``active_members`` of a group-day is recounted from its member-days.
    """
    cid, not_bot = new.community_id, new.not_bot()
    with connection.cursor() as cursor:
        if new.activity_rows:
            _community_days(cursor, new)  # (analytics') needs the member-days as they were before the batch
            _upsert(
                cursor, new, "qunyun_member_day",
                "community_id, group_id, member_id, day, messages, reactions, replies, mentions",
                "SELECT %s, group_id, member_id, day, SUM(messages), SUM(reactions), SUM(replies), "
                f"SUM(mentions) FROM {_ACTIVITY} GROUP BY group_id, member_id, day",
                "(group_id, member_id, day) DO UPDATE SET "
                "messages = qunyun_member_day.messages + excluded.messages, "
                "reactions = qunyun_member_day.reactions + excluded.reactions, "
                "replies = qunyun_member_day.replies + excluded.replies, "
                "mentions = qunyun_member_day.mentions + excluded.mentions", [cid])
            first_in_hour, probe_params = _first_in_hour(new, by_group=True)
            _upsert(
                cursor, new, "qunyun_group_hour", "community_id, group_id, day, hour, messages, active_members",
                f"SELECT %s, a.group_id, a.day, a.hour, SUM(a.messages), SUM(CASE WHEN {first_in_hour} THEN 1 ELSE 0 END) "
                f"FROM {_ACTIVITY} a GROUP BY a.group_id, a.day, a.hour", "(group_id, day, hour) DO UPDATE SET "
                "messages = qunyun_group_hour.messages + excluded.messages, "
                "active_members = qunyun_group_hour.active_members + excluded.active_members", [cid, *probe_params])
        if not (new.activity_rows or new.sparse):
            return
        joins_leaves = (
            "UNION ALL SELECT group_id, day, 0, 0, CASE WHEN type = 'join' THEN 1 ELSE 0 END, "
            f"CASE WHEN type = 'leave' THEN 1 ELSE 0 END FROM {_SPARSE} "
            f"WHERE type IN ('join', 'leave') AND member_id {not_bot} " if new.sparse else "")
        _upsert(
            cursor, new, "qunyun_group_day", "community_id, group_id, day, messages, reactions, joins, leaves, active_members",
            "SELECT %s, group_id, day, SUM(messages), SUM(reactions), SUM(joins), SUM(leaves), 0 "
            f"FROM (SELECT group_id, day, messages, reactions, 0 AS joins, 0 AS leaves FROM {_ACTIVITY} "
            f"{joins_leaves}) u GROUP BY group_id, day",
            "(group_id, day) DO UPDATE SET "
            "messages = qunyun_group_day.messages + excluded.messages, "
            "reactions = qunyun_group_day.reactions + excluded.reactions, "
            "joins = qunyun_group_day.joins + excluded.joins, "
            "leaves = qunyun_group_day.leaves + excluded.leaves", [cid])
        if new.activity_rows:  # counted from the member-days written above
            days = f"SELECT DISTINCT group_id, day FROM {_ACTIVITY}"
            update = ("UPDATE qunyun_group_day SET active_members = (SELECT COUNT(*) FROM qunyun_member_day md "
                      "WHERE md.group_id = qunyun_group_day.group_id AND md.day = qunyun_group_day.day) "
                      "WHERE (group_id, day) IN (%s)")
            if new.staged is None:
                cursor.execute(update % days)
            else:  # stored, the work table's days go as values (it is gone when the step runs)
                new.staged.add("qunyun_group_day", (update % days, []), lambda c: (
                    update % _json_rows("group_id, day"), [Staged.rows(c, f"({days})", "group_id, day")]))


def _ids(values) -> tuple[str, list[Any]]:
    """A list of ids as one SQL parameter: ``(fragment, params)`` for ``x IN (fragment)``."""
    ids = sorted(values)
    if sql.is_postgres():
        return "SELECT unnest(%s::bigint[])", [ids]
    return "SELECT value FROM json_each(%s)", [json.dumps(ids)]


def rollups_apply(*, store: Any, fresh: NewEvents) -> None:
    """Add a batch of newly stored events to the analytics-owned rollups (inside the store's transaction).

    ``fresh`` describes the batch; :func:`batch_prepare` has filled the work tables and the
    store's own rollups (member-day first of all) are already up to date.
    """
    new = fresh
    cid, not_bot = new.community_id, new.not_bot()
    with connection.cursor() as cursor:
        if new.activity_rows:
            _activity_rollups(cursor, new)
        if new.activity_rows or new.touched or new.sparse:
            _member_stats(cursor, new)
        if new.activity_rows or new.sparse:
            _member_group_firsts(cursor, new)
        if new.roster_groups:
            # Staged, counted in the snapshot: a join stored meanwhile counted its group at once
            # (qunyun.bus.deferred.group_sizes_now) and has its own waiting rollups, which count it
            # again; an older count written over a newer one lasts until those are applied.
            sizes = _group_sizes(cursor, new)
            if new.staged is None:
                _group_sizes_write(cursor, sizes)
            else:
                _later(cursor, new, "qunyun_group_size", "INSERT INTO qunyun_group_size (community_id, group_id, "
                       f"members_now) {_json_rows('community_id, group_id, members_now')} WHERE TRUE "
                       "ON CONFLICT (group_id) DO UPDATE SET members_now = excluded.members_now", [json.dumps(sizes)])
        if new.sparse:
            _upsert(
                cursor, new, "qunyun_funnel_day", "community_id, member_id, day, payments, invites",
                "SELECT %s, member_id, day, SUM(payments), SUM(invites) FROM ("
                f"SELECT member_id, day, 1 AS payments, 0 AS invites FROM {_SPARSE} "
                f"WHERE type = 'payment' AND member_id {not_bot} "
                f"UNION ALL SELECT actor_id, day, 0, 1 FROM {_SPARSE} WHERE type = 'join' "
                f"AND actor_id IS NOT NULL AND actor_id <> member_id AND member_id {not_bot}"
                ") u GROUP BY member_id, day", "(member_id, day) DO UPDATE SET "
                "payments = qunyun_funnel_day.payments + excluded.payments, "
                "invites = qunyun_funnel_day.invites + excluded.invites", [cid])
            _upsert(
                cursor, new, "qunyun_reply_edge_day", "community_id, group_id, day, source_id, target_id, replies, mentions",
                f"SELECT %s, r.* FROM ({reply_edges_select(_SPARSE, not_bot)}) r WHERE TRUE",
                "(group_id, day, source_id, target_id) DO UPDATE SET "
                "replies = qunyun_reply_edge_day.replies + excluded.replies, "
                "mentions = qunyun_reply_edge_day.mentions + excluded.mentions", [cid])
        if new.activity_rows or new.sparse:
            deleted = (f"UNION ALL SELECT group_id, day, 0, 0, 1 FROM {_SPARSE} WHERE type = 'delete'"
                       if new.sparse else "")
            _upsert(
                cursor, new, "qunyun_group_day_mix", "community_id, group_id, day, water, links, deleted",
                "SELECT %s, group_id, day, SUM(water), SUM(links), SUM(deleted) FROM ("
                f"SELECT group_id, day, water, links, 0 AS deleted FROM {_ACTIVITY} WHERE water > 0 OR links > 0 "
                f"{deleted}) u GROUP BY group_id, day", "(group_id, day) DO UPDATE SET "
                "water = qunyun_group_day_mix.water + excluded.water, "
                "links = qunyun_group_day_mix.links + excluded.links, "
                "deleted = qunyun_group_day_mix.deleted + excluded.deleted", [cid])
        if new.activity_rows:  # (community-days were counted with the member-days, see store_rollups_apply)
            _talk_days_forget(cursor, new)


def _first_in_hour(new: NewEvents, *, by_group: bool) -> tuple[str, list[Any]]:
    """An SQL test on a row ``a`` of the batch's activity: the member had no other activity in that
    local hour (in that group, with ``by_group``) than this batch's, so the batch makes them one more
    active member of it. With its parameters.

    Read from the log: the member's events around that day (the member-time index), less the
    batch's own rows. Nothing else keeps who was active in which hour (one row per member and
    hour would be about one row per event; see docs/metrics.md "Hour × weekday heatmap").
    It takes every logged event outside this application as counted already: no stored event may
    be waiting for its rollups meanwhile (see :func:`qunyun.bus.deferred.deferred_rollups_apply`).
    """
    spans = new.spans
    # A local day lies within the UTC days before and after it, whatever the zone's offset.
    window = ("e.at >= a.day - 1 AND e.at < a.day + 2" if sql.is_postgres()
              else "e.at >= date(a.day, '-1 day') AND e.at < date(a.day, '+2 days')")
    return (
        f"NOT EXISTS (SELECT 1 FROM qunyun_event e WHERE e.member_id = a.member_id AND {window} "
        + ("AND e.group_id = a.group_id " if by_group else "")
        + f"AND e.day = a.day AND {sql.local_hour_of('e.at', spans)} = a.hour "
        f"AND ((e.type = 'message' AND e.kind <> 'system') OR e.type = 'reaction') AND NOT ({new.where}))"
    ), list(new.params)


def _activity_rollups(cursor, new: NewEvents) -> None:
    """Community-hour (distinct members active), member-week and member-month: sums of the batch's activity."""
    cid = new.community_id
    first_in_hour, probe_params = _first_in_hour(new, by_group=False)
    _upsert(
        cursor, new, "qunyun_community_hour", "community_id, day, hour, messages, active_members",
        f"SELECT %s, a.day, a.hour, SUM(a.messages), SUM(CASE WHEN {first_in_hour} THEN 1 ELSE 0 END) "
        f"FROM (SELECT member_id, day, hour, SUM(messages) AS messages FROM {_ACTIVITY} "
        "GROUP BY member_id, day, hour) a GROUP BY a.day, a.hour",
        "(community_id, day, hour) DO UPDATE SET "
        "messages = qunyun_community_hour.messages + excluded.messages, "
        "active_members = qunyun_community_hour.active_members + excluded.active_members", [cid, *probe_params])
    # A week also counts its active days (a day new to the member, see _community_days) and replies.
    for table, column, expression, extra in (("qunyun_member_week", "week", sql.week_of("day"), ("replies", "fresh")),
                                             ("qunyun_member_month", "month", sql.month_of("day"), ())):
        names = ("messages", "reactions", "replies", "active_days")[:2 + len(extra)]
        sums = ("messages", "reactions", *extra)
        _upsert(
            cursor, new, table, f"community_id, member_id, {column}, {', '.join(names)}",
            f"SELECT %s, member_id, {expression}, {', '.join(f'SUM({c})' for c in sums)} FROM {_DAYS} "
            f"GROUP BY member_id, {expression}", f"(member_id, {column}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in names), [cid])


def _earliest(table: str, col: str) -> str:
    """An upsert's assignment keeping the earlier of the kept and the new day (a NULL never wins)."""
    return (f"{col} = COALESCE(CASE WHEN excluded.{col} < {table}.{col} THEN excluded.{col} "
            f"ELSE {table}.{col} END, excluded.{col})")


def _unmoved(col: str, earliest: bool) -> str:
    """SQL: the staged ``s.col`` leaves the kept ``k.col`` as the upsert's earliest/latest rule would."""
    return f"(s.{col} IS NULL OR (k.{col} IS NOT NULL AND k.{col} {'<=' if earliest else '>='} s.{col}))"


def _moved(col: str, earliest: bool) -> str:
    """SQL: ``k.col`` after the staged ``s.col``, by the earliest/latest rule."""
    return (f"{col} = CASE WHEN k.{col} IS NULL OR (s.{col} IS NOT NULL AND s.{col} {'<' if earliest else '>'} "
            f"k.{col}) THEN s.{col} ELSE k.{col} END")


#: Member stats whose indexed days stay (a member already seen that day, most of a live
#: application's rows: the member-stats upsert was the largest part of its write, ~4.5 ms).
_MEMBER_STATS_LIGHT = Light(
    key="member_id",
    same=" AND ".join((_unmoved("first_active_day", True), _unmoved("first_join_day", True),
                       _unmoved("last_message_day", False))),
    sets=", ".join((_moved("last_active_day", False), _moved("first_message_day", True),
                    "messages = k.messages + s.messages")),
)


def _member_stats(cursor, new: NewEvents) -> None:
    """First and last days, message counts and "in a group now" of the members the batch touched."""
    t = "qunyun_member_stats"

    def earliest(col: str) -> str:
        return _earliest(t, col)

    def latest(col: str) -> str:
        return f"{col} = COALESCE(CASE WHEN excluded.{col} > {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

    parts = [
        "SELECT member_id, MIN(day) AS first_active, MAX(day) AS last_active, "
        "MIN(CASE WHEN messages > 0 THEN day END) AS first_message, "
        "MAX(CASE WHEN messages > 0 THEN day END) AS last_message, CAST(NULL AS DATE) AS first_join, "
        f"SUM(messages) AS messages FROM {_DAYS} GROUP BY member_id"]
    params: list[Any] = [new.community_id]
    if new.sparse:
        parts.append(f"SELECT member_id, NULL, NULL, NULL, NULL, MIN(day), 0 FROM {_SPARSE} "
                     f"WHERE type = 'join' AND member_id {new.not_bot()} GROUP BY member_id")
    if new.touched:  # a membership without activity (a join, a leave, a system line) still gets its row
        fragment, ids = _ids(new.touched)
        parts.append(f"SELECT t.m, NULL, NULL, NULL, NULL, NULL, 0 FROM ({fragment}) t (m)"
                     if sql.is_postgres() else "SELECT value, NULL, NULL, NULL, NULL, NULL, 0 FROM json_each(%s)")
        params.extend(ids)
    _upsert(
        cursor, new, t, "community_id, member_id, first_active_day, last_active_day, first_message_day, "
        "last_message_day, first_join_day, messages, in_group",
        "SELECT %s, member_id, MIN(first_active), MAX(last_active), MIN(first_message), MAX(last_message), "
        "MIN(first_join), SUM(messages), FALSE FROM (" + " UNION ALL ".join(parts) + ") u GROUP BY member_id",
        f"(member_id) DO UPDATE SET {earliest('first_active_day')}, {latest('last_active_day')}, "
        f"{earliest('first_message_day')}, {latest('last_message_day')}, {earliest('first_join_day')}, "
        f"messages = {t}.messages + excluded.messages", params, light=_MEMBER_STATS_LIGHT)
    if new.touched:
        # Whether each member touched is in a group now (the store has just updated the memberships).
        # A message or reaction can only bring a member in; only joins and leaves can take one out:
        # members already in are skipped unless they moved.
        touched, touched_ids = _ids(new.touched)
        movers, mover_ids = _ids(new.movers)
        _later(cursor, new, t,
               f"UPDATE {t} SET in_group = EXISTS (SELECT 1 FROM qunyun_membership ms "
               f"WHERE ms.member_id = {t}.member_id AND ms.is_member = %s) "
               f"WHERE member_id IN ({touched}) AND (in_group = %s OR member_id IN ({movers}))",
               [True, *touched_ids, False, *mover_ids])


def _member_group_firsts(cursor, new: NewEvents) -> None:
    """A member's first days per group: only the batch's rows that move one earlier (or are new) are
    written. In time order, as the live path stores, that is a member's first day in a group, so
    most batches write nothing here. Decided when the rows are read, staged or not: only an
    application changes these rows, and their days only move earlier (see :class:`.staging.Light`)."""
    t = "qunyun_member_group_firsts"
    firsts = ("first_active_day", "first_message_day", "first_join_day")
    parts = []
    if new.activity_rows:
        parts.append("SELECT group_id, member_id, MIN(day) AS first_active_day, "
                     "MIN(CASE WHEN messages > 0 THEN day END) AS first_message_day, "
                     f"CAST(NULL AS DATE) AS first_join_day FROM {_ACTIVITY} GROUP BY group_id, member_id")
    if new.sparse:
        parts.append("SELECT group_id, member_id, CAST(NULL AS DATE) AS first_active_day, "
                     f"CAST(NULL AS DATE) AS first_message_day, MIN(day) AS first_join_day FROM {_SPARSE} "
                     f"WHERE type = 'join' AND member_id {new.not_bot()} GROUP BY group_id, member_id")
    unmoved = " AND ".join(_unmoved(col, True) for col in firsts)
    _upsert(
        cursor, new, t, f"community_id, group_id, member_id, {', '.join(firsts)}",
        "SELECT %s, s.group_id, s.member_id, s.first_active_day, s.first_message_day, s.first_join_day FROM ("
        "SELECT group_id, member_id, MIN(first_active_day) AS first_active_day, "
        "MIN(first_message_day) AS first_message_day, MIN(first_join_day) AS first_join_day FROM ("
        + " UNION ALL ".join(parts) + ") u GROUP BY group_id, member_id) s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {t} k WHERE k.group_id = s.group_id AND k.member_id = s.member_id "
        f"AND {unmoved})",
        "(group_id, member_id) DO UPDATE SET " + ", ".join(_earliest(t, col) for col in firsts),
        [new.community_id])


def group_sizes_count(cursor, new: NewEvents) -> None:
    """Current (non-bot) members of the groups whose memberships changed, counted again (absolute:
    counting twice changes nothing, so the live path may run it at once and again later)."""
    _group_sizes_write(cursor, _group_sizes(cursor, new))


def _group_sizes(cursor, new: NewEvents) -> list[tuple[int, int, int]]:
    """``(community, group, members now)`` of the groups whose memberships the batch changed."""
    groups, ids = _ids(new.roster_groups)
    # Counted in the (group, is_member) index alone; the few bots' memberships are taken off after
    # (testing every member for "not a bot" read each membership row: ~0.5 ms a batch).
    cursor.execute(f"SELECT group_id, COUNT(*) FROM qunyun_membership WHERE group_id IN ({groups}) "
                   "AND is_member = %s GROUP BY group_id", [*ids, True])
    sizes = dict(cursor.fetchall())
    if new.bots:
        bots, bot_ids = _ids(new.bots)
        cursor.execute(f"SELECT group_id, COUNT(*) FROM qunyun_membership WHERE group_id IN ({groups}) "
                       f"AND member_id IN ({bots}) AND is_member = %s GROUP BY group_id", [*ids, *bot_ids, True])
        for group, n in cursor.fetchall():
            sizes[group] -= n
    return [(new.community_id, g, int(sizes.get(g, 0))) for g in sorted(new.roster_groups)]


def _group_sizes_write(cursor, rows: list[tuple[int, int, int]]) -> None:
    cursor.executemany(
        "INSERT INTO qunyun_group_size (community_id, group_id, members_now) VALUES (%s, %s, %s) "
        "ON CONFLICT (group_id) DO UPDATE SET members_now = excluded.members_now", rows)


def _community_days(cursor, new: NewEvents) -> None:
    """Distinct active members and authors per community-day, by increment.

    Runs before the batch is added to the member-days: a member-day is new to the community
    when the member had no member-day row that day in any group yet (an author: none with a
    message). Two index probes per member and day of the batch. Whether the day is new to the
    member is kept in the work table (``fresh``): the member-week counts its active days from it.
    """
    cursor.execute(
        f"UPDATE {_DAYS} SET fresh = CASE WHEN EXISTS (SELECT 1 FROM qunyun_member_day md "
        f"WHERE md.member_id = {_DAYS}.member_id AND md.day = {_DAYS}.day) THEN 0 ELSE 1 END")
    _upsert(
        cursor, new, "qunyun_community_day", "community_id, day, active_members, authors",
        "SELECT %s, day, SUM(active), SUM(author) FROM ("
        "SELECT b.day, b.fresh AS active, "
        "CASE WHEN b.messages > 0 AND NOT EXISTS (SELECT 1 FROM qunyun_member_day md "
        "WHERE md.member_id = b.member_id AND md.day = b.day AND md.messages > 0) THEN 1 ELSE 0 END AS author "
        f"FROM {_DAYS} b) n "
        "GROUP BY day HAVING SUM(active) > 0 OR SUM(author) > 0", "(community_id, day) DO UPDATE SET "
        "active_members = qunyun_community_day.active_members + excluded.active_members, "
        "authors = qunyun_community_day.authors + excluded.authors", [new.community_id])


def _talk_days_forget(cursor, new: NewEvents) -> None:
    """Drop the kept conversation figures of the days a batch posted to (and the days around them).

    They are computed again on the next read (a conversation may run past midnight, so the
    neighbouring days go too; a few extra combinations only cost a recomputation).
    """
    cursor.execute(f"SELECT DISTINCT group_id, day FROM {_ACTIVITY} WHERE messages > 0")
    talk_days = [(g, _as_date(day)) for g, day in cursor.fetchall()]
    if not talk_days:
        return
    adapt = connection.ops.adapt_datefield_value
    stale_groups = sorted({g for g, _day in talk_days})
    stale_days = sorted({adapt(day + timedelta(days=shift)) for _g, day in talk_days for shift in (-1, 0, 1)})
    _later(cursor, new, "qunyun_talk_day",
           f"DELETE FROM qunyun_talk_day WHERE group_id IN ({', '.join(['%s'] * len(stale_groups))}) "
           f"AND day IN ({', '.join(['%s'] * len(stale_days))})", [*stale_groups, *stale_days])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])

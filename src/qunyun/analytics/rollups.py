"""Rollups: kept up to date as events arrive, and rebuilt from the event log on demand.

Two ways in, one meaning:

* Per stored batch, the event store (:mod:`qunyun.bus.store`) describes its new rows as
  :class:`NewEvents`; :func:`batch_prepare` reads them once into small work tables (activity
  per member, group, local day and hour, and per member and day; the few joins, leaves,
  payments, deletions, replies and mentions), and every rollup is then increased from those tables with one
  ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` each: :func:`store_rollups_apply` for
  the store's member-day, group-day and group-hour, :func:`rollups_apply` for the analytics
  ones (community-hour, member-week/month, member stats, group-day mix, funnel, reply edges,
  community-day, group size, conversation days). No Python runs per event.
* :func:`rollups_rebuild` deletes every rollup row of a community and recomputes all of them
  from ``qunyun_event`` with set-based ``INSERT … SELECT`` statements.

Both read the log through the same SQL, defined here (:func:`activity_events_select`,
:func:`sparse_select`, :func:`reply_edges_select`, on the helpers of :mod:`.sql`), so they
cannot count differently. Rebuilding after an incremental load gives identical rows — tests hold us
to that, one of them on random histories batched in random order
(``tests/analytics/test_rollups_incremental.py``). Everything runs on SQLite and PostgreSQL.

The rules both follow (see docs/metrics.md "Members, bots and messages"): bots are not members;
system lines are not messages; activity is a message or a reaction; days and hours are local.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from qunyun.core import events as ev

from . import sql
from .periods import OffsetSpan, offset_spans

#: Characters trimmed before measuring a message's length ("water" = at most 3 left).
WATER_TRIM = " \t\r\n"
WATER_MAX_CHARS = 3
LINK_MARKERS = ("http://", "https://", "www.")

#: Every rollup table with a ``community_id`` column, in the order a rebuild fills them.
ROLLUP_TABLES = (
    "qunyun_member_day", "qunyun_group_hour", "qunyun_community_hour", "qunyun_group_day",
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


# ----------------------------------------------------------------- shared SQL (incremental and rebuild)


#: The per-event columns of :func:`activity_events_select`, and the sums they become.
ACTIVITY_KEY = ("group_id", "member_id", "day", "hour")
ACTIVITY_COUNTS = ("messages", "reactions", "replies", "mentions", "water", "links")


def activity_events_select(where: str, spans: list[OffsetSpan]) -> str:
    """Each message (not a system line) and reaction of the events ``e`` matching ``where``, as counts.

    Columns: :data:`ACTIVITY_KEY` (the local day and hour), then :data:`ACTIVITY_COUNTS` for
    this one event (1 or 0; mentions counted). Parameters: :func:`activity_params`, then those
    of ``where``. ``where`` must leave bots out and may name only ``e`` (qunyun_event);
    ``spans`` are the zone's UTC offsets over the events' time range.
    """
    return (
        f"SELECT e.group_id, e.member_id, e.day, {sql.local_hour_of('e.at', spans)} AS hour, "
        "CASE WHEN e.type = 'message' THEN 1 ELSE 0 END AS messages, "
        "CASE WHEN e.type = 'message' THEN 0 ELSE 1 END AS reactions, "
        "CASE WHEN e.type = 'message' AND e.reply_to_member_id IS NOT NULL "
        "AND e.reply_to_member_id <> e.member_id THEN 1 ELSE 0 END AS replies, "
        "CASE WHEN e.type = 'message' THEN "
        f"{sql.json_length('e.mentions')} + {sql.json_length('e.data', 'mentions_unresolved')} "
        "ELSE 0 END AS mentions, "
        "CASE WHEN e.type = 'message' AND (e.kind = 'sticker' OR (e.kind = 'text' AND "
        f"{sql.char_length(sql.trim_chars('e.text'))} <= %s)) THEN 1 ELSE 0 END AS water, "
        f"CASE WHEN e.type = 'message' AND (e.kind = 'link' OR {_link_test('e.text')}) THEN 1 ELSE 0 END AS links "
        f"FROM qunyun_event e WHERE ({where}) "
        "AND ((e.type = 'message' AND e.kind <> 'system') OR e.type = 'reaction')"
    )


def _link_test(column: str) -> str:
    """SQL: the text carries one of :data:`LINK_MARKERS`, letters' case ignored (parameters: the markers' patterns).

    On PostgreSQL the case-blind ``ILIKE`` costs ~1.7 µs a row (about a fifth of a rebuild's pass
    over the log), so it only runs on texts with one of the characters without case that every
    marker holds (``:`` or ``.``: a plain byte search first).
    """
    markers = " OR ".join(sql.contains_ascii_ci(column) for _ in LINK_MARKERS)
    if not sql.is_postgres():
        return markers  # SQLite's LIKE is cheap already (its prefilter measured no faster)
    caseless = sorted({next(ch for ch in marker if not ch.isalpha()) for marker in LINK_MARKERS})
    return "((" + " OR ".join(f"strpos({column}, '{ch}') > 0" for ch in caseless) + f") AND ({markers}))"


def activity_select(where: str, spans: list[OffsetSpan]) -> str:
    """:func:`activity_events_select` summed per group, member, local day and hour (same parameters)."""
    sums = ", ".join(f"SUM(x.{c}) AS {c}" for c in ACTIVITY_COUNTS)
    return (f"SELECT x.group_id, x.member_id, x.day, x.hour, {sums} "
            f"FROM ({activity_events_select(where, spans)}) x GROUP BY x.group_id, x.member_id, x.day, x.hour")


def activity_params() -> list[Any]:
    """The parameters :func:`activity_select` takes before those of its ``where``."""
    return [WATER_TRIM, WATER_MAX_CHARS, *(f"%{marker}%" for marker in LINK_MARKERS)]


#: The columns :func:`sparse_select` gives, in order.
SPARSE_COLUMNS = "id, type, group_id, member_id, actor_id, day, reply_to_member_id, mentions"


def sparse_select(where: str) -> str:
    """The few events the other rollups need: joins, leaves, payments, deletions, replies, mentions."""
    return (
        "SELECT e.id, e.type, e.group_id, e.member_id, e.actor_id, e.day, e.reply_to_member_id, e.mentions "
        f"FROM qunyun_event e WHERE ({where}) AND (e.type IN ('join', 'leave', 'payment', 'delete') OR "
        "(e.type = 'message' AND e.kind <> 'system' "
        "AND (e.reply_to_member_id IS NOT NULL OR e.mentions IS NOT NULL)))"
    )


def reply_edges_select(sparse: str, not_bot: str) -> str:
    """Reply and mention edges between members per group and day, from a table of :func:`sparse_select` rows.

    A reply to oneself is no edge; a mention of the member replied to (or of oneself) is not
    counted again; a member mentioned twice in one message counts once; bots are left out
    (``not_bot`` is a ``NOT IN (…)`` test of member ids).
    """
    mention_rows = (
        "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS BIGINT) AS target, "
        f"e.reply_to_member_id FROM {sparse} e, jsonb_array_elements_text(e.mentions) j "
        if sql.is_postgres() else
        "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS INTEGER) AS target, "
        f"e.reply_to_member_id FROM {sparse} e, json_each(e.mentions) j "
    )
    return (
        "SELECT u.group_id, u.day, u.source, u.target, SUM(u.replies), SUM(u.mentions) FROM ("
        "SELECT group_id, day, member_id AS source, reply_to_member_id AS target, 1 AS replies, "
        f"0 AS mentions FROM {sparse} WHERE type = 'message' "
        "AND reply_to_member_id IS NOT NULL AND reply_to_member_id <> member_id "
        "UNION ALL SELECT x.group_id, x.day, x.source, x.target, 0, 1 FROM ("
        + mention_rows +
        "WHERE e.type = 'message' AND e.mentions IS NOT NULL"
        ") x WHERE x.target <> x.source AND (x.reply_to_member_id IS NULL OR x.target <> x.reply_to_member_id)"
        f") u WHERE u.source {not_bot} AND u.target {not_bot} GROUP BY u.group_id, u.day, u.source, u.target"
    )


# ----------------------------------------------------------------- incremental (per stored batch)


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
            _community_days(cursor, cid)  # (analytics') needs the member-days as they were before the batch
            cursor.execute(
                "INSERT INTO qunyun_member_day (community_id, group_id, member_id, day, messages, reactions, replies, "
                f"mentions) SELECT %s, group_id, member_id, day, SUM(messages), SUM(reactions), SUM(replies), "
                f"SUM(mentions) FROM {_ACTIVITY} GROUP BY group_id, member_id, day "
                "ON CONFLICT (group_id, member_id, day) DO UPDATE SET "
                "messages = qunyun_member_day.messages + excluded.messages, "
                "reactions = qunyun_member_day.reactions + excluded.reactions, "
                "replies = qunyun_member_day.replies + excluded.replies, "
                "mentions = qunyun_member_day.mentions + excluded.mentions", [cid])
            first_in_hour, probe_params = _first_in_hour(new, by_group=True)
            cursor.execute(
                "INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages, active_members) "
                f"SELECT %s, a.group_id, a.day, a.hour, SUM(a.messages), SUM(CASE WHEN {first_in_hour} THEN 1 ELSE 0 END) "
                f"FROM {_ACTIVITY} a GROUP BY a.group_id, a.day, a.hour ON CONFLICT (group_id, day, hour) DO UPDATE SET "
                "messages = qunyun_group_hour.messages + excluded.messages, "
                "active_members = qunyun_group_hour.active_members + excluded.active_members", [cid, *probe_params])
        if not (new.activity_rows or new.sparse):
            return
        joins_leaves = (
            "UNION ALL SELECT group_id, day, 0, 0, CASE WHEN type = 'join' THEN 1 ELSE 0 END, "
            f"CASE WHEN type = 'leave' THEN 1 ELSE 0 END FROM {_SPARSE} "
            f"WHERE type IN ('join', 'leave') AND member_id {not_bot} " if new.sparse else "")
        cursor.execute(
            "INSERT INTO qunyun_group_day (community_id, group_id, day, messages, reactions, joins, leaves, "
            "active_members) SELECT %s, group_id, day, SUM(messages), SUM(reactions), SUM(joins), SUM(leaves), 0 "
            f"FROM (SELECT group_id, day, messages, reactions, 0 AS joins, 0 AS leaves FROM {_ACTIVITY} "
            f"{joins_leaves}) u GROUP BY group_id, day "
            "ON CONFLICT (group_id, day) DO UPDATE SET "
            "messages = qunyun_group_day.messages + excluded.messages, "
            "reactions = qunyun_group_day.reactions + excluded.reactions, "
            "joins = qunyun_group_day.joins + excluded.joins, "
            "leaves = qunyun_group_day.leaves + excluded.leaves", [cid])
        if new.activity_rows:
            cursor.execute(
                "UPDATE qunyun_group_day SET active_members = (SELECT COUNT(*) FROM qunyun_member_day md "
                "WHERE md.group_id = qunyun_group_day.group_id AND md.day = qunyun_group_day.day) "
                f"WHERE (group_id, day) IN (SELECT DISTINCT group_id, day FROM {_ACTIVITY})")


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
        if new.roster_groups:
            group_sizes_count(cursor, new)
        if new.sparse:
            cursor.execute(
                "INSERT INTO qunyun_funnel_day (community_id, member_id, day, payments, invites) "
                "SELECT %s, member_id, day, SUM(payments), SUM(invites) FROM ("
                f"SELECT member_id, day, 1 AS payments, 0 AS invites FROM {_SPARSE} "
                f"WHERE type = 'payment' AND member_id {not_bot} "
                f"UNION ALL SELECT actor_id, day, 0, 1 FROM {_SPARSE} WHERE type = 'join' "
                f"AND actor_id IS NOT NULL AND actor_id <> member_id AND member_id {not_bot}"
                ") u GROUP BY member_id, day ON CONFLICT (member_id, day) DO UPDATE SET "
                "payments = qunyun_funnel_day.payments + excluded.payments, "
                "invites = qunyun_funnel_day.invites + excluded.invites", [cid])
            cursor.execute(
                "INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, replies, "
                f"mentions) SELECT %s, r.* FROM ({reply_edges_select(_SPARSE, not_bot)}) r WHERE TRUE "
                "ON CONFLICT (group_id, day, source_id, target_id) DO UPDATE SET "
                "replies = qunyun_reply_edge_day.replies + excluded.replies, "
                "mentions = qunyun_reply_edge_day.mentions + excluded.mentions", [cid])
        if new.activity_rows or new.sparse:
            deleted = (f"UNION ALL SELECT group_id, day, 0, 0, 1 FROM {_SPARSE} WHERE type = 'delete'"
                       if new.sparse else "")
            cursor.execute(
                "INSERT INTO qunyun_group_day_mix (community_id, group_id, day, water, links, deleted) "
                "SELECT %s, group_id, day, SUM(water), SUM(links), SUM(deleted) FROM ("
                f"SELECT group_id, day, water, links, 0 AS deleted FROM {_ACTIVITY} WHERE water > 0 OR links > 0 "
                f"{deleted}) u GROUP BY group_id, day ON CONFLICT (group_id, day) DO UPDATE SET "
                "water = qunyun_group_day_mix.water + excluded.water, "
                "links = qunyun_group_day_mix.links + excluded.links, "
                "deleted = qunyun_group_day_mix.deleted + excluded.deleted", [cid])
        if new.activity_rows:  # (community-days were counted with the member-days, see store_rollups_apply)
            _talk_days_forget(cursor)


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
    cursor.execute(
        "INSERT INTO qunyun_community_hour (community_id, day, hour, messages, active_members) "
        f"SELECT %s, a.day, a.hour, SUM(a.messages), SUM(CASE WHEN {first_in_hour} THEN 1 ELSE 0 END) "
        f"FROM (SELECT member_id, day, hour, SUM(messages) AS messages FROM {_ACTIVITY} "
        "GROUP BY member_id, day, hour) a GROUP BY a.day, a.hour "
        "ON CONFLICT (community_id, day, hour) DO UPDATE SET "
        "messages = qunyun_community_hour.messages + excluded.messages, "
        "active_members = qunyun_community_hour.active_members + excluded.active_members", [cid, *probe_params])
    # A week also counts its active days (a day new to the member, see _community_days) and replies.
    for table, column, expression, extra in (("qunyun_member_week", "week", sql.week_of("day"), ("replies", "fresh")),
                                             ("qunyun_member_month", "month", sql.month_of("day"), ())):
        names = ("messages", "reactions", "replies", "active_days")[:2 + len(extra)]
        sums = ("messages", "reactions", *extra)
        cursor.execute(
            f"INSERT INTO {table} (community_id, member_id, {column}, {', '.join(names)}) "
            f"SELECT %s, member_id, {expression}, {', '.join(f'SUM({c})' for c in sums)} FROM {_DAYS} "
            f"GROUP BY member_id, {expression} ON CONFLICT (member_id, {column}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in names), [cid])


def _member_stats(cursor, new: NewEvents) -> None:
    """First and last days, message counts and "in a group now" of the members the batch touched."""
    t = "qunyun_member_stats"

    def earliest(col: str) -> str:
        return f"{col} = COALESCE(CASE WHEN excluded.{col} < {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

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
                     if sql.is_postgres() else f"SELECT value, NULL, NULL, NULL, NULL, NULL, 0 FROM json_each(%s)")
        params.extend(ids)
    cursor.execute(
        f"INSERT INTO {t} (community_id, member_id, first_active_day, last_active_day, first_message_day, "
        "last_message_day, first_join_day, messages, in_group) SELECT %s, member_id, MIN(first_active), "
        "MAX(last_active), MIN(first_message), MAX(last_message), MIN(first_join), SUM(messages), FALSE FROM ("
        + " UNION ALL ".join(parts) + ") u GROUP BY member_id "
        f"ON CONFLICT (member_id) DO UPDATE SET {earliest('first_active_day')}, {latest('last_active_day')}, "
        f"{earliest('first_message_day')}, {latest('last_message_day')}, {earliest('first_join_day')}, "
        f"messages = {t}.messages + excluded.messages", params)
    if new.touched:
        # Whether each member touched is in a group now (the store has just updated the memberships).
        # A message or reaction can only bring a member in; only joins and leaves can take one out:
        # members already in are skipped unless they moved.
        touched, touched_ids = _ids(new.touched)
        movers, mover_ids = _ids(new.movers)
        cursor.execute(
            f"UPDATE {t} SET in_group = EXISTS (SELECT 1 FROM qunyun_membership ms "
            f"WHERE ms.member_id = {t}.member_id AND ms.is_member = %s) "
            f"WHERE member_id IN ({touched}) AND (in_group = %s OR member_id IN ({movers}))",
            [True, *touched_ids, False, *mover_ids])


def group_sizes_count(cursor, new: NewEvents) -> None:
    """Current (non-bot) members of the groups whose memberships changed, counted again (absolute:
    counting twice changes nothing, so the live path may run it at once and again later)."""
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
    rows = [(new.community_id, g, int(sizes.get(g, 0))) for g in sorted(new.roster_groups)]
    cursor.executemany(
        "INSERT INTO qunyun_group_size (community_id, group_id, members_now) VALUES (%s, %s, %s) "
        "ON CONFLICT (group_id) DO UPDATE SET members_now = excluded.members_now", rows)


def _community_days(cursor, cid: int) -> None:
    """Distinct active members and authors per community-day, by increment.

    Runs before the batch is added to the member-days: a member-day is new to the community
    when the member had no member-day row that day in any group yet (an author: none with a
    message). Two index probes per member and day of the batch. Whether the day is new to the
    member is kept in the work table (``fresh``): the member-week counts its active days from it.
    """
    cursor.execute(
        f"UPDATE {_DAYS} SET fresh = CASE WHEN EXISTS (SELECT 1 FROM qunyun_member_day md "
        f"WHERE md.member_id = {_DAYS}.member_id AND md.day = {_DAYS}.day) THEN 0 ELSE 1 END")
    cursor.execute(
        "INSERT INTO qunyun_community_day (community_id, day, active_members, authors) "
        "SELECT %s, day, SUM(active), SUM(author) FROM ("
        "SELECT b.day, b.fresh AS active, "
        "CASE WHEN b.messages > 0 AND NOT EXISTS (SELECT 1 FROM qunyun_member_day md "
        "WHERE md.member_id = b.member_id AND md.day = b.day AND md.messages > 0) THEN 1 ELSE 0 END AS author "
        f"FROM {_DAYS} b) n "
        "GROUP BY day HAVING SUM(active) > 0 OR SUM(author) > 0 "
        "ON CONFLICT (community_id, day) DO UPDATE SET "
        "active_members = qunyun_community_day.active_members + excluded.active_members, "
        "authors = qunyun_community_day.authors + excluded.authors", [cid])


def _talk_days_forget(cursor) -> None:
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
    cursor.execute(
        f"DELETE FROM qunyun_talk_day WHERE group_id IN ({', '.join(['%s'] * len(stale_groups))}) "
        f"AND day IN ({', '.join(['%s'] * len(stale_days))})", [*stale_groups, *stale_days])


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


from .rebuild import rollups_rebuild  # noqa: E402  (kept importable from here)

"""Rollups: kept up to date as events arrive, and rebuilt from the event log on demand.

Two ways in, one meaning:

* Per stored batch (:mod:`.incremental`), the event store (:mod:`qunyun.bus.store`) describes
  its new rows, which are read once into small work tables (activity per member, group, local
  day and hour, and per member and day; the few joins, leaves, payments, deletions, replies and
  mentions); every rollup is then increased from those tables with one
  ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` each. No Python runs per event.
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

from typing import Any

from qunyun.core.marks import (  # noqa: F401  (message_is_water, message_has_link: importable from here)
    LINK, LINK_MARKERS, MENTIONS_SHIFT, WATER, WATER_MAX_CHARS, WATER_TRIM, message_has_link, message_is_water,
)

from . import sql
from .periods import OffsetSpan

#: Every rollup table with a ``community_id`` column, in the order a rebuild fills them.
ROLLUP_TABLES = (
    "qunyun_member_day", "qunyun_group_hour", "qunyun_community_hour", "qunyun_group_day",
    "qunyun_group_day_mix", "qunyun_member_week", "qunyun_member_month", "qunyun_member_stats",
    "qunyun_member_group_firsts", "qunyun_funnel_day", "qunyun_reply_edge_day", "qunyun_talk_day",
    "qunyun_community_day", "qunyun_group_size",
)


# ----------------------------------------------------------------- shared SQL (incremental and rebuild)


#: The per-event columns of :func:`activity_events_select`, and the sums they become.
ACTIVITY_KEY = ("group_id", "member_id", "day", "hour")
ACTIVITY_COUNTS = ("messages", "reactions", "replies", "mentions", "water", "links")


def activity_events_select(where: str, spans: list[OffsetSpan], log: str = "qunyun_event e") -> str:
    """Each message (not a system line) and reaction of the events ``e`` matching ``where``, as counts.

    Columns: :data:`ACTIVITY_KEY` (the local day and hour), then :data:`ACTIVITY_COUNTS` for
    this one event (1 or 0; mentions counted). Parameters: :func:`activity_params`, then those
    of ``where``. ``where`` must leave bots out and may name only ``e`` (qunyun_event);
    ``spans`` are the zone's UTC offsets over the events' time range; ``log`` is how the event
    table is named in ``FROM`` (a rebuild names the index to read it by).

    The local hour and the message's marks (:mod:`qunyun.core.marks`) are read from the row,
    where the store wrote them; the tests on the text and the time stand behind them for rows
    stored without (``COALESCE`` evaluates them only for those).
    """
    return (
        f"SELECT e.group_id, e.member_id, e.day, COALESCE(e.hour, {sql.local_hour_of('e.at', spans)}) AS hour, "
        "CASE WHEN e.type = 'message' THEN 1 ELSE 0 END AS messages, "
        "CASE WHEN e.type = 'message' THEN 0 ELSE 1 END AS reactions, "
        "CASE WHEN e.type = 'message' AND e.reply_to_member_id IS NOT NULL "
        "AND e.reply_to_member_id <> e.member_id THEN 1 ELSE 0 END AS replies, "
        f"CASE WHEN e.type = 'message' THEN COALESCE(e.marks >> {MENTIONS_SHIFT}, {_mentions_count()}) "
        "ELSE 0 END AS mentions, "
        "CASE WHEN e.type <> 'message' THEN 0 WHEN e.marks IS NOT NULL THEN e.marks & 1 "
        f"WHEN {_water_test()} THEN 1 ELSE 0 END AS water, "
        "CASE WHEN e.type <> 'message' THEN 0 WHEN e.marks IS NOT NULL THEN (e.marks >> 1) & 1 "
        f"WHEN {_links_test()} THEN 1 ELSE 0 END AS links "
        f"FROM {log} WHERE ({where}) "
        "AND ((e.type = 'message' AND e.kind <> 'system') OR e.type = 'reaction')"
    )


def _mentions_count() -> str:
    """SQL: how many members message ``e`` mentions, known to us or not (no parameters)."""
    return f"{sql.json_length('e.mentions')} + {sql.json_length('e.data', 'mentions_unresolved')}"


def _water_test() -> str:
    """SQL: message ``e`` is water (:func:`qunyun.core.marks.message_is_water`); parameters: the trim, the length."""
    return f"(e.kind = 'sticker' OR (e.kind = 'text' AND {sql.char_length(sql.trim_chars('e.text'))} <= %s))"


def _links_test() -> str:
    """SQL: message ``e`` carries a link (:func:`qunyun.core.marks.message_has_link`); parameters: the patterns."""
    return f"(e.kind = 'link' OR {_link_test('e.text')})"


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


def events_hour_marks_fill(cursor, cid: int, spans: list[OffsetSpan], first_id: int, last_id: int) -> None:
    """Work out the local hour and the marks of a community's events with ids in ``[first_id, last_id]``
    that were stored without them (before the columns existed, or not through the store).

    The same SQL that stands behind the stored values in :func:`activity_events_select`, so a
    filled row counts as it did before. ``spans``: the zone's offsets over the community's
    events (:func:`.rebuild.log_spans`); ``cursor`` is a Django cursor.
    """
    cursor.execute(
        f"UPDATE qunyun_event AS e SET hour = {sql.local_hour_of('e.at', spans)}, "
        f"marks = CASE WHEN e.type = 'message' THEN (({_mentions_count()}) << {MENTIONS_SHIFT}) "
        f"+ CASE WHEN {_water_test()} THEN {WATER} ELSE 0 END "
        f"+ CASE WHEN {_links_test()} THEN {LINK} ELSE 0 END END "
        "WHERE e.community_id = %s AND e.id BETWEEN %s AND %s AND e.hour IS NULL",
        [*activity_params(), cid, first_id, last_id])


#: The columns :func:`sparse_select` gives, in order.
SPARSE_COLUMNS = "id, type, group_id, member_id, actor_id, day, reply_to_member_id, mentions"


def sparse_select(where: str, log: str = "qunyun_event e") -> str:
    """The few events the other rollups need: joins, leaves, payments, deletions, replies, mentions
    (``log``: as in :func:`activity_events_select`)."""
    return (
        "SELECT e.id, e.type, e.group_id, e.member_id, e.actor_id, e.day, e.reply_to_member_id, e.mentions "
        f"FROM {log} WHERE ({where}) AND (e.type IN ('join', 'leave', 'payment', 'delete') OR "
        "(e.type = 'message' AND e.kind <> 'system' "
        "AND (e.reply_to_member_id IS NOT NULL OR e.mentions IS NOT NULL)))"
    )


def reply_edges_select(sparse: str, not_bot: str) -> str:
    """Reply and mention edges between members per group and day, from a table of :func:`sparse_select` rows.

    Columns: group_id, day, source, target, replies, mentions. A reply to oneself is no edge; a
    mention of the member replied to (or of oneself) is not counted again; a member mentioned
    twice in one message counts once; bots are left out (``not_bot`` is a ``NOT IN (…)`` test of
    member ids).
    """
    return (f"SELECT u.group_id, u.day, u.source, u.target, SUM(u.replies), SUM(u.mentions) "
            f"FROM ({reply_edge_rows(sparse, not_bot)}) u GROUP BY u.group_id, u.day, u.source, u.target")


def reply_edge_rows(sparse: str, not_bot: str) -> str:
    """:func:`reply_edges_select`'s rows before they are summed: one per reply and per mention
    (same columns; a replies 1 and mentions 0, or the other way round)."""
    mention_rows = (
        "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS BIGINT) AS target, "
        f"e.reply_to_member_id FROM {sparse} e, jsonb_array_elements_text(e.mentions) j "
        if sql.is_postgres() else
        "SELECT DISTINCT e.id, e.group_id, e.day, e.member_id AS source, CAST(j.value AS INTEGER) AS target, "
        f"e.reply_to_member_id FROM {sparse} e, json_each(e.mentions) j "
    )
    return (
        "SELECT u.group_id, u.day, u.source, u.target, u.replies, u.mentions FROM ("
        "SELECT group_id, day, member_id AS source, reply_to_member_id AS target, 1 AS replies, "
        f"0 AS mentions FROM {sparse} WHERE type = 'message' "
        "AND reply_to_member_id IS NOT NULL AND reply_to_member_id <> member_id "
        "UNION ALL SELECT x.group_id, x.day, x.source, x.target, 0, 1 FROM ("
        + mention_rows +
        "WHERE e.type = 'message' AND e.mentions IS NOT NULL"
        ") x WHERE x.target <> x.source AND (x.reply_to_member_id IS NULL OR x.target <> x.reply_to_member_id)"
        f") u WHERE u.source {not_bot} AND u.target {not_bot}"
    )


from .rebuild import rollups_rebuild  # noqa: E402,F401  (kept importable from here)

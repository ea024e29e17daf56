"""A full rollup rebuild's passes over the log, cut by days over worker processes (SQLite).

:func:`qunyun.analytics.rebuild.rollups_rebuild` reads a large log in parts: ranges of the
community's local days with about as many events each. It reads the first range itself and
starts a worker process (:mod:`.rebuild_worker`) for each other one, which runs the same
statements (:func:`part_steps`) over its days into a file; the rebuild then reads those files
(:func:`part_merge`). Every rollup row of a day comes from one part, so the parts' rows only
need adding together where a row spans days (weeks, months, a member's firsts and lasts), which
the rebuild does after the parts, from their per-day tables. See docs/analytics.md.
"""

from __future__ import annotations

import os
from typing import Any

from django.db import connection

from . import sql
from .rollups import (
    ACTIVITY_COUNTS, ACTIVITY_KEY, activity_events_select, activity_params, reply_edge_rows, sparse_select,
)


#: How an upsert folds a value into a kept row, by the fold's name (SQLite).
MERGE = {
    "sum": "{c} = {c} + excluded.{c}",
    # A NULL never wins; it is replaced by any value (SQLite's min() and max() would keep it;
    # NULL + excluded would be NULL: a sum's inputs are never NULL).
    "min": "{c} = CASE WHEN {c} IS NULL OR excluded.{c} < {c} THEN excluded.{c} ELSE {c} END",
    "max": "{c} = CASE WHEN {c} IS NULL OR excluded.{c} > {c} THEN excluded.{c} ELSE {c} END",
}


def aggregate_sql(table: str, keys: tuple[str, ...], values: tuple[str, ...], rows: str, params: list[Any],
                   combine: tuple[str, ...] | None = None,
                   columns: tuple[str, ...] | None = None) -> list[tuple[str, list[Any]]]:
    """The statements that fill a temporary table of ``rows`` folded by ``keys``.

    ``rows`` gives ``columns`` in that order (``keys`` then ``values`` unless told); ``combine``
    says how values fold (``sum``, ``min``, ``max``; all ``sum`` by default).
    PostgreSQL hashes the rows (``GROUP BY``). SQLite only sorts to group, which costs most of
    a rebuild at millions of rows; so there every row is upserted into a table keyed by
    ``keys`` instead, and rows that arrive near their neighbours in key order (the log is in
    time order, keys start with the day) cost little more than an append.
    """
    combine = combine or ("sum",) * len(values)
    named = columns or keys + values
    if sql.is_postgres():
        # Sums of integers stay integers (PostgreSQL's SUM of a bigint is a numeric: a slow,
        # allocated state per group, and the next fold would sum numerics).
        folded = ", ".join((f"CAST(SUM({column}) AS INTEGER)" if how == "sum" else f"{how.upper()}({column})")
                           + f" AS {column}" for how, column in zip(combine, values))
        return [(f"CREATE TEMP TABLE {table} AS SELECT {', '.join(keys)}, {folded} FROM ("
                 f"{named_rows(rows, named)}) x GROUP BY {', '.join(keys)}", params)]
    updates = ", ".join(MERGE[how].format(c=column) for how, column in zip(combine, values))
    return [
        (f"CREATE TEMP TABLE {table} ({', '.join(keys + values)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID",
         []),
        # "WHERE true" keeps SQLite from reading ON CONFLICT as part of a join in ``rows``.
        (f"INSERT INTO {table} ({', '.join(named)}) SELECT * FROM ({rows}) WHERE true "
         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}", params),
    ]


#: The rollups whose rows each belong to one local day: every part writes its own days' rows
#: (name, table, columns after community_id). A worker leaves them in temporary tables named
#: ``qunyun_part_<name>`` for the rebuild to copy.
DAY_ROLLUPS = (
    ("member_day", "qunyun_member_day", "group_id, member_id, day, messages, reactions, replies, mentions"),
    ("group_hour", "qunyun_group_hour", "group_id, day, hour, messages, active_members"),
    ("community_hour", "qunyun_community_hour", "day, hour, messages, active_members"),
    ("group_day", "qunyun_group_day", "group_id, day, messages, reactions, active_members, joins, leaves"),
    ("group_day_mix", "qunyun_group_day_mix", "group_id, day, water, links, deleted"),
    ("community_day", "qunyun_community_day", "day, active_members, authors"),
    ("funnel_day", "qunyun_funnel_day", "member_id, day, payments, invites"),
    ("reply_edge_day", "qunyun_reply_edge_day", "group_id, day, source_id, target_id, replies, mentions"),
)

#: A member's first and last active and message days, and how they fold (earliest, latest).
#: ``qunyun_tmp_week`` carries them per week only to feed the member firsts (not
#: ``qunyun_member_week``).
WEEK_DAYS = ("first_active", "last_active", "first_message", "last_message")
_WEEK_DAYS_COMBINE = ("min", "max", "min", "max")

#: What a part folds for rows that span days, added together across parts by the rebuild
#: (:func:`periods_merge`): each member's weeks and months, and firsts and lasts. A week also
#: keeps the member's first and last active and message days in it (:data:`WEEK_DAYS`): the
#: member's firsts and lasts are folded from the weeks, a third of the rows of the days.
PERIOD_TABLES = {
    "qunyun_tmp_week": (("period", "member_id"), ("messages", "reactions", "replies", "active_days", *WEEK_DAYS),
                        ("sum",) * 4 + _WEEK_DAYS_COMBINE),
    "qunyun_tmp_month": (("period", "member_id"), ("messages", "reactions"), ("sum",) * 2),
    "qunyun_tmp_member": (("member_id",), (*WEEK_DAYS, "messages", "first_join"), (*_WEEK_DAYS_COMBINE, "sum", "min")),
    # A member's firsts per group (qunyun_member_group_firsts), in that table's key order.
    "qunyun_tmp_member_group": (("group_id", "member_id"), ("first_active", "first_message", "first_join"),
                                ("min", "min", "min")),
}

#: The temporary tables a worker copies into its file at its end: its :data:`PERIOD_TABLES` (its
#: day rollups' rows, ``qunyun_part_<name>``, it writes there directly).
PART_COPIED = tuple(PERIOD_TABLES)

#: The share of the log's events the rebuild's own process reads when it starts workers: it also
#: empties the old rows (2–6 s at 10M, by how much of them the page cache still holds) and
#: inserts into the rollups instead of work tables. At 10M with one worker (docs/benchmarks.md,
#: Analytics, sessions 8 and 9): session 8, equal halves, ~4 s after the worker when emptying took
#: ~5 s; 0.45–0.46, 1–6 s before it; 0.48, 0.8–2.3 s before it with a 2 s emptying. Session 9,
#: once the members' firsts came from the weeks, it waited 1.8–3.2 s for the worker with 0.48,
#: 0–1.3 s with 0.50 (emptying 1.9–2.4 s). Then the worker stopped copying its day rollups at
#: its end (~1 s of its part), and with 0.50 this process waited 0.0–0.1 s in three runs: the
#: worker finished first. 0.49 moves ~0.6 s of reading to the worker; a gain that small is
#: below these runs' spread, so it is reasoned, not measured.
FIRST_PART_SHARE = 0.49

#: A log of fewer events than this is read by one process (starting a worker costs ~0.2 s).
PARALLEL_MIN_EVENTS = 400_000

NOT_BOT = "NOT IN (SELECT id FROM qunyun_tmp_bots)"


def part_steps(cid: int, spans: list, days: tuple[str | None, str | None], *,
               final: bool) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """Everything a rebuild computes from the log's events of the local days ``days`` (from,
    before; None: open), as named steps of statements.

    With ``final`` (the rebuild's own connection) the rows of :data:`DAY_ROLLUPS` go into their
    tables; otherwise (a worker, which does not write to the database) into tables of its
    output file, attached as ``part`` (:mod:`.rebuild_worker`).
    Either way the part's weeks, months and member firsts are left in :data:`PERIOD_TABLES`.
    """
    where, params = "e.community_id = %s", [cid]
    if days[0] is not None:
        where, params = where + " AND e.day >= %s", params + [days[0]]
    if days[1] is not None:
        where, params = where + " AND e.day < %s", params + [days[1]]
    counts = ACTIVITY_COUNTS
    scan_log, sparse_log = _log_reads()
    # Pass 1 over the log: activity at the finest grain every rollup needs (local day and
    # hour, group, member), with the incremental path's per-event SQL. Keyed by time first:
    # the log is stored roughly in time order, so SQLite adds each event next to the
    # previous one instead of sorting millions of rows.
    scan = [("CREATE TEMP TABLE qunyun_tmp_bots AS SELECT id FROM qunyun_member "
             "WHERE community_id = %s AND is_bot = %s", [cid, True])]
    scan += aggregate_sql("qunyun_tmp_activity", ("day", "hour", "group_id", "member_id"), counts,
                          activity_events_select(f"{where} AND e.member_id {NOT_BOT}", spans, scan_log),
                          [*activity_params(), *params], columns=ACTIVITY_KEY + counts)
    # The same per group and day, and per member and day over all groups (what "active on a
    # day" means for the community), each folded from the one before. Day first: rows arrive
    # in day order, so each lands next to the last (keyed by group first, the upserts jumped
    # between every group's part of the table: 29 s instead of ~1.4 s × 10 at 10M).
    fold = aggregate_sql("qunyun_tmp_member_day", ("day", "group_id", "member_id"), counts,
                         f"SELECT day, group_id, member_id, {', '.join(counts)} FROM qunyun_tmp_activity", [])
    fold += aggregate_sql("qunyun_tmp_day", ("day", "member_id"), ("messages", "reactions", "replies"),
                          "SELECT day, member_id, messages, reactions, replies FROM qunyun_tmp_member_day", [])
    # Pass 2: the few events the other rollups need (joins, leaves, payments, deletions, replies, mentions).
    sparse = [(f"CREATE TEMP TABLE qunyun_tmp_sparse AS {sparse_select(where, sparse_log)}", params)]
    # The reply and mention edges folded by day first, as the sparse rows come (in time order):
    # a sort of every reply for GROUP BY took 2.8 s of a 10M part, this and the rows' sort 2.0 s.
    sparse += aggregate_sql("qunyun_tmp_reply_edge", ("day", "group_id", "source", "target"), ("replies", "mentions"),
                            reply_edge_rows("qunyun_tmp_sparse", NOT_BOT), [],
                            columns=("group_id", "day", "source", "target", "replies", "mentions"))
    rows = _day_rows()

    def day_rollup(name: str) -> list[tuple[str, list[Any]]]:
        table, columns = next((t, c) for n, t, c in DAY_ROLLUPS if n == name)
        if final:
            return [(f"INSERT INTO {table} (community_id, {columns}) SELECT %s, r.* FROM ({rows[name]}) r", [cid])]
        # Straight into the worker's file: copied there at its end, they cost ~1 s of a 10M part.
        return [(f"CREATE TABLE part.qunyun_part_{name} AS {rows[name]}", [])]

    steps = [("scan", scan), ("fold_days", fold), ("scan_sparse", sparse)]
    steps += [(name, day_rollup(name)) for name, _table, _columns in DAY_ROLLUPS]
    steps[-1][1].append(("DROP TABLE qunyun_tmp_activity", []))
    # Each active day's week and month, worked out once per day (not once per member-day row).
    # A week also has its replies and active days (one per member-day row: a day of the
    # community's, all groups together).
    periods = [("CREATE TEMP TABLE qunyun_tmp_calendar AS SELECT day, "
                f"{sql.week_of('day')} AS week, {sql.month_of('day')} AS month "
                "FROM (SELECT DISTINCT day FROM qunyun_tmp_day) d", [])]
    posted = "CASE WHEN d.messages > 0 THEN d.day END"
    for table, column, picked in (
            ("qunyun_tmp_week", "week", f"d.messages, d.reactions, d.replies, 1, d.day, d.day, {posted}, {posted}"),
            ("qunyun_tmp_month", "month", "d.messages, d.reactions")):
        keys, values, combine = PERIOD_TABLES[table]
        periods += aggregate_sql(table, keys, values, f"SELECT c.{column}, d.member_id, {picked} "
                                 "FROM qunyun_tmp_day d JOIN qunyun_tmp_calendar c ON c.day = d.day", [],
                                 combine=combine)
    # A member's firsts and lasts from the part's weeks, which hold them per week (the days'
    # rows folded again: 2.5 s of a 10M part's ~30 s, the weeks' a third of that).
    keys, values, combine = PERIOD_TABLES["qunyun_tmp_member"]
    periods += aggregate_sql("qunyun_tmp_member", keys, values, (
        f"SELECT member_id, {', '.join(WEEK_DAYS)}, messages, NULL FROM qunyun_tmp_week "
        "UNION ALL SELECT member_id, NULL, NULL, NULL, NULL, 0, MIN(day) FROM qunyun_tmp_sparse "
        f"WHERE type = 'join' AND member_id {NOT_BOT} GROUP BY member_id"), [], combine=combine)
    return steps + [("periods", periods), ("member_groups", _member_groups())]


def _member_groups() -> list[tuple[str, list[Any]]]:
    """A part's firsts per group and member, from its member-days and joins (``qunyun_tmp_member_group``)."""
    keys, values, combine = PERIOD_TABLES["qunyun_tmp_member_group"]
    days = "SELECT group_id, member_id, day, CASE WHEN messages > 0 THEN day END, NULL FROM qunyun_tmp_member_day"
    joins = (f"SELECT group_id, member_id, NULL, NULL, MIN(day) FROM qunyun_tmp_sparse WHERE type = 'join' "
             f"AND member_id {NOT_BOT} GROUP BY group_id, member_id")
    if sql.is_postgres():
        return aggregate_sql("qunyun_tmp_member_group", keys, values, f"{days} UNION ALL {joins}", [], combine=combine)
    # The member-days in day order (their work table's key): the first row of a group and member
    # holds its first active day, so a later row changes the kept one only for a first message
    # not seen yet, and most upserts write nothing (10M, a part's 2.9 million member-days: 0.95 s
    # against 1.8 s for the general fold, which rewrites the kept row every time).
    table, columns = "qunyun_tmp_member_group", ", ".join(keys + values)
    return [
        (f"CREATE TEMP TABLE {table} ({columns}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID", []),
        (f"INSERT INTO {table} ({columns}) {days} WHERE true ORDER BY day ON CONFLICT ({', '.join(keys)}) "
         "DO UPDATE SET first_message = excluded.first_message WHERE first_message IS NULL "
         "AND excluded.first_message IS NOT NULL", []),
        (f"INSERT INTO {table} ({columns}) SELECT * FROM ({joins}) WHERE true ON CONFLICT ({', '.join(keys)}) "
         f"DO UPDATE SET {MERGE['min'].format(c='first_join')}", []),
    ]


def _log_reads() -> tuple[str, str]:
    """How the two passes name the event table: on SQLite, with the index each must read it by.

    Both indexes lead with (community, day), so the planner may take either, and each pass is
    slow by the other's: the activity pass reads ``event_day_activity`` (its work table's order,
    and every column it needs of a stored event, so no table row is read: 3.6 s against 7.2–7.8 s
    for a half of the 10M log), the sparse pass ``event_community_day`` (time order: the rows it
    must read lie together; by the other index 7.7 s against 1.9 s). An index a bulk load has
    dropped is not named (SQLite refuses a missing one).
    """
    log = "qunyun_event e"
    if connection.vendor != "sqlite":
        return log, log
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'qunyun_event'")
        present = {row[0] for row in cursor.fetchall()}
    return tuple(f"{log} INDEXED BY {name}" if name in present else log
                 for name in ("event_day_activity", "event_community_day"))


def _day_rows() -> dict[str, str]:
    """The SELECT giving each of :data:`DAY_ROLLUPS`' rows (its columns, in order) from a part's work tables."""
    return {
        # In the table's key order, which is the work table's: no sort (1.2 s against 2.3-2.7 s
        # for half of the 10M log, the sort included, when the table was keyed by group first).
        "member_day": ("SELECT group_id, member_id, day, messages, reactions, replies, mentions "
                       "FROM qunyun_tmp_member_day ORDER BY day, group_id, member_id"),
        # Hours: the activity table has one row per member, group and hour, so a group-hour's
        # rows are its active members; across groups a member is counted once.
        # In the table's key order (grouped in the work table's): the rows then land one after
        # another instead of jumping between the groups' parts of the table (0.4 s of 2.8 s, 10M).
        "group_hour": ("SELECT group_id, day, hour, SUM(messages), COUNT(*) FROM qunyun_tmp_activity "
                       "GROUP BY day, hour, group_id ORDER BY group_id, day, hour"),
        "community_hour": ("SELECT day, hour, SUM(messages), COUNT(DISTINCT member_id) FROM qunyun_tmp_activity "
                           "GROUP BY day, hour"),
        "group_day": (
            "SELECT group_id, day, SUM(messages), SUM(reactions), SUM(active), SUM(joins), SUM(leaves) FROM ("
            "SELECT group_id, day, SUM(messages) AS messages, SUM(reactions) AS reactions, COUNT(*) AS active, "
            "0 AS joins, 0 AS leaves FROM qunyun_tmp_member_day GROUP BY day, group_id "
            "UNION ALL SELECT group_id, day, 0, 0, 0, CASE WHEN type = 'join' THEN 1 ELSE 0 END, "
            "CASE WHEN type = 'leave' THEN 1 ELSE 0 END FROM qunyun_tmp_sparse "
            f"WHERE type IN ('join', 'leave') AND member_id {NOT_BOT}"
            ") u GROUP BY group_id, day"),
        "group_day_mix": (
            "SELECT group_id, day, SUM(water), SUM(links), SUM(deleted) FROM ("
            "SELECT group_id, day, SUM(water) AS water, SUM(links) AS links, 0 AS deleted "
            "FROM qunyun_tmp_member_day GROUP BY day, group_id HAVING SUM(water) > 0 OR SUM(links) > 0 "
            "UNION ALL SELECT group_id, day, 0, 0, 1 FROM qunyun_tmp_sparse WHERE type = 'delete'"
            ") u GROUP BY group_id, day"),
        "community_day": ("SELECT day, COUNT(*), SUM(CASE WHEN messages > 0 THEN 1 ELSE 0 END) "
                          "FROM qunyun_tmp_day GROUP BY day"),
        "funnel_day": (
            "SELECT member_id, day, SUM(payments), SUM(invites) FROM ("
            "SELECT member_id, day, 1 AS payments, 0 AS invites FROM qunyun_tmp_sparse "
            f"WHERE type = 'payment' AND member_id {NOT_BOT} "
            "UNION ALL SELECT actor_id, day, 0, 1 FROM qunyun_tmp_sparse WHERE type = 'join' "
            f"AND actor_id IS NOT NULL AND actor_id <> member_id AND member_id {NOT_BOT}"
            ") u GROUP BY member_id, day"),
        "reply_edge_day": ("SELECT group_id, day, source, target, replies, mentions FROM qunyun_tmp_reply_edge "
                           "ORDER BY group_id, day, source, target"),
    }


def day_ranges(cursor, cid: int, workers: int) -> list[tuple[str | None, str | None]]:
    """The community's local days cut into ``workers`` ranges (from, before): the first of about
    :data:`FIRST_PART_SHARE` of the events, the others of equal shares of the rest.

    Read in the (community, day) index of the log; fewer ranges when its days are too few to
    cut. A negative ``workers`` asks for ``-workers`` ranges only if the log has at least
    :data:`PARALLEL_MIN_EVENTS` events.
    """
    cursor.execute("SELECT COUNT(*) FROM qunyun_event WHERE community_id = %s", [cid])
    total = cursor.fetchone()[0]
    if workers < 0:
        workers = -workers if total >= PARALLEL_MIN_EVENTS else 1
    cuts: list[str] = []
    # The first range is this process's, which also empties the old rows and writes its rows
    # straight into the rollups (slower than a worker's work tables): it takes a smaller share.
    first = FIRST_PART_SHARE if workers > 1 else 1.0
    for k in range(1, workers):
        offset = int(total * (first + (1 - first) * (k - 1) / (workers - 1)))
        cursor.execute("SELECT day FROM qunyun_event WHERE community_id = %s ORDER BY day LIMIT 1 OFFSET %s",
                       [cid, offset])
        found = cursor.fetchone()
        if found is not None and (not cuts or str(found[0]) > cuts[-1]):
            cuts.append(str(found[0]))
    bounds: list[str | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))


def part_merge(cursor, cid: int, out: str, alias: str) -> None:
    """Read a worker's part (its file ``out``, attached as ``alias``) into this rebuild: its day
    rows into their rollups, its weeks, months and member firsts added to this process's
    (:func:`periods_merge`). SQLite detaches a file only outside the transaction that read it."""
    cursor.execute(f"ATTACH DATABASE %s AS {alias}", [out])
    for name, table, columns in DAY_ROLLUPS:
        cursor.execute(f"INSERT INTO {table} (community_id, {columns}) SELECT %s, r.* FROM {alias}.qunyun_part_{name} r",
                       [cid])
    for table in PERIOD_TABLES:
        periods_merge(cursor, table, f"{alias}.{table}")


def periods_merge(cursor, table: str, source: str) -> None:
    """Add a part's rows of a :data:`PERIOD_TABLES` table (``source``) into this process's ``table``
    (SQLite). Parts are ranges of days: only a week or month that spans a cut meets itself."""
    keys, values, combine = PERIOD_TABLES[table]
    columns = ", ".join(keys + values)
    cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {source} WHERE true "
                   f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                   + ", ".join(MERGE[how].format(c=column) for how, column in zip(combine, values)))


def cache_kib(cursor) -> int:
    """This connection's SQLite page cache in KiB (a worker gets the same)."""
    cursor.execute("PRAGMA cache_size")
    size = cursor.fetchone()[0]
    if size < 0:
        return -size
    cursor.execute("PRAGMA page_size")
    return size * cursor.fetchone()[0] // 1024


def temp_store(cursor) -> int:
    cursor.execute("PRAGMA temp_store")
    return int(cursor.fetchone()[0])


def workers_count(workers: int | None) -> int:
    """How many processes read the log: ``workers`` when told, else 2 on a machine with two cores or
    more for a large log; always 1 where a worker cannot see what this connection sees (PostgreSQL,
    which runs its own parallel scans; an in-memory database; inside a caller's transaction, whose
    uncommitted events a worker would not read)."""
    name = str(connection.settings_dict.get("NAME") or "")
    if (connection.vendor != "sqlite" or connection.in_atomic_block or not name or name == ":memory:"
            or "mode=memory" in name):
        return 1
    with connection.cursor() as cursor:
        # The parts are ranges of the (community, day) index; without it (a bulk load drops it
        # until the end) each worker would read the whole log.
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'event_community_day'")
        if not cursor.fetchone()[0]:
            return 1
    if workers is not None:
        return max(1, workers)
    # A negative count: "2 if the log is large enough" (decided by _day_ranges, which counts it).
    return -2 if usable_cores() >= 2 else 1


def usable_cores() -> int:
    """The cores this process may run on (a process pinned to one core gets no second worker)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def named_rows(rows: str, columns: tuple[str, ...]) -> str:
    """``rows`` with its columns named (PostgreSQL needs names to group a subquery by)."""
    return f"SELECT * FROM ({rows}) r ({', '.join(columns)})"

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
    ACTIVITY_COUNTS, ACTIVITY_KEY, activity_events_select, activity_params, reply_edges_select, sparse_select,
)


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
        folded = ", ".join(f"{how.upper()}({column}) AS {column}" for how, column in zip(combine, values))
        return [(f"CREATE TEMP TABLE {table} AS SELECT {', '.join(keys)}, {folded} FROM ("
                 f"{named_rows(rows, named)}) x GROUP BY {', '.join(keys)}", params)]
    merge = {
        "sum": "{c} = {c} + excluded.{c}",
        # A NULL never wins; it is replaced by any value (SQLite's min() and max() would keep it).
        "min": "{c} = CASE WHEN {c} IS NULL OR excluded.{c} < {c} THEN excluded.{c} ELSE {c} END",
        "max": "{c} = CASE WHEN {c} IS NULL OR excluded.{c} > {c} THEN excluded.{c} ELSE {c} END",
    }
    updates = ", ".join(merge[how].format(c=column) for how, column in zip(combine, values))
    return [
        (f"CREATE TEMP TABLE {table} ({', '.join(keys + values)}, PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID",
         []),
        # "WHERE true" keeps SQLite from reading ON CONFLICT as part of a join in ``rows``.
        (f"INSERT INTO {table} ({', '.join(named)}) SELECT * FROM ({rows}) WHERE true "
         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}", params),
    ]


#: The temporary tables a part of the log's days leaves for the rest of the rebuild (a worker
#: process hands them over in a file): activity per group, member and day, per member and day,
#: the sparse events, and the hour and edge rows a worker cannot write itself.
PART_TABLES = ("qunyun_tmp_member_day", "qunyun_tmp_day", "qunyun_tmp_sparse", "qunyun_tmp_group_hour",
               "qunyun_tmp_community_hour", "qunyun_tmp_edges")

#: A log of fewer events than this is read by one process (starting a worker costs ~0.2 s).
PARALLEL_MIN_EVENTS = 400_000


def part_steps(cid: int, spans: list, days: tuple[str | None, str | None], *,
          final: bool) -> list[tuple[str, list[tuple[str, list[Any]]]]]:
    """The passes over the log's events of the local days ``days`` (from, before; None: open), as
    named steps of statements.

    With ``final`` (this process) the hour and reply-edge rows go into their rollup tables;
    otherwise (a worker, which cannot write to the database) into temporary tables of
    :data:`PART_TABLES`. Parts are whole days: every rollup row of a day comes from one part.
    """
    where, params = "e.community_id = %s", [cid]
    if days[0] is not None:
        where, params = where + " AND e.day >= %s", params + [days[0]]
    if days[1] is not None:
        where, params = where + " AND e.day < %s", params + [days[1]]
    not_bot = "NOT IN (SELECT id FROM qunyun_tmp_bots)"
    counts = ACTIVITY_COUNTS
    # Pass 1 over the log: activity at the finest grain every rollup needs (local day and
    # hour, group, member), with the incremental path's per-event SQL. Keyed by time first:
    # the log is stored roughly in time order, so SQLite adds each event next to the
    # previous one instead of sorting millions of rows.
    scan = [("CREATE TEMP TABLE qunyun_tmp_bots AS SELECT id FROM qunyun_member "
             "WHERE community_id = %s AND is_bot = %s", [cid, True])]
    scan += aggregate_sql("qunyun_tmp_activity", ("day", "hour", "group_id", "member_id"), counts,
                           activity_events_select(f"{where} AND e.member_id {not_bot}", spans),
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
    sparse = [(f"CREATE TEMP TABLE qunyun_tmp_sparse AS {sparse_select(where)}", params)]
    # Hours: the activity table has one row per member, group and hour, so a group-hour's
    # rows are its active members; across groups a member is counted once.
    group_hour = "SELECT group_id, day, hour, SUM(messages), COUNT(*) FROM qunyun_tmp_activity GROUP BY day, hour, group_id"
    community_hour = ("SELECT day, hour, SUM(messages), COUNT(DISTINCT member_id) FROM qunyun_tmp_activity "
                      "GROUP BY day, hour")
    edges = reply_edges_select("qunyun_tmp_sparse", not_bot)
    if final:
        group_hour = [("INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages, active_members) "
                       f"SELECT %s, r.* FROM ({group_hour}) r", [cid])]
        community_hour = [("INSERT INTO qunyun_community_hour (community_id, day, hour, messages, active_members) "
                           f"SELECT %s, r.* FROM ({community_hour}) r", [cid])]
        edges = [("INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, replies, "
                  f"mentions) SELECT %s, r.* FROM ({edges}) r", [cid])]
    else:
        group_hour = [(f"CREATE TEMP TABLE qunyun_tmp_group_hour AS {group_hour}", [])]
        community_hour = [(f"CREATE TEMP TABLE qunyun_tmp_community_hour AS {community_hour}", [])]
        edges = [(f"CREATE TEMP TABLE qunyun_tmp_edges AS {edges}", [])]
    return [("scan", scan), ("fold_days", fold), ("scan_sparse", sparse), ("group_hour", group_hour),
            ("community_hour", community_hour + [("DROP TABLE qunyun_tmp_activity", [])]),
            ("reply_edge_day", edges)]


def day_ranges(cursor, cid: int, workers: int) -> list[tuple[str | None, str | None]]:
    """The community's local days cut into ``workers`` ranges of about as many events each (from, before).

    Read in the (community, day) index of the log; fewer ranges when its days are too few to
    cut. A negative ``workers`` asks for ``-workers`` ranges only if the log has at least
    :data:`PARALLEL_MIN_EVENTS` events.
    """
    cursor.execute("SELECT COUNT(*) FROM qunyun_event WHERE community_id = %s", [cid])
    total = cursor.fetchone()[0]
    if workers < 0:
        workers = -workers if total >= PARALLEL_MIN_EVENTS else 1
    cuts: list[str] = []
    for k in range(1, workers):
        cursor.execute("SELECT day FROM qunyun_event WHERE community_id = %s ORDER BY day LIMIT 1 OFFSET %s",
                       [cid, total * k // workers])
        found = cursor.fetchone()
        if found is not None and (not cuts or str(found[0]) > cuts[-1]):
            cuts.append(str(found[0]))
    bounds: list[str | None] = [None, *cuts, None]
    return list(zip(bounds[:-1], bounds[1:]))


def part_merge(cursor, cid: int, out: str, alias: str) -> None:
    """Read a worker's part (its file ``out``, attached as ``alias``) into this rebuild: its hour and
    edge rows into their rollups, the rest appended to this process's temporary tables (later
    days: key order holds). SQLite detaches a file only outside the transaction that read it."""
    cursor.execute(f"ATTACH DATABASE %s AS {alias}", [out])
    for table in ("qunyun_tmp_member_day", "qunyun_tmp_day", "qunyun_tmp_sparse"):
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {alias}.{table}")
    cursor.execute("INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages, active_members) "
                   f"SELECT %s, r.* FROM {alias}.qunyun_tmp_group_hour r", [cid])
    cursor.execute("INSERT INTO qunyun_community_hour (community_id, day, hour, messages, active_members) "
                   f"SELECT %s, r.* FROM {alias}.qunyun_tmp_community_hour r", [cid])
    cursor.execute("INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, "
                   f"replies, mentions) SELECT %s, r.* FROM {alias}.qunyun_tmp_edges r", [cid])


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
    return -2 if (os.cpu_count() or 1) >= 2 else 1


def named_rows(rows: str, columns: tuple[str, ...]) -> str:
    """``rows`` with its columns named (PostgreSQL needs names to group a subquery by)."""
    return f"SELECT * FROM ({rows}) r ({', '.join(columns)})"

"""Rebuilding every rollup of a community from its event log (``qunyun analytics rebuild``).

Set-based ``INSERT … SELECT`` statements that SQLite and PostgreSQL both run; the rows are the
same as the store's incremental path gives (a test holds us to that). See docs/analytics.md.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction

from . import rebuild_parts, rebuild_worker, sql
from .periods import OffsetSpan, offset_spans
from .rollups import ROLLUP_TABLES

log = logging.getLogger(__name__)

def rollups_rebuild(community, *, cpu: dict[str, float] | None = None,
                    cache_kib: int | None = None, workers: int | None = None) -> dict[str, float]:
    """Recompute every rollup of ``community`` from its event log, in one transaction.

    Returns the seconds each step took (for benchmarks and ``qunyun analytics rebuild``); the
    process CPU seconds of each step go into ``cpu`` when it is given (a worker's are in
    ``workers_cpu``). ``cache_kib`` sets SQLite's page cache for the rebuild and its workers
    (default :data:`REBUILD_CACHE_KIB`; a bulk import asks for less, to keep its memory flat).
    ``workers``: how many processes read the log on SQLite (default: 2 for a log of
    :data:`~.rebuild_parts.PARALLEL_MIN_EVENTS` or more on two cores or more; see
    :func:`~.rebuild_parts.workers_count`).
    """
    cid = community.pk
    workers = rebuild_parts.workers_count(workers)
    timings: dict[str, float] = {}
    clock = _Clock(timings, {} if cpu is None else cpu)
    # SQLite empties a table in one step only with foreign-key enforcement off (it is a pragma,
    # so it can only change outside a transaction); the rebuild writes rows derived from rows
    # that exist, so nothing is lost by not checking them.
    relaxed = connection.vendor == "sqlite" and not connection.in_atomic_block and \
        connection.disable_constraint_checking()
    restore = _sqlite_memory(REBUILD_CACHE_KIB if cache_kib is None else cache_kib)
    try:
        try:
            _rebuild(community, cid, clock, workers)
        except rebuild_worker.WorkerFailed as error:
            # Rolled back, nothing lost: the same rebuild again, the log read in this process alone.
            log.warning("rollup rebuild of %s: %s; reading the log in one process instead", community.slug, error)
            timings.clear()
            clock.cpu.clear()
            _rebuild(community, cid, clock, 1)
    finally:
        if relaxed:
            connection.enable_constraint_checking()
        if restore:
            with connection.cursor() as cursor:
                for pragma in restore:
                    cursor.execute(pragma)
    _postgres_vacuum(clock)
    return timings


def _postgres_vacuum(clock: _Clock) -> None:
    """PostgreSQL, outside a caller's transaction: VACUUM the refilled rollup tables (analysed
    already, inside the rebuild). A table just refilled has an empty visibility map, so until
    autovacuum reaches it every dashboard read visits the table's pages instead of answering from
    its covering indexes: at 10M the dashboard took 1.98-2.23 s of CPU after a rebuild and
    0.67-0.80 s once vacuumed; the VACUUM takes a few seconds (docs/benchmarks.md, session 6)."""
    if not sql.is_postgres() or connection.in_atomic_block:
        return
    with clock("vacuum"), connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"VACUUM {table}")


#: Page cache for the rebuild's connection, in KiB (SQLite's negative cache_size), for the main
#: database and for the temporary one that holds the work tables. SQLite decides when to spill
#: written pages from this; the default 2 MiB sends a rebuild of millions of rows through the OS.
REBUILD_CACHE_KIB = 2 * 1024 * 1024

#: SQLite's sorter works in runs of at most the main page cache's size, and only when temporary
#: storage is in files (with ``temp_store = MEMORY`` it sorts everything in one piece). For the
#: index builds the cache is set to this, so that an index of millions of keys is sorted in short
#: runs (which fit the processor's caches) merged afterwards, and the runs can be sorted in a
#: second thread. 10M SQLite, the member-day indexes alone: 12.6 s in one piece, 7.4 s in 8 MiB
#: runs, 5.9 s with the second thread (bench/analytics, docs/benchmarks.md, session 6).
INDEX_SORT_CACHE_KIB = 8 * 1024


def _sqlite_memory(cache_kib: int) -> list[str]:
    """SQLite: the rebuild's page caches (``cache_kib``, main and temporary database) and, outside a
    transaction, temporary storage in files (see :data:`INDEX_SORT_CACHE_KIB`; with the large
    cache the work tables stay in memory all the same). Returns the statements that restore the
    connection's settings (none elsewhere)."""
    if connection.vendor != "sqlite":
        return []
    restore = []
    with connection.cursor() as cursor:
        if not connection.in_atomic_block:  # (changing it drops temporary tables: not inside a caller's transaction)
            cursor.execute("PRAGMA temp_store")
            restore.append(f"PRAGMA temp_store = {int(cursor.fetchone()[0])}")
            cursor.execute("PRAGMA temp_store = FILE")
        for schema in ("main", "temp"):
            cursor.execute(f"PRAGMA {schema}.cache_size")
            restore.append(f"PRAGMA {schema}.cache_size = {int(cursor.fetchone()[0])}")
            cursor.execute(f"PRAGMA {schema}.cache_size = -{int(cache_kib)}")
    return restore


@contextmanager
def _index_sorting(cursor):
    """SQLite: the index builds sort in runs of :data:`INDEX_SORT_CACHE_KIB`, with a second thread
    when this process may use two cores (the rebuild's workers have finished by then)."""
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA main.cache_size")
    cache = int(cursor.fetchone()[0])
    cursor.execute(f"PRAGMA main.cache_size = -{INDEX_SORT_CACHE_KIB}")
    cursor.execute(f"PRAGMA threads = {1 if rebuild_parts.usable_cores() >= 2 else 0}")
    try:
        yield
    finally:
        cursor.execute("PRAGMA threads = 0")
        cursor.execute(f"PRAGMA main.cache_size = {cache}")


def _rebuild(community, cid: int, clock: _Clock, workers: int) -> dict[str, float]:
    attached: list[str] = []  # workers' files, read inside the transaction: detached after it
    try:
        return _rebuild_in(community, cid, clock, workers, attached)
    finally:
        with clock("detach"), connection.cursor() as cursor:
            for alias in attached:
                cursor.execute(f"DETACH DATABASE {alias}")


def _rebuild_in(community, cid: int, clock: _Clock, workers: int, attached: list[str]) -> dict[str, float]:
    timings = clock.wall

    def step(name: str, statement: str, params: list[Any]) -> None:
        with clock(name):
            cursor.execute(statement, params)

    with transaction.atomic(), connection.cursor() as cursor:
        if sql.is_postgres():  # no deferred foreign-key checks left pending: indexes can be dropped
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Big sorts and index builds in memory, for this transaction only.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # Derived rows: a crash loses nothing a new rebuild cannot compute again, so the
            # commit need not wait for the write-ahead log to reach the disk.
            cursor.execute("SET LOCAL synchronous_commit = off")
            # Rows derived from rows that exist need no foreign-key checks (one per row and key
            # otherwise). Only a superuser may switch them off; without the right we keep them.
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                pass
        recreate: list[str] = []

        def clear() -> None:
            with clock("delete"):
                for table in ROLLUP_TABLES:
                    recreate.extend(_clear(cursor, table, cid))
                from qunyun.bus.deferred import deferred_rollups_discard  # the live writer's waiting rollups:
                deferred_rollups_discard(cursor, cid)  # counted by this rebuild (their events are in the log)

        spans = log_spans(cursor, cid, community.time_zone)
        if spans is None:  # nothing to count: the tables emptied, their indexes back
            clear()
            for statement in recreate:
                cursor.execute(statement)
            return timings
        for table in TEMP_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        not_bot = rebuild_parts.NOT_BOT
        # Everything read from the log, one part of its days per process: this one takes the
        # earliest days and writes their rows itself; each worker process reads the later days
        # of the same file (WAL: readers run beside this writer) into a file this one then reads.
        # The workers start before the old rows are cleared: they read only the log and the
        # members, which this transaction (holding the write lock since it began) leaves alone.
        ranges = rebuild_parts.day_ranges(cursor, cid, workers) if workers != 1 else [(None, None)]
        helpers = [rebuild_worker.start(connection.settings_dict["NAME"],
                                        rebuild_parts.part_steps(cid, spans, days, final=False),
                                        rebuild_parts.PART_COPIED, cache_kib=rebuild_parts.cache_kib(cursor),
                                        temp_store=rebuild_parts.temp_store(cursor))
                   for days in ranges[1:]]
        try:
            clear()
            for name, statements in rebuild_parts.part_steps(cid, spans, ranges[0], final=True):
                with clock(name):
                    for statement, params in statements:
                        cursor.execute(statement, params)
            if helpers:
                with clock("workers"):  # (the wait; the workers' own CPU seconds: workers_cpu)
                    clock.cpu["workers_cpu"] = sum(helper.wait() for helper in helpers)
                with clock("merge"):
                    for helper in helpers:
                        attached.append(f"qunyun_part{len(attached) + 1}")
                        rebuild_parts.part_merge(cursor, cid, helper.out, attached[-1])
        finally:
            for helper in helpers:
                helper.close()
        for name, table, column in (("member_week", "qunyun_member_week", "week"),
                                    ("member_month", "qunyun_member_month", "month")):
            values = ", ".join(value for value in rebuild_parts.PERIOD_TABLES[f"qunyun_tmp_{column}"][1]
                               if value not in rebuild_parts.WEEK_DAYS)
            # In the table's key order (member, period): the work table's is (period, member).
            step(name, f"INSERT INTO {table} (community_id, member_id, {column}, {values}) "
                       f"SELECT %s, member_id, period, {values} FROM qunyun_tmp_{column} ORDER BY member_id, period",
                 [cid])
        step("member_stats", (
            "INSERT INTO qunyun_member_stats (community_id, member_id, first_active_day, last_active_day, "
            "first_message_day, last_message_day, first_join_day, messages, in_group) "
            "SELECT %s, member_id, MIN(first_active), MAX(last_active), MIN(first_message), MAX(last_message), "
            "MIN(first_join), SUM(messages), MAX(in_group) = 1 FROM ("
            "SELECT member_id, first_active, last_active, first_message, last_message, first_join, "
            "messages, 0 AS in_group FROM qunyun_tmp_member "
            "UNION ALL SELECT ms.member_id, NULL, NULL, NULL, NULL, NULL, 0, "
            "MAX(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
            f"JOIN qunyun_group g ON g.id = ms.group_id WHERE g.community_id = %s AND ms.member_id {not_bot} "
            "GROUP BY ms.member_id"
            ") u GROUP BY member_id"), [cid, cid])
        # In the table's key order (group, member), the work table's.
        step("member_group_firsts", (
            "INSERT INTO qunyun_member_group_firsts (community_id, group_id, member_id, first_active_day, "
            "first_message_day, first_join_day) SELECT %s, group_id, member_id, first_active, first_message, "
            "first_join FROM qunyun_tmp_member_group ORDER BY group_id, member_id"), [cid])
        step("group_size", (
            "INSERT INTO qunyun_group_size (community_id, group_id, members_now) "
            "SELECT %s, ms.group_id, SUM(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
            f"JOIN qunyun_group g ON g.id = ms.group_id WHERE g.community_id = %s AND ms.member_id {not_bot} "
            "GROUP BY ms.group_id"
        ), [cid, cid])
        with clock("drop_work_tables"):
            for table in TEMP_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
        with clock("indexes"), _index_sorting(cursor):
            for statement in recreate:
                cursor.execute(statement)
        if sql.is_postgres():  # fresh statistics for the planner (VACUUM, for index-only scans, after the commit)
            with clock("analyze"):
                for table in ROLLUP_TABLES:
                    cursor.execute(f"ANALYZE {table}")
        clock.start()  # the commit, timed as a step of its own (a rebuild writes most of its pages there)
    clock.stop("commit")
    log.info("rollups of %s rebuilt in %.1f s", community.slug, sum(timings.values()))
    return timings


# (Names written out: this module is imported while rebuild_parts may still be loading.)
TEMP_TABLES = ("qunyun_tmp_activity", "qunyun_tmp_member_day", "qunyun_tmp_day", "qunyun_tmp_calendar",
               "qunyun_tmp_sparse", "qunyun_tmp_reply_edge", "qunyun_tmp_bots", "qunyun_tmp_week", "qunyun_tmp_month",
               "qunyun_tmp_member", "qunyun_tmp_member_group")


class _Clock:
    """Wall-clock and process CPU seconds of a rebuild's steps."""

    def __init__(self, wall: dict[str, float], cpu: dict[str, float]) -> None:
        self.wall, self.cpu = wall, cpu
        self._started = (0.0, 0.0)

    def start(self) -> None:
        self._started = (time.perf_counter(), time.process_time())

    def stop(self, name: str) -> None:
        self.wall[name] = time.perf_counter() - self._started[0]
        self.cpu[name] = time.process_time() - self._started[1]

    @contextmanager
    def __call__(self, name: str):
        self.start()
        yield
        self.stop(name)


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
        return postgres_indexes_drop(cursor, table)
    cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                   [table])
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    cursor.execute("DELETE FROM " + table)  # no WHERE (and no foreign-key checks): emptied in one step
    return [definition for _name, definition in indexes]


def log_spans(cursor, cid: int, time_zone: str) -> list[OffsetSpan] | None:
    """The zone's UTC offsets over a community's events (:func:`.periods.offset_spans`), or
    ``None`` when it has no event.

    The first and last event times are found per group, in the (group, at) index: a few probes
    instead of reading every event of the community (4.3 s at 11.6 million events on SQLite).
    """
    cursor.execute(
        "SELECT MIN(f), MAX(l) FROM (SELECT "
        "(SELECT MIN(e.at) FROM qunyun_event e WHERE e.group_id = g.id AND e.community_id = %s) AS f, "
        "(SELECT MAX(e.at) FROM qunyun_event e WHERE e.group_id = g.id AND e.community_id = %s) AS l "
        "FROM qunyun_group g WHERE g.community_id = %s) x", [cid, cid, cid])
    first, last = cursor.fetchone()
    if first is None:
        return None
    return offset_spans(time_zone, _as_datetime(first), _as_datetime(last))


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


def postgres_indexes_drop(cursor, table: str) -> list[str]:
    """Drop a PostgreSQL table's unique constraints and secondary indexes (not its primary key);
    returns the statements that put them back. For bulk fills: load first, index once after."""
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

"""Bulk loading: a large import into SQLite without per-row index upkeep and per-batch rollups.

The ordinary store path keeps every index of the event log and every rollup up to date after
each batch: right for a live bot, costly for a history of millions of messages, where each new
row lands at a random place in four composite B-trees and each batch upserts thousands of
rollup rows spread over tables larger than the page cache. A *bulk load* instead:

1. takes the community's bulk lock (an ``flock`` beside the database file) and records a
   :class:`~qunyun.bus.models.BulkLoad` row, committed: "this community's rollups are stale";
2. drops the event table's secondary indexes (:data:`BULK_DROPPED`; the unique key that makes
   storing idempotent, and ``(group, message_id)`` that finds the authors of replies, stay);
3. stores batch after batch through the same :class:`~qunyun.bus.store.EventStore` (members,
   names, idempotent insert, one transaction each) but without the rollups and memberships;
4. at the end creates the indexes again (one sort each, far cheaper than millions of random
   inserts), writes the memberships, folded in memory over the whole load
   (:class:`~qunyun.bus.memberships.MembershipFold`: one upsert per member and group instead of
   one per batch; a load stopped early works them out from the log instead,
   :func:`~qunyun.bus.memberships.memberships_from_log`), rebuilds the community's rollups from its log (set-based, the
   same SQL the incremental path uses: :func:`qunyun.analytics.rollups.rollups_rebuild`) and
   deletes the marker.

A crash or a kill between 1 and 4 leaves whole batches (a re-run skips them as duplicates),
maybe no indexes, stale memberships and rollups, and the marker. Every command's start
(:func:`qunyun.cli.bootstrap.migrate_if_needed`) calls :func:`bulk_repair`, which creates any
index the event table's model declares and the database lacks, and works out again the
memberships (from the whole log) and the rollups of marked communities, unless a live process
still holds the bulk lock (an import under way finishes its own work).

Only SQLite loads in bulk (the product's embedded default, and where the index upkeep is the
cost); PostgreSQL imports take the ordinary path. See docs/import.md "Large imports".
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from contextlib import contextmanager
from typing import Callable, Iterator

from django.db import connection, models, transaction

from .memberships import MembershipFold, memberships_from_log

log = logging.getLogger(__name__)

#: The event-table indexes a bulk load drops and creates again at its end (names as in the model).
BULK_DROPPED = ("event_group_at", "event_community_day", "event_day_activity", "event_member_at", "event_actor",
                "event_reply_to_member", "event_channel")

#: An import is loaded in bulk when it is at least this many events (estimated from the input's
#: size) and at least as large as the event log already is (the indexes are built again over
#: the whole table, every community's events, and the rollups over the whole community: those
#: costs must stay within the import's own).
BULK_MIN_EVENTS = 50_000

#: Bytes of a Telegram Desktop export per event, about (the estimate only decides the mode).
BYTES_PER_EVENT = 400

#: SQLite page cache of a bulk load's connection, KiB: enough for the insertion points of the
#: unique key and the memberships, bounded so that memory stays the same however large the file.
BULK_CACHE_KIB = 8 * 1024


def _sqlite_file() -> str | None:
    """The SQLite database file of the default connection, or None (PostgreSQL, in memory)."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    return name


class BulkLock:
    """An exclusive ``flock`` on ``<database>.bulk-lock``: held by a bulk load while it runs.

    The kernel releases it when the process ends however it ends, so a lock that can be taken
    means no bulk load is under way. (An SQLite database is a local file: every process that
    writes to it runs on this machine and sees the same lock. The empty lock file stays.)
    """

    def __init__(self, path: str) -> None:
        self.path = path + ".bulk-lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the lock go (a no-op when it is not held)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def bulk_wanted(community, estimated_events: int, *, threshold: int = BULK_MIN_EVENTS) -> bool:
    """Whether an import of about ``estimated_events`` into ``community`` should load in bulk.

    Not when the event log holds more already (any community's: the indexes span them all).
    """
    if _sqlite_file() is None or estimated_events < threshold or connection.in_atomic_block:
        return False
    # The span of the log's ids is at least its row count, and is read off both ends of the
    # table's B-tree at once (a COUNT would walk millions of rows).
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) - MIN(id) + 1 FROM qunyun_event")
        held = cursor.fetchone()[0] or 0
    return estimated_events >= held


def indexes_missing(model: type[models.Model]) -> list[models.Index]:
    """The indexes ``model`` declares that its table lacks (by name; one catalogue query)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND schemaname = current_schema()",
                           [table])
        present = {name for (name,) in cursor.fetchall()}
    return [index for index in model._meta.indexes if index.name not in present]


def indexes_restore(model: type[models.Model] | None = None) -> list[str]:
    """Create the declared indexes ``model``'s table lacks (default: the event table); their names."""
    if model is None:
        from qunyun.communities.models import Event

        model = Event
    missing = indexes_missing(model)
    if missing:
        # The statements only: SQLite's schema editor refuses to run with foreign-key checks on.
        editor = connection.schema_editor()
        with transaction.atomic(), connection.cursor() as cursor:
            for index in missing:
                cursor.execute(str(index.create_sql(model, editor)))
        log.info("created %d missing index(es) of %s", len(missing), model._meta.db_table)
    return [index.name for index in missing]


def _indexes_drop() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for name in BULK_DROPPED:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def _rollups_rebuild(community) -> None:
    """The analytics rebuild of ``community``'s rollups, with memory bounded (SQLite).

    The rebuild gives its connection a page cache of gigabytes for its sorts, and the product's
    connections keep temporary tables in memory: both grow with the history. Here the sorts
    spill to temporary files beyond :data:`BULK_CACHE_KIB` instead (measured at 1M messages:
    the same CPU time, peak memory 430 → 110 MB), so that an import's memory stays flat.
    """
    from qunyun.analytics.rollups import rollups_rebuild  # (first: it imports .rebuild at its end)

    if connection.vendor != "sqlite":
        rollups_rebuild(community)
        return
    with _temp_files():
        rollups_rebuild(community, cache_kib=BULK_CACHE_KIB)


@contextmanager
def _temp_files() -> Iterator[None]:
    """SQLite's temporary tables and sorts in files (bounded memory) for the block."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA temp_store = FILE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA temp_store = {int(before)}")


def bulk_repair() -> list[str]:
    """Finish what a bulk load cut short: missing indexes and stale rollups; what was done.

    Called when a command starts. Does nothing while a bulk load holds the lock (it will finish
    itself), nor on a database without the marker table yet.
    """
    path = _sqlite_file()
    if path is None:
        return []
    from qunyun.communities.models import Community, Event

    from .models import BulkLoad

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (%s, %s)",
                       [BulkLoad._meta.db_table, Event._meta.db_table])
        if cursor.fetchone()[0] < 2:  # a database not migrated this far yet
            return []
    marked = list(BulkLoad.objects.values_list("community_id", flat=True))
    if not marked and not indexes_missing(Event):
        return []
    lock = BulkLock(path)
    if not lock.acquire():
        return []
    done: list[str] = []
    try:
        created = indexes_restore(Event)
        if created:
            done.append(f"event-log indexes created again: {', '.join(created)}")
        for community in Community.objects.filter(pk__in=marked):
            _memberships(community, 0)  # (the load's first id is not kept: the whole log, which merges the same)
            _rollups_rebuild(community)
            done.append(f"memberships and rollups of {community.slug} worked out again "
                        "(an earlier bulk import stopped before the end)")
        BulkLoad.objects.filter(community_id__in=marked).delete()
    finally:
        lock.release()
    for line in done:
        log.warning("bulk repair: %s", line)
    return done


@contextmanager
def bulk_load(store, *, finishing: Callable[[], None] | None = None) -> Iterator[bool]:
    """Load into ``store``'s community in bulk for the ``with`` block; yields False if it cannot.

    It cannot when another bulk load holds the lock (the import then takes the ordinary path).
    On leaving the block — normally, by an exception or Ctrl-C — the rollups are rebuilt, the
    indexes created and the marker removed; if that itself fails the marker stays and the next
    command's :func:`bulk_repair` finishes it. ``finishing`` is called as that work starts (a
    progress bar says so: at millions of events it takes a while).
    """
    from .models import BulkLoad

    path = _sqlite_file()
    lock = BulkLock(path) if path else None
    if lock is None or not lock.acquire():
        yield False
        return
    community = store.community
    cache = None
    # No foreign-key checks while loading: every id the store writes it has just resolved in
    # the same transaction, and the checks cost a parent lookup per key column and row (at 1M
    # messages: 8.7 → 7.3 CPU-s of inserting). A pragma, so it changes outside a transaction only.
    relaxed = connection.disable_constraint_checking()
    try:
        BulkLoad.objects.update_or_create(community=community,
                                          defaults={"pid": os.getpid(), "host": socket.gethostname()[:255]})
        _indexes_drop()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            cursor.execute("SELECT MAX(id) FROM qunyun_event")
            since = cursor.fetchone()[0] or 0  # the load's rows are those above
        store.rollups = False
        fold = store.membership_fold = MembershipFold()
        completed = False
        try:
            yield True
            completed = True
        finally:
            store.rollups, store.membership_fold = True, None
            if finishing is not None:
                finishing()
            # Stopped early, the fold may hold a batch that was rolled back: the log says what is stored.
            _finish(community, since, (fold, store._accounts, store._dt) if completed else None)
    finally:
        if cache is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        if relaxed:
            connection.enable_constraint_checking()
        lock.release()


def _finish(community, since: int, folded: tuple | None) -> None:
    """Indexes back, memberships written, rollups rebuilt, marker gone (in that order: the
    memberships from the log settle ties with an index, the rollups read the memberships, and
    the marker goes last). ``folded`` is the load's ``(fold, account cache, time format)`` when
    every batch it holds was stored; else the memberships of the log's rows above id ``since``
    are worked out from the log."""
    from .models import BulkLoad

    with _temp_files():
        indexes_restore()
    if folded is not None:
        fold, accounts, dt = folded
        with transaction.atomic():
            fold.write(accounts, dt)
    else:
        _memberships(community, since)
    _rollups_rebuild(community)
    BulkLoad.objects.filter(community=community).delete()


def _memberships(community, since: int) -> None:
    """The memberships of ``community``'s log rows above id ``since``, in one transaction."""
    with transaction.atomic():
        memberships_from_log(community.pk, since)

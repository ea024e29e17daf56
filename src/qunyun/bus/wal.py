"""SQLite writers of this process: one transaction at a time, in turn, and WAL checkpoints off the
live path.

:func:`write_transaction` queues this process's writers on a lock handed over in arrival order
(:class:`_FairLock`) instead of letting them meet SQLite's busy handler.

By default SQLite copies the WAL back into the database (a checkpoint, with an fsync) inside
whichever commit pushes the log past 1,000 pages: now and then one live batch's commit takes tens
of milliseconds longer than the others (measured at 500 events/s on a busy disk: commit p99 30 ms,
10 ms without). While :class:`WalCheckpointer` runs, the live path's connections
(:func:`quiet_checkpoints`) leave checkpoints to it; it runs a passive checkpoint, which never
blocks writers, every :data:`CHECKPOINT_EVERY_SECONDS`. Other connections keep SQLite's default.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections, transaction

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_SECONDS = 1.0
#: Once the WAL holds this many frames, the checkpointer completes a checkpoint in the writers'
#: turn so that the next commit starts the log again from its beginning (0: never). See
#: :class:`WalCheckpointer`.
RESTART_AFTER_FRAMES = 32768

#: Before it takes the writers' turn, the checkpointer has the operating system write the
#: database file's and the log's pages to the disk (``fsync``), so that the syncs of the
#: completing checkpoint, in the turn, find little left to write (see :class:`WalCheckpointer`).
#: Switch for measurements (``bench/runtime --wal-presync ab``).
SYNC_BEFORE_TURN = True

_running = [0]  # checkpointers running in this process
_running_lock = threading.Lock()


def quiet_checkpoints() -> None:
    """Leave checkpoints of this thread's SQLite connection to the checkpointer, if one runs."""
    if not _running[0] or connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_qunyun_quiet", None) is not raw:  # a new connection since the last time
        raw.execute("PRAGMA wal_autocheckpoint=0")
        connection._qunyun_quiet = raw


class WalCheckpointer(threading.Thread):
    """Checkpoints the SQLite WAL in the background (passive: writers are never blocked), and
    has the log start again from its beginning once it holds :data:`RESTART_AFTER_FRAMES`.

    SQLite writes a commit's pages at the end of the log and goes back to its beginning only when
    a writer starts after a checkpoint that copied every frame. Under steady live traffic a passive
    checkpoint never finishes before the next commit adds frames, so the log only grew: 690 MB in
    20 s at 500 events/s (``bench/runtime``, session 6), and every commit appended to new pages of
    the file, which the kernel allocates and zeroes first (a fifth of the live writer's time in a
    profile). So once the log is long, a second passive checkpoint runs in the writers' turn (no
    writer of this process commits meanwhile): it copies the frames written since the first one
    (~150 at 500 events/s) and syncs, and the next commit starts the log again (SQLite does so
    when no reader still needs the old frames; otherwise on a later tick). The log file keeps its
    size (~128 MB at most with the default) and its pages stay cached.

    A passive checkpoint that does not reach the end of the log leaves the database file unsynced:
    only a complete one syncs it, and that sync writes every page copied since the last complete
    one (up to the whole log's worth). Done in the turn, it held the live writer 17-29 ms on a
    machine with another benchmark's disk traffic. So the checkpointer first syncs both files
    itself, outside the turn (:data:`SYNC_BEFORE_TURN`); an extra sync only makes more of the data
    durable sooner.
    """

    def __init__(self, *, every: float = CHECKPOINT_EVERY_SECONDS) -> None:
        super().__init__(name="qunyun-wal", daemon=True)
        self.every = every
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:  # pragma: no cover - exercised through the live path tests
        if connection.vendor != "sqlite":
            return
        with _running_lock:
            _running[0] += 1
        try:
            while not self._stopping.wait(self.every):
                try:
                    self.checkpoint()
                except Exception:  # a failed checkpoint is retried on the next tick
                    log.exception("WAL checkpoint failed")
        finally:
            with _running_lock:
                _running[0] -= 1
            connections.close_all()

    @staticmethod
    def checkpoint() -> tuple[int, int]:
        """One tick: a passive checkpoint, completed in the writers' turn when the log is long.
        Returns the log's frames and those copied, as SQLite reports them after the tick."""
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _busy, frames, copied = cursor.fetchone()
            if RESTART_AFTER_FRAMES and frames >= RESTART_AFTER_FRAMES:
                if SYNC_BEFORE_TURN:
                    _sync_files(connection.settings_dict["NAME"])
                _WRITERS.wait_free(0.02)  # taken when the live writer has just let it go, if it can be
                with _WRITERS:  # passive still: it never waits for a reader (~10 ms here, the fsyncs)
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    _busy, frames, copied = cursor.fetchone()
        return frames, copied


def _sync_files(database: str) -> None:
    """``fsync`` the SQLite database file and its log (another descriptor of a file syncs its pages all the same)."""
    for path in (str(database), f"{database}-wal"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # an in-memory database, or no log now: nothing to sync
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _FairLock:
    """A reentrant lock handed to waiting threads in arrival order.

    ``threading.RLock`` lets the thread that releases it take it again at once: the ingest writer,
    going from one transaction to the next, kept the outbox worker waiting for many of them (the
    worker's claims and finishes waited up to hundreds of milliseconds at 500 events/s). Here the
    releasing owner passes the lock straight to the longest waiter.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiters: deque[tuple[int, threading.Lock]] = deque()
        self._free = threading.Condition(self._mutex)  # notified when nobody holds it (see wait_free)

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append((me, gate))
        gate.acquire()  # released by the owner that made this thread the owner

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if self._waiters:
                self._owner, gate = self._waiters.popleft()
                self._depth = 1
                gate.release()
            else:
                self._owner = None
                self._free.notify_all()

    def wait_free(self, timeout: float) -> bool:
        """Wait until nobody holds the lock, at most ``timeout`` seconds; whether it is free.
        Takes nothing: a thread may find it taken again at once."""
        with self._mutex:
            return self._free.wait_for(lambda: self._owner is None, timeout)

    def __enter__(self) -> "_FairLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


_WRITERS = _FairLock()


def writers_wait_free(timeout: float) -> bool:
    """Wait until no writer of this process holds the SQLite writers' turn (at most ``timeout``
    seconds; True when free). For background work that yields to the writers: the turn is held
    for a whole transaction, the live writer's handlers and store included, so a free turn means
    the live writer is gathering or idle."""
    return _WRITERS.wait_free(timeout)


def writers_waiting() -> bool:
    """Whether a thread of this process waits for the SQLite writers' turn now (for a holder that
    can let it go early: the deferred rollups between two parts)."""
    return bool(_WRITERS._waiters)


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that writes; on SQLite it first waits its turn among this process's writers.

    SQLite has one write lock per database file. A writer that finds it taken sleeps in SQLite's
    busy handler in steps of 1, 2, 5, 10 … 100 ms, and that sleep was most of the delay when the
    ingest writer and the outbox worker met. Queueing on a lock here instead hands the turn over
    as soon as the previous transaction ends. PostgreSQL locks rows, not the database: no queue.
    """
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    quiet_checkpoints()
    with _WRITERS, transaction.atomic():
        yield

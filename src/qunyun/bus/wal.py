"""SQLite write-ahead-log checkpoints off the live path.

By default SQLite copies the WAL back into the database (a checkpoint, with an fsync) inside
whichever commit pushes the log past 1,000 pages: now and then one live batch's commit takes tens
of milliseconds longer than the others (measured at 500 events/s on a busy disk: commit p99 30 ms,
10 ms without). While :class:`WalCheckpointer` runs, the live path's connections
(:func:`quiet_checkpoints`) leave checkpoints to it; it runs a passive checkpoint, which never
blocks writers, every :data:`CHECKPOINT_EVERY_SECONDS`. Other connections keep SQLite's default.
"""

from __future__ import annotations

import logging
import threading

from django.db import connection, connections

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_SECONDS = 1.0

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
    """Checkpoints the SQLite WAL in the background (passive: writers are never blocked)."""

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
                    with connection.cursor() as cursor:
                        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except Exception:  # a failed checkpoint is retried on the next tick
                    log.exception("WAL checkpoint failed")
        finally:
            with _running_lock:
                _running[0] -= 1
            connections.close_all()

"""The outbox worker thread: sleeps until a decision is due or the runtime rings the bell."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, connections

from qunyun.core.timeutil import utcnow

from .outbox import outbox_next_due, outbox_recover, outbox_run_due
from .registry import adapter_get
from .wal import WalCheckpointer

log = logging.getLogger(__name__)

#: The worker's database connection is recycled before a pause at least this long …
IDLE_RECYCLE_SECONDS = 1.0
#: … and at least this often while busy.
RECYCLE_EVERY_SECONDS = 60.0


class OutboxWorker(threading.Thread):
    """Runs :func:`outbox_run_due` whenever something may be due.

    :meth:`wake` is the doorbell the runtime rings after a commit that wrote decisions; without
    it the worker still wakes at the next due time, or every ``idle_seconds``.
    """

    def __init__(self, *, idle_seconds: float = 5.0, adapters=adapter_get) -> None:
        super().__init__(name="qunyun-outbox", daemon=True)
        self._bell = threading.Event()
        self._stopping = threading.Event()
        self.idle_seconds = idle_seconds
        self.adapters = adapters

    def wake(self) -> None:
        self._bell.set()

    def stop(self) -> None:
        self._stopping.set()
        self._bell.set()

    def run(self) -> None:  # pragma: no cover - exercised by the serve and e2e tests
        checkpointer = WalCheckpointer()  # SQLite only: the live path's commits skip checkpoints
        checkpointer.start()
        try:
            self._loop()
        finally:
            checkpointer.stop()
            connections.close_all()  # a stopped worker leaves no connection behind

    def _loop(self) -> None:
        outbox_recover()
        recycled = time.monotonic()
        while not self._stopping.is_set():
            self._bell.clear()
            # Django closes SQLite connections at every check (CONN_MAX_AGE 0) and opening one costs
            # more than a whole pass (~1.3 ms of CPU), so the connection is kept while work keeps
            # coming and recycled only before a real pause or once a minute.
            if time.monotonic() - recycled >= RECYCLE_EVERY_SECONDS:
                close_old_connections()
                recycled = time.monotonic()
            try:
                report = outbox_run_due(adapters=self.adapters)
                if report.total:  # at info only what needs a look: a busy bot passes hundreds of times a second
                    level = logging.INFO if report.retried or report.failed else logging.DEBUG
                    log.log(level, "outbox: %d done, %d retried, %d failed", report.done, report.retried, report.failed)
                    continue
                next_due = outbox_next_due()
            except Exception:
                log.exception("outbox worker pass failed")
                next_due = None
                close_old_connections()  # a broken connection is replaced before the next pass
            wait = self.idle_seconds
            if next_due is not None:
                wait = max(0.0, min(wait, (next_due - utcnow()) / timedelta(seconds=1)))
            if wait >= IDLE_RECYCLE_SECONDS:
                close_old_connections()
                recycled = time.monotonic()
            self._bell.wait(wait)

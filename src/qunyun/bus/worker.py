"""The outbox worker thread: sleeps until a decision is due or the runtime rings the bell."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.db import close_old_connections

from qunyun.core.timeutil import utcnow

from .outbox import outbox_next_due, outbox_recover, outbox_run_due
from .registry import adapter_get

log = logging.getLogger(__name__)


class OutboxWorker(threading.Thread):
    """Runs :func:`outbox_run_due` whenever something may be due.

    :meth:`wake` is the doorbell the runtime rings after a commit that wrote decisions; without
    it the worker still wakes at the next due time, or every ``idle_seconds``.
    """

    def __init__(self, *, idle_seconds: float = 5.0, adapters=adapter_get) -> None:
        super().__init__(name="qunyun-outbox", daemon=True)
        self._bell = threading.Event()
        self._stop = threading.Event()
        self.idle_seconds = idle_seconds
        self.adapters = adapters

    def wake(self) -> None:
        self._bell.set()

    def stop(self) -> None:
        self._stop.set()
        self._bell.set()

    def run(self) -> None:  # pragma: no cover - exercised by the serve and e2e tests
        outbox_recover()
        while not self._stop.is_set():
            self._bell.clear()
            try:
                report = outbox_run_due(adapters=self.adapters)
                if report.total:
                    log.info("outbox: %d done, %d retried, %d failed", report.done, report.retried, report.failed)
                    continue
                next_due = outbox_next_due()
            except Exception:
                log.exception("outbox worker pass failed")
                next_due = None
            finally:
                close_old_connections()
            wait = self.idle_seconds
            if next_due is not None:
                wait = max(0.0, min(wait, (next_due - utcnow()) / timedelta(seconds=1)))
            self._bell.wait(wait)

"""The outbox worker thread: sleeps until a decision is due, the runtime rings the bell or hands
decisions over in memory (:class:`~.outbox.HandOff`)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, connections

from qunyun.core.timeutil import utcnow

from .outbox import (
    FINISH_EVERY_SECONDS, HandOff, _Finished, outbox_execute_handed, outbox_finish, outbox_next_due, outbox_recover,
    outbox_run_due,
)
from . import deferred
from .deferred import KIND as ROLLUPS
from .deferred import deferred_rollups_apply
from .registry import adapter_get
from .wal import WalCheckpointer

log = logging.getLogger(__name__)

#: The worker's database connection is recycled before a pause at least this long …
IDLE_RECYCLE_SECONDS = 1.0
#: … and at least this often while busy.
RECYCLE_EVERY_SECONDS = 60.0
#: Claims of dead workers and hand-offs of dead processes are looked for this often (and at start).
RECOVER_EVERY_SECONDS = 30.0


class OutboxWorker(threading.Thread):
    """Runs :func:`outbox_run_due` whenever something may be due.

    :meth:`wake` is the doorbell the runtime rings after a commit that wrote decisions; without
    it the worker still wakes at the next due time, or every ``idle_seconds``. A runtime whose
    ``wake`` is this worker's passes the decisions due at once through :attr:`handoff` instead:
    they are executed without being claimed from the table, and marked done together at most
    :data:`~.outbox.FINISH_EVERY_SECONDS` later.
    """

    def __init__(self, *, idle_seconds: float = 5.0, adapters=adapter_get) -> None:
        super().__init__(name="qunyun-outbox", daemon=True)
        self._bell = threading.Event()
        self._stopping = threading.Event()
        self._pass_due = True  # a pass over the table is wanted (rung, or time)
        self.idle_seconds = idle_seconds
        self.adapters = adapters
        self.handoff = HandOff(wake=self._bell.set)
        self._finished = _Finished()
        self._rollups: dict[int, float] = {}  # communities with rollups waiting (see .deferred), since when

    def wake(self) -> None:
        self._pass_due = True
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
        recycled = recovered = time.monotonic()
        outbox_recover(keep=self.handoff.token)
        self.handoff.active = True
        next_due = None
        while not self._stopping.is_set():
            self._bell.clear()
            # Django closes SQLite connections at every check (CONN_MAX_AGE 0) and opening one costs
            # more than a whole pass (~1.3 ms of CPU), so the connection is kept while work keeps
            # coming and recycled only before a real pause or once a minute.
            if time.monotonic() - recycled >= RECYCLE_EVERY_SECONDS:
                self._finish()
                close_old_connections()
                recycled = time.monotonic()
            try:
                if time.monotonic() - recovered >= RECOVER_EVERY_SECONDS:
                    recovered = time.monotonic()
                    if outbox_recover(keep=self.handoff.token):
                        self._pass_due = True
                handed = self._take_handed()
                if handed:
                    report = outbox_execute_handed(handed, handoff=self.handoff, adapters=self.adapters,
                                                   finished=self._finished)
                    self._log(report)
                    if report.retried or report.internal:  # retries wait in the table; executors may enqueue
                        self._pass_due = True
                self._apply_rollups(due_only=True)
                if self._finished.due():
                    self._finish()
                if handed:
                    continue
                if self._pass_due or (next_due is not None and next_due <= utcnow()):
                    self._pass_due = False
                    self._finish()
                    report = outbox_run_due(adapters=self.adapters)
                    if report.total:
                        self._log(report)
                        self._pass_due = True
                        continue
                    next_due = outbox_next_due()
            except Exception:
                log.exception("outbox worker pass failed")
                self._pass_due, next_due = True, None
                close_old_connections()  # a broken connection is replaced before the next pass
            wait, poll = self.idle_seconds, True
            if next_due is not None:
                wait = max(0.0, min(wait, (next_due - utcnow()) / timedelta(seconds=1)))
            # Soon, several at a time: marking executed hand-offs done, applying the rollups held.
            timers = [since + deferred.ROLLUP_EVERY_SECONDS for since in self._rollups.values()]
            if self._finished.rows:
                timers.append(self._finished.since + FINISH_EVERY_SECONDS)
            if timers and min(timers) - time.monotonic() < wait:
                wait, poll = max(0.0, min(timers) - time.monotonic()), False
            if wait >= IDLE_RECYCLE_SECONDS:
                close_old_connections()
                recycled = time.monotonic()
            if not self._bell.wait(wait) and poll:
                self._pass_due = True  # the next due time, or the idle poll
        self.handoff.active = False  # what was handed over until now is carried out before leaving
        try:
            handed = self._take_handed()
            if handed:
                outbox_execute_handed(handed, handoff=self.handoff, adapters=self.adapters, finished=self._finished)
        except Exception:
            log.exception("outbox worker could not carry out its last hand-offs (taken back after the lease)")
        self._apply_rollups()
        self._finish()

    def _take_handed(self) -> list:
        """The hand-offs to execute now; a rollup among them only notes that its community has
        rollups waiting, applied all together a moment later (see :mod:`.deferred`)."""
        handed = []
        for item, decision in self.handoff.take():
            if decision.kind == ROLLUPS:
                self._rollups.setdefault(item.community_id, time.monotonic())
            else:
                handed.append((item, decision))
        return handed

    def _apply_rollups(self, *, due_only: bool = False) -> None:
        """Apply the waiting rollups of the communities noted (those waiting long enough, with
        ``due_only``); on failure their rows stay and are taken back after the lease."""
        now = time.monotonic()
        for community_id, since in list(self._rollups.items()):
            if due_only and now - since < deferred.ROLLUP_EVERY_SECONDS:
                continue
            del self._rollups[community_id]
            try:
                deferred_rollups_apply(community_id)
            except Exception:
                log.exception("outbox worker could not apply the waiting rollups of community %s", community_id)
                close_old_connections()

    def _finish(self) -> None:
        """Mark the executed hand-offs done (one statement)."""
        try:
            outbox_finish(self._finished)
        except Exception:
            log.exception("outbox worker could not mark executed decisions")
            self._finished.rows, self._finished.after = [], []  # their claims lapse: re-executed after the lease
            close_old_connections()

    @staticmethod
    def _log(report) -> None:
        # at info only what needs a look: a busy bot passes hundreds of times a second
        level = logging.INFO if report.retried or report.failed else logging.DEBUG
        log.log(level, "outbox: %d done, %d retried, %d failed", report.done, report.retried, report.failed)

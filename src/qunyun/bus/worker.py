"""The outbox worker thread: sleeps until a decision is due, the runtime rings the bell or hands
decisions over in memory (:class:`~.outbox.HandOff`); beside it, the thread that applies the
deferred rollups (:class:`RollupApplier`)."""

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
from .deferred import deferred_parts_finish, deferred_rollups_apply
from .registry import adapter_get
from .wal import WalCheckpointer

log = logging.getLogger(__name__)

#: The worker's database connection is recycled before a pause at least this long …
IDLE_RECYCLE_SECONDS = 1.0
#: … and at least this often while busy.
RECYCLE_EVERY_SECONDS = 60.0
#: Claims of dead workers and hand-offs of dead processes are looked for this often (and at start).
RECOVER_EVERY_SECONDS = 30.0


class RollupApplier(threading.Thread):
    """Applies the live writer's deferred rollups (:mod:`.deferred`), a community's all together
    once the oldest has waited :data:`~.deferred.ROLLUP_EVERY_SECONDS`.

    A thread of its own, not the outbox worker's turn: an application reads for 15–25 ms (500
    events/s, ``bench/runtime``), and a welcome or a deletion handed to the worker meanwhile
    waited for it (the worker's part of a decision's latency: p99 38 ms, of which the rollups
    were most). On failure the rows stay in the table and are taken back after the lease.
    """

    def __init__(self) -> None:
        super().__init__(name="qunyun-rollups", daemon=True)
        self._waiting: dict[int, float] = {}  # community → since when
        self._lock = threading.Lock()
        self._bell = threading.Event()
        self._stopping = threading.Event()

    def note(self, community_id: int) -> None:
        """The community has rollups waiting (from a hand-off)."""
        with self._lock:
            if community_id not in self._waiting:
                self._waiting[community_id] = time.monotonic()
                self._bell.set()

    def stop(self) -> None:
        """Apply what waits, then end (returns at once; ``join`` to wait)."""
        self._stopping.set()
        self._bell.set()

    def run(self) -> None:  # pragma: no cover - exercised by the serve and e2e tests
        try:
            try:
                deferred_parts_finish()  # what a crash left half written, before the rollups lag further
            except Exception:
                log.exception("could not write the rollup parts left unwritten (written at the next application)")
                close_old_connections()
            while not self._stopping.is_set():
                self._bell.clear()
                wait = self.apply(due_only=True)
                if wait is None or wait >= IDLE_RECYCLE_SECONDS:
                    close_old_connections()  # nothing soon: no connection held while idle (as the worker)
                self._bell.wait(wait)
            self.apply()
        finally:
            connections.close_all()

    def apply(self, *, due_only: bool = False) -> float | None:
        """Apply the communities' waiting rollups (only those due, with ``due_only``); returns the
        seconds until the next is due, or None when nothing waits."""
        now = time.monotonic()
        with self._lock:
            due = [c for c, since in self._waiting.items()
                   if not due_only or now - since >= deferred.ROLLUP_EVERY_SECONDS]
            for community_id in due:
                del self._waiting[community_id]
            later = [since + deferred.ROLLUP_EVERY_SECONDS - now for since in self._waiting.values()]
        for community_id in due:
            try:
                deferred_rollups_apply(community_id)
            except Exception:
                log.exception("could not apply the waiting rollups of community %s", community_id)
                close_old_connections()
        return max(0.0, min(later)) if later else None


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
        self.rollups = RollupApplier()  # applies the rollups the hand-offs announce (see .deferred)

    def wake(self) -> None:
        self._pass_due = True
        self._bell.set()

    def stop(self) -> None:
        self._stopping.set()
        self._bell.set()

    def run(self) -> None:  # pragma: no cover - exercised by the serve and e2e tests
        checkpointer = WalCheckpointer()  # SQLite only: the live path's commits skip checkpoints
        checkpointer.start()
        self.rollups.start()
        try:
            self._loop()
        finally:
            self.rollups.stop()
            self.rollups.join()
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
            # Soon, several at a time: marking executed hand-offs done.
            timers = [self._finished.since + FINISH_EVERY_SECONDS] if self._finished.rows else []
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
        self._finish()

    def _take_handed(self) -> list:
        """The hand-offs to execute now; a rollup among them only tells :attr:`rollups` that its
        community has rollups waiting, applied all together a moment later (see :mod:`.deferred`)."""
        handed = []
        for item, decision in self.handoff.take():
            if decision.kind == ROLLUPS:
                self.rollups.note(item.community_id)
            else:
                handed.append((item, decision))
        return handed

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

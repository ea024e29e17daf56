"""The live server's memory and thread-switch policy: short collector pauses, quick hand-offs.

A process that writes live events keeps a large heap that never dies (Django, the handler
table, moderation's lexicons and model, the stores' caches of members and groups) and makes
many short-lived objects per event. CPython's cyclic collector walks every tracked object of
the oldest generation in a full pass, with the GIL held: on a quiet core those passes took
44-155 ms in ``bench/runtime`` and were the live path's latency tail. The policy
(:class:`HeapPolicy`, started by the first live writer, ticked by the writers between
transactions):

* **freeze at start** — collect once, then :func:`gc.freeze`: what the process built so far
  leaves the full passes;
* **re-freeze** between two transactions once the collector's young passes have moved
  :data:`REFREEZE_AFTER_PASSES` batches of survivors to the old generation (or after
  :data:`REFREEZE_EVERY_SECONDS`, whichever comes first) — a full collection, which walks only
  what is not frozen (those survivors: thousands of objects, whatever the event rate and however
  large the heap; ~10 ms of CPU on average on a loaded 2-core machine, backlogged), then a
  freeze of what is still alive. The full passes the collector starts by
  itself stay on and stay short: they too walk only what is not frozen;
* **sweep** every :data:`SWEEP_EVERY_SECONDS` — frozen objects are still freed by reference
  counting when nothing refers to them, but a frozen *cycle* that dies is only found by a pass
  over the frozen heap: unfreeze, collect, freeze again. This is the one long pause left (the
  whole heap, 0.1-0.3 s of CPU in ``bench/runtime``), once an hour, taken between two
  transactions;
* **switch interval** — a thread waiting for the GIL while another computes waits up to
  :func:`sys.getswitchinterval` (5 ms by default) each time it wants it back. The writer gives
  the GIL up at every SQLite call, so with the outbox worker computing it can wait up to 5 ms a
  statement (``bench/runtime/gil.py``: p99 of a writer-like transaction 41.7 ms at 5 ms, 33.7 ms
  at 1 ms, loaded machine). :data:`SWITCH_INTERVAL_SECONDS` is the live server's value.

Measured in ``bench/runtime`` (``--heap-policy off`` turns it off for a same-run comparison);
design and figures in ``docs/runtime.md``.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time

log = logging.getLogger(__name__)

#: A re-freeze (a full pass over the unfrozen heap, then a freeze) is due once the collector's
#: middle-generation passes since the last one reach this many: each moves at most a few thousand
#: survivors to the old generation, so the pass stays short at any event rate (in
#: ``bench/runtime``, loaded machine: 12,000-17,000 unfrozen objects took 5-7 ms of CPU).
REFREEZE_AFTER_PASSES = 1
#: … and at the latest after this many seconds of live writing.
REFREEZE_EVERY_SECONDS = 0.5
#: Seconds between two sweeps of the frozen heap (its dead cycles freed; one long pause each). In
#: ``bench/runtime`` the re-freezes left 23-419 dead objects in the frozen heap over 50,000-70,000
#: events: at that rate an hour at 500 events/s leaves some ten thousand objects for the sweep.
SWEEP_EVERY_SECONDS = 3600.0
#: The live server's GIL switch interval (CPython's default is 0.005).
SWITCH_INTERVAL_SECONDS = 0.001


class HeapPolicy:
    """The process's collector policy for live writing (one per process: :data:`POLICY`).

    ``refreeze_every`` 0 turns the re-freezes off, ``sweep_every`` 0 the sweeps, and
    ``switch_interval`` None leaves the interpreter's switch interval alone (the bench's
    "off" side). ``clock`` is for tests.
    """

    def __init__(self, *, refreeze_every: float = REFREEZE_EVERY_SECONDS, sweep_every: float = SWEEP_EVERY_SECONDS,
                 switch_interval: float | None = SWITCH_INTERVAL_SECONDS, clock=time.monotonic) -> None:
        self.refreeze_every = refreeze_every
        self.sweep_every = sweep_every
        self.switch_interval = switch_interval
        self.clock = clock
        self.started = False
        self.refrozen = self.swept = 0.0  # when last (clock)
        self.refreezes = self.sweeps = 0
        self.swept_objects = 0  # dead frozen cycles the sweeps freed, in all
        self.refreeze_cpu = self.refreeze_cpu_max = 0.0  # CPU seconds of the re-freezes: in all, the longest
        self._lock = threading.Lock()

    def start(self) -> None:
        """Collect what is garbage now, freeze the rest, set the switch interval (once; later calls do nothing)."""
        with self._lock:
            if self.started:
                return
            self.started = True
            gc.collect()  # garbage waiting now would be frozen, never freed
            gc.freeze()
            self.refrozen = self.swept = self.clock()
            if self.switch_interval:
                sys.setswitchinterval(self.switch_interval)

    def tick(self) -> None:
        """Between two transactions: re-freeze or sweep when one is due (cheap otherwise)."""
        if not self.started or not self.refreeze_every:
            return
        now = self.clock()
        # gc.get_count()[2]: middle-generation passes since the last full one (CPython 3.11-3.13)
        if (now - self.refrozen < self.refreeze_every and gc.get_count()[2] < REFREEZE_AFTER_PASSES) \
                or not self._lock.acquire(blocking=False):  # not due, or another writer is doing it
            return
        try:
            if self.sweep_every and now - self.swept >= self.sweep_every:
                self.sweep()
            else:
                cpu = time.thread_time()  # the collector holds the GIL: the thread's CPU is the pause
                gc.collect()  # walks only what is not frozen
                gc.freeze()
                cpu = time.thread_time() - cpu
                self.refreezes += 1
                self.refreeze_cpu += cpu
                self.refreeze_cpu_max = max(self.refreeze_cpu_max, cpu)
            self.refrozen = self.clock()
        finally:
            self._lock.release()

    def sweep(self) -> int:
        """Free the frozen heap's dead cycles (one full pass over everything); how many objects were freed."""
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        self.sweeps += 1
        self.swept_objects += freed
        self.swept = self.refrozen = self.clock()
        if freed:
            log.debug("heap sweep freed %d objects", freed)
        return freed


#: The process's policy, started by the first live writer (:func:`qunyun.connections.ingest`).
POLICY = HeapPolicy()

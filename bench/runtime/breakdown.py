"""``bench/runtime/run.py``'s tracing of a latency run (``--breakdown``, ``--gc-log``): where each
platform decision's time went (queued, the writer's transaction, the worker), the waits for
SQLite's writers' turn and how long each thread held it, the deferred rollups' applications,
every collection of the cyclic collector, and each thread's share of the CPU."""

from __future__ import annotations

import os
import time

BREAKDOWN = False
GC_LOG = False


class GcLog:
    """With ``--gc-log``: every collection's duration (wall) by generation, during a latency run."""

    def __init__(self) -> None:
        self.spans: dict[int, list[float]] = {0: [], 1: [], 2: []}  # wall ms
        self.cpu: dict[int, list[float]] = {0: [], 1: [], 2: []}  # CPU ms of the collecting thread (it holds the GIL)
        self._start = self._cpu = 0.0

    def __enter__(self) -> "GcLog":
        import gc

        if GC_LOG:
            gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc) -> None:
        import gc

        if self._note in gc.callbacks:
            gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start, self._cpu = time.perf_counter(), time.thread_time()
        else:
            self.spans[info["generation"]].append((time.perf_counter() - self._start) * 1000)
            self.cpu[info["generation"]].append((time.thread_time() - self._cpu) * 1000)

    def report(self) -> None:
        if not GC_LOG:
            return
        from qunyun.connections.heap import POLICY

        parts = []
        for generation, spans in self.spans.items():
            spans.sort()
            cpu = sorted(self.cpu[generation])
            parts.append(f"gen{generation} {len(spans)} (p50 {pct(spans, 0.5):.2f} ms, max {pct(spans, 1):.1f} ms, "
                         f"{sum(1 for s in spans if s >= 2)} over 2 ms, {sum(spans):.0f} ms in all; "
                         f"CPU p50 {pct(cpu, 0.5):.2f} max {pct(cpu, 1):.1f} ms)")
        mean = POLICY.refreeze_cpu / max(POLICY.refreezes, 1) * 1000
        print(f"    collections: {'; '.join(parts)}; policy so far: {POLICY.refreezes} re-freezes (CPU mean {mean:.1f} ms, "
              f"max {POLICY.refreeze_cpu_max * 1000:.1f} ms), {POLICY.sweeps} sweeps, "
              f"frozen {__import__('gc').get_freeze_count()}", flush=True)


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by thread name (Linux /proc)."""
    import threading

    ticks = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid, name in names.items():
        try:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def print_threads(before: dict[str, float], span: float, what: str) -> None:
    after = thread_cpu()
    shares = {name: (after[name] - before.get(name, 0.0)) / span for name in after}
    print(f"    CPU by thread ({what}): " + ", ".join(
        f"{name} {share:.0%}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]) if share >= 0.005),
        flush=True)


WRITER_CPU: list[tuple[float, float]] = []  # with --breakdown: (thread CPU, wall) of each transaction, ms


LOCK_WAITS: dict[str, list[float]] = {}  # with --breakdown: waits for the SQLite writers' turn, ms, by thread
LOCK_HOLDS: dict[str, list[float]] = {}  # with --breakdown: how long each thread held the turn, ms
LOCK_HOLDS_CPU: dict[str, list[float]] = {}  # with --breakdown: the holding thread's CPU meanwhile, ms
ROLLUPS: list[tuple[float, float]] = []  # with --breakdown: the worker's deferred rollups, (thread CPU, wall) ms


def _note_lock_waits_and_rollups() -> None:
    """Time every wait for the SQLite writers' turn (``bus.wal``) and every application of the
    deferred rollups by the worker (which holds that turn meanwhile)."""
    import threading

    from qunyun.bus import wal, worker

    LOCK_WAITS.clear()
    LOCK_HOLDS.clear()
    LOCK_HOLDS_CPU.clear()
    ROLLUPS.clear()
    lock = wal._WRITERS
    if not hasattr(lock, "_bench_acquire"):
        lock._bench_acquire, lock._bench_release = lock.acquire, lock.release
        taken_at: dict[int, float] = {}

        def acquire():
            start = time.perf_counter()
            lock._bench_acquire()
            if lock._depth == 1:  # (reentrant: only the outermost hold counts)
                taken_at[threading.get_ident()] = (time.perf_counter(), time.thread_time())
            LOCK_WAITS.setdefault(threading.current_thread().name.rstrip("0123456789-"), []).append(
                (time.perf_counter() - start) * 1000)

        def release():
            if lock._depth == 1 and threading.get_ident() in taken_at:
                wall, cpu = taken_at.pop(threading.get_ident())
                name = threading.current_thread().name.rstrip("0123456789-")
                LOCK_HOLDS.setdefault(name, []).append((time.perf_counter() - wall) * 1000)
                LOCK_HOLDS_CPU.setdefault(name, []).append((time.thread_time() - cpu) * 1000)
            lock._bench_release()
        lock.acquire, lock.release = acquire, release
    if not hasattr(worker, "_bench_rollups"):
        worker._bench_rollups = worker.deferred_rollups_apply

        def rollups(community_id):
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return worker._bench_rollups(community_id)
            finally:
                ROLLUPS.append(((time.thread_time() - cpu) * 1000, (time.perf_counter() - start) * 1000))
        worker.deferred_rollups_apply = rollups


def writes_noted() -> dict[str, tuple[float, float, int]]:
    """With ``--breakdown``: when the writer took each event and when its transaction ended (and its size)."""
    from qunyun.connections import ingest

    noted: dict[str, tuple[float, float, int]] = {}
    WRITER_CPU.clear()
    if not BREAKDOWN:
        return noted
    _note_lock_waits_and_rollups()
    write = getattr(ingest._Writer._write, "__wrapped__", ingest._Writer._write)

    def noting(self, taken):
        start, cpu = time.perf_counter(), time.thread_time()
        try:
            return write(self, taken)
        finally:
            end = time.perf_counter()
            size = sum(len(events) for events, *_rest in taken)
            WRITER_CPU.append(((time.thread_time() - cpu) * 1000, (end - start) * 1000))
            for events, *_rest in taken:
                for event in events:
                    noted[event.key] = (start, end, size)

    noting.__wrapped__ = write
    ingest._Writer._write = noting
    return noted


def report(received, written, fake, rows) -> None:
    """Where the time of each platform decision went: queued before the writer took it, the writer's
    transaction, then the outbox worker until the fake adapter ran it."""
    queued, txn, worker, sizes = [], [], [], []
    for pk, event_key, *_rest in rows.values_list("pk", "event__key", "status", "executed_at", "created_at", "due_at"):
        done = fake.executed.get(f"qunyun-{pk}")
        if event_key not in received or event_key not in written or done is None:
            continue
        due, _wall = received[event_key]
        start, end, size = written[event_key]
        queued.append((start - due) * 1000)
        txn.append((end - start) * 1000)
        worker.append((done - end) * 1000)
    sizes = sorted(size for _s, _e, size in written.values())
    for name, values in (("queued", queued), ("transaction", txn), ("worker", worker)):
        values.sort()
        print(f"    {name:12s} p50 {pct(values, 0.5):7.1f} ms  p90 {pct(values, 0.9):7.1f}  p99 {pct(values, 0.99):7.1f}  "
              f"max {pct(values, 1):7.1f}", flush=True)
    batches = len({(s, e) for s, e, _n in written.values()})
    for name, waits in sorted(LOCK_WAITS.items()):
        waits.sort()
        print(f"    waits for the writers' turn, {name}: {len(waits)}, p50 {pct(waits, 0.5):.2f} ms, "
              f"p99 {pct(waits, 0.99):.1f} ms, max {pct(waits, 1):.1f} ms, {sum(waits):.0f} ms in all", flush=True)
    for name, holds in sorted(LOCK_HOLDS.items()):
        holds.sort()
        cpu = sorted(LOCK_HOLDS_CPU.get(name, []))
        print(f"    turn held by {name}: {len(holds)}, p50 {pct(holds, 0.5):.2f} ms, p99 {pct(holds, 0.99):.1f} ms, "
              f"max {pct(holds, 1):.1f} ms, {sum(holds):.0f} ms in all (its CPU meanwhile p50 {pct(cpu, 0.5):.2f} ms, "
              f"p99 {pct(cpu, 0.99):.1f} ms)", flush=True)
    cpu, wall = sorted(c for c, _w in ROLLUPS), sorted(w for _c, w in ROLLUPS)
    print(f"    deferred rollups: {len(ROLLUPS)} applications, thread CPU p50 {pct(cpu, 0.5):.1f} ms max "
          f"{pct(cpu, 1):.1f} ms, wall p50 {pct(wall, 0.5):.1f} ms max {pct(wall, 1):.1f} ms", flush=True)
    cpu, wall = sorted(c for c, _w in WRITER_CPU), sorted(w for _c, w in WRITER_CPU)
    print(f"    writer's transactions: thread CPU p50 {pct(cpu, 0.5):.2f} ms, wall p50 {pct(wall, 0.5):.2f} ms; "
          f"in all {sum(cpu):.0f} ms CPU in {sum(wall):.0f} ms wall", flush=True)
    print(f"    writer: {batches} transactions, events per transaction p50 {pct(sizes, 0.5)} p99 {pct(sizes, 0.99)} "
          f"(per event)", flush=True)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")

"""Where a live transaction's CPU goes: the live path driven in one thread, in fixed batch sizes.

    .venv/bin/python bench/runtime/parts.py [--events 2000] [--batch 1] [--only product|without moderation]

The same community and stream as ``bench/runtime/run.py`` (warm caches, 10,000 members who have
spoken once), but no writer thread and no worker thread: this thread calls
``Runtime.ingest_batch`` with ``--batch`` events at a time, then runs the outbox worker's pass
(``outbox_run_due``) after each transaction, as the worker would. Prints, per transaction, the
CPU (``time.thread_time``) of each part, inclusive (a part's figure contains the parts inside
it), and the SQL statements each part ran (SQLite's trace callback). Not a throughput figure:
the wrappers cost a little themselves.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402  (bench/runtime/run.py: the stream, setup, the handler tables)

CPU: dict[str, float] = defaultdict(float)
SQL: dict[str, int] = defaultdict(int)
CALLS: dict[str, int] = defaultdict(int)
_stack: list[str] = []
_statements: list[str] = []


def timed(owner, name: str, label: str | None = None) -> None:
    """Wrap ``owner.name`` so its CPU time and statements are added to ``label``."""
    original = getattr(owner, name)
    label = label or name

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _stack.append(label)
        before, count = time.thread_time(), len(_statements)
        try:
            return original(*args, **kwargs)
        finally:
            CPU[label] += time.thread_time() - before
            SQL[label] += len(_statements) - count
            CALLS[label] += 1
            _stack.pop()

    setattr(owner, name, wrapper)


STATEMENT_CPU: dict[str, float] = defaultdict(float)
STATEMENT_N: dict[str, int] = defaultdict(int)
_last: list = [None, 0.0]


def trace(statement: str) -> None:
    """Counts statements; with ``--by-statement`` the CPU from one statement's start to the next's
    is put on the first (SQL and whatever Python ran before the next: an approximation)."""
    _statements.append(statement)
    if BY_STATEMENT:
        now = time.thread_time()
        if _last[0] is not None:
            STATEMENT_CPU[_last[0]] += now - _last[1]
            STATEMENT_N[_last[0]] += 1
        _last[0], _last[1] = " ".join(statement.split())[:90], now


BY_STATEMENT = False


class HandOffWorker:
    """The outbox worker's hand-off path, run in this thread: decisions executed as handed over,
    the deferred rollups applied when told (every ``--rollup-events`` events)."""

    def __init__(self, fake) -> None:
        from qunyun.bus.outbox import HandOff, _Finished

        self.handoff, self.fake, self.finished = HandOff(), fake, _Finished()
        self.communities: set[int] = set()

    def __call__(self) -> None:  # the doorbell: rows for the table pass
        from qunyun.bus.outbox import outbox_run_due

        outbox_run_due(adapters={"bench": self.fake})

    def run_handed(self) -> None:
        from qunyun.bus.deferred import KIND
        from qunyun.bus.outbox import outbox_execute_handed, outbox_finish

        handed = []
        for item, decision in self.handoff.take():
            if decision.kind == KIND:
                self.communities.add(item.community_id)
            else:
                handed.append((item, decision))
        if handed:
            outbox_execute_handed(handed, handoff=self.handoff, adapters={"bench": self.fake}, finished=self.finished)
        if self.finished.due():
            outbox_finish(self.finished)

    def rollups(self) -> None:
        from qunyun.bus.deferred import deferred_rollups_apply

        for community_id in self.communities:
            deferred_rollups_apply(community_id)
        self.communities.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--only", choices=["product", "without moderation"], default="product")
    parser.add_argument("--show-sql", type=int, default=0, help="print the statements of this many transactions")
    parser.add_argument("--by-statement", action="store_true",
                        help="CPU per statement kind (from its start to the next statement's)")
    parser.add_argument("--handoff", action="store_true",
                        help="as under `qunyun serve`: decisions handed to the worker, rollups deferred")
    parser.add_argument("--rollup-events", type=int, default=250,
                        help="with --handoff: the deferred rollups are applied every this many events")
    parser.add_argument("--no-rollups", action="store_true",
                        help="experiment: leave the rollups out of the measured transactions")
    parser.add_argument("--warm", type=int, default=1000, help="events through the path before measuring")
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=10000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    home = tempfile.mkdtemp(prefix="qunyun-bench-parts-")
    atexit.register(shutil.rmtree, home, True)
    bench.setup(home)

    from django.db import connection

    import qunyun.analytics.rollups as rollups
    import qunyun.bus.memberships as memberships
    import qunyun.bus.outbox as outbox
    import qunyun.bus.wal as wal
    import qunyun.bus.runtime as runtime_module
    import qunyun.bus.store as store_module
    from qunyun.bus.registry import adapter_register
    from qunyun.connections.ingest import runtime_for

    fake = bench.TimedFake()
    adapter_register(fake)
    bench.use_handlers(bench.handler_tables()[args.only])
    stream = bench.Stream(groups=args.groups, members=args.members, seed=0)
    community, _store = bench.community_new("parts", stream)
    runtime = runtime_for(community.pk)
    # Warm up: the first decisions load code once (URLconf for appeal links, templates …).
    now = datetime.now(timezone.utc)
    for start in range(0, args.warm, 100):
        runtime.ingest_batch([stream.next(now + timedelta(milliseconds=2 * i)) for i in range(start, min(args.warm, start + 100))])
        outbox.outbox_run_due(adapters={"bench": fake})

    worker = None
    if args.handoff:  # as with the outbox worker of `qunyun serve`: hand-offs, deferred rollups
        worker = HandOffWorker(fake)
        runtime.wake = worker
    rollup_every = max(1, round(args.rollup_events / args.batch))
    if args.no_rollups:  # an experiment: the transaction without the rollups (they would run elsewhere)
        store_module.batch_prepare = lambda new: None
        store_module.rollups_apply = lambda **kwargs: None
        store_module.EventStore._apply_rollups = lambda self, new: None
    S = store_module.EventStore
    for name in ("_store", "group", "_check_identity_version", "_resolve_accounts", "_track_names", "_reply_authors",
                 "_rows", "_insert", "_apply_memberships", "_apply_rollups", "_stored"):
        timed(S, name, "store." + name.lstrip("_"))
    timed(store_module, "batch_prepare", "store.batch_prepare")
    timed(store_module, "rollups_apply", "store.rollups_apply (analytics)")
    timed(runtime_module.Runtime, "_handle", "handlers+outbox_insert")
    timed(runtime_module, "outbox_insert", "outbox_insert")
    wrapped = {}
    for etype, handlers in runtime.handlers.items():
        new = []
        for handler in handlers:
            key = f"handler {handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"
            if key not in wrapped:
                # handlers are generators: the work happens while they are consumed
                holder = type("H", (), {"f": staticmethod(lambda e, c, h=handler: list(h(e, c) or ()))})
                timed(holder, "f", key)
                wrapped[key] = holder.f
            new.append(wrapped[key])
        runtime.handlers[etype] = tuple(new)
    timed(outbox, "_claim", "worker.claim")
    timed(outbox, "_execute_internal", "worker.execute_internal")
    timed(outbox, "_write_finished", "worker.finish")
    from django.db import connections

    timed(type(connections["default"]), "_commit", "commit")
    timed(wal, "quiet_checkpoints", "quiet_checkpoints")

    global BY_STATEMENT
    BY_STATEMENT = args.by_statement
    connection.ensure_connection()
    connection.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.connection.execute("PRAGMA wal_autocheckpoint=0")  # the WAL's growth is what the commits wrote
    wal_file = Path(connection.settings_dict["NAME"] + "-wal")
    connection.connection.set_trace_callback(trace)
    now = datetime.now(timezone.utc)
    events = [stream.next(now + timedelta(milliseconds=2 * i)) for i in range(args.events)]
    transactions = 0
    cpu = {"ingest": 0.0, "worker": 0.0}
    statements = {"ingest": 0, "worker": 0}

    def step(part: str, title: str, show: bool, run) -> None:
        mark, t = len(_statements), time.thread_time()
        run()
        cpu[part] += time.thread_time() - t
        statements[part] += len(_statements) - mark
        if show:
            print(f"--- {title}")
            for statement in _statements[mark:]:
                print("   ", " ".join(statement.split())[:200])

    for start in range(0, len(events), args.batch):
        batch = events[start:start + args.batch]
        show = transactions < args.show_sql
        step("ingest", f"transaction {transactions + 1}: {[type(e).__name__ for e in batch]}", show,
             lambda: runtime.ingest_batch(batch))
        if worker is None:
            step("worker", "worker pass", show, lambda: outbox.outbox_run_due(adapters={"bench": fake}))
        else:
            step("worker", "worker: hand-offs", show, lambda: worker.run_handed())
            if (transactions + 1) % rollup_every == 0:
                step("worker", "worker: deferred rollups", show, lambda: worker.rollups())
        transactions += 1
    total_ingest, total_worker = cpu["ingest"], cpu["worker"]
    ingest_sql, worker_sql = statements["ingest"], statements["worker"]
    n = transactions
    print(f"{args.only}: {args.events} events in {n} transactions of {args.batch}; per transaction: "
          f"ingest {total_ingest / n * 1000:.3f} ms CPU, {ingest_sql / n:.1f} statements; "
          f"worker pass {total_worker / n * 1000:.3f} ms CPU, {worker_sql / n:.1f} statements; "
          f"events/s CPU (both) {args.events / (total_ingest + total_worker):.0f}")
    print(f"WAL written: {wal_file.stat().st_size / n / 1024:.1f} KiB per transaction "
          f"({wal_file.stat().st_size / n / 4120:.1f} pages)")
    print(f"{'part':44s} {'ms/txn':>8s} {'stmts/txn':>9s} {'calls':>7s}")
    for label in sorted(CPU, key=lambda k: -CPU[k]):
        print(f"{label:44s} {CPU[label] / n * 1000:8.3f} {SQL[label] / n:9.2f} {CALLS[label]:7d}")
    if BY_STATEMENT:
        print(f"{'statement (its start to the next one)':92s} {'ms/txn':>8s} {'count/txn':>9s}")
        for key in sorted(STATEMENT_CPU, key=lambda k: -STATEMENT_CPU[k])[:40]:
            print(f"{key:92s} {STATEMENT_CPU[key] / n * 1000:8.3f} {STATEMENT_N[key] / n:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

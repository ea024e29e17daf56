"""What live moderation costs per message, part by part, on the runtime benchmark's stream.

    .venv/bin/python bench/moderation_live/cost.py [--events 4000] [--batch 5] [--repeat 3]
        [--parts] [--sql N] [--profile ingest|drain]

Same stream, community and warm-up as ``bench/runtime/run.py`` (ordinary game-community chat,
1.5 % real ads, 2 % joins, 500 groups, 10,000 members who have all spoken once), but driven in
this one thread so every part can be timed by CPU time:

* ``ingest``: ``Runtime.ingest_batch`` with ``--batch`` events per transaction (store, handlers,
  outbox rows), with the product's handler table and again without moderation and the guard;
* each handler's own CPU (``time.thread_time`` around the call, the decisions it yields
  included), and with ``--parts`` the pieces of the moderation handler and of opening a case;
* ``drain``: the outbox worker's pass (``outbox_run_due`` against a fake adapter) over the
  decisions the events caused, by decision kind — cases, deletions, mutes, notices;
* the garbage collector's time per generation, ``--sql N`` the N costliest statement shapes.

Moderation's part per event is the sum of its handler and executor lines. The difference of
whole runs (product − without moderation) is printed too, but on a shared machine the store's
own CPU moves more than that between runs. The process is pinned to one core (the first: the
runtime benchmark pins to the last). Medians of ``--repeat`` runs, each on a fresh community
(state in memory is per community), interleaved with the runs without moderation.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import importlib.util
import os
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

_spec = importlib.util.spec_from_file_location("runtime_bench", ROOT / "bench" / "runtime" / "run.py")
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)  # the runtime benchmark's stream, set-up and handler tables

MODERATION = ("qunyun.moderation", "qunyun.guard")


class Fake:
    platform = "bench"
    capabilities = frozenset({"send", "delete", "mute", "unmute", "ban", "unban", "kick", "set_title"})

    def execute(self, decision, *, idempotency_key: str):
        return None


def timed(fn, totals: dict[str, float], name: str, *, generator: bool = True):
    """``fn`` with its thread CPU time added to ``totals[name]`` (a generator is drained inside,
    so the time of the decisions it yields is counted)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.thread_time()
        try:
            result = fn(*args, **kwargs)
            return list(result or ()) if generator else result
        finally:
            totals[name] += time.thread_time() - t0
            totals["calls " + name] += 1

    return wrapper


def time_parts(totals: dict[str, float]) -> list:
    """Time the parts of the moderation handler (nested: ``moderate`` holds the text detectors
    and the behaviour window). Returns what to put back."""
    from qunyun.moderation import handlers, live
    from qunyun.moderation.detection import behaviour, verdict

    saved = [(handlers, "moderate", handlers.moderate), (live, "config_for", live.config_for),
             (live, "window_for", live.window_for), (verdict, "text_findings", verdict.text_findings),
             (behaviour.Window, "observe_message", behaviour.Window.observe_message),
             (handlers, "_prior", handlers._prior), (verdict, "_decide", verdict._decide)]
    for owner, attr, fn in saved:
        setattr(owner, attr, timed(fn, totals, f"  part {attr}", generator=False))
    from qunyun.moderation import services

    saved += [(services, "case_open", services.case_open), (services, "case_notify_member", services.case_notify_member)]
    for owner, attr, fn in saved[-2:]:
        setattr(owner, attr, timed(fn, totals, f"  part {attr} (of open_case)", generator=False))
    handlers._enforce_message, enforce = timed(handlers._enforce_message, totals, "  part _enforce_message"), \
        handlers._enforce_message
    return [*saved, (handlers, "_enforce_message", enforce)]


def one_run(label: str, table, args, seed: int, profile: cProfile.Profile | None) -> dict[str, float]:
    from qunyun.bus import internal
    from qunyun.bus.outbox import outbox_run_due
    from qunyun.bus.runtime import Runtime

    stream = rb.Stream(groups=args.groups, members=args.members, seed=seed)
    community, store = rb.community_new(f"cost{seed}-{label[:4]}", stream)
    totals: dict[str, float] = defaultdict(float)
    handlers = {kind: tuple(timed(h, totals, "handler " + h.__qualname__) for h in hs) for kind, hs in table.items()}
    runtime = Runtime(community, mode="live", handlers=handlers, keep_raw=False)
    runtime.store = store  # the warm store (members and groups known)
    now = datetime.now(timezone.utc)
    events = [stream.next(now + timedelta(milliseconds=2 * i)) for i in range(args.events)]
    saved = dict(internal.INTERNAL_EXECUTORS)
    for kind, fn in saved.items():
        internal.INTERNAL_EXECUTORS[kind] = timed(fn, totals, "execute " + kind, generator=False)
    parts = time_parts(totals) if args.parts and label == "product" else []
    gc_started = [0.0]

    def gc_timer(phase, info):  # the collector's time, wherever it strikes
        if phase == "start":
            gc_started[0] = time.thread_time()
        else:
            totals[f"gc gen{info['generation']}"] += time.thread_time() - gc_started[0]
            totals[f"gccount gen{info['generation']}"] += 1

    gc.collect()  # the warm-up's garbage is not the measured stream's to collect
    gc.callbacks.append(gc_timer)
    sql_timer = None
    phase = ["ingest"]
    if args.sql and label == "product":
        from django.db import connection

        def sql_timer(execute, sql, params, many, context):  # CPU time per statement shape
            t0 = time.thread_time()
            try:
                return execute(sql, params, many, context)
            finally:
                shape = re.sub(r'(SAVEPOINT) "\w+"', r"\1 …", " ".join(sql.split()))
                key = f"sql {phase[0]:<6} " + shape[:100]
                totals[key] += time.thread_time() - t0
                totals["sqlcount " + key[4:]] += 1e-6 * 1.0  # a count, printed apart

        sql_ctx = connection.execute_wrapper(sql_timer)
        sql_ctx.__enter__()
    try:
        if profile is not None and args.profile == "ingest":
            profile.enable()
        cpu = time.thread_time()
        for start in range(0, len(events), args.batch):
            runtime.ingest_batch(events[start:start + args.batch])
        totals["ingest"] = time.thread_time() - cpu
        phase[0] = "drain"
        if profile is not None:
            profile.disable() if args.profile == "ingest" else profile.enable()
        cpu = time.thread_time()
        fake = Fake()
        while outbox_run_due(adapters={"bench": fake}, limit=100, now=datetime.now(timezone.utc) + timedelta(seconds=60)).total:
            pass
        totals["drain"] = time.thread_time() - cpu
        if profile is not None:
            profile.disable()
    finally:
        internal.INTERNAL_EXECUTORS.update(saved)
        gc.callbacks.remove(gc_timer)
        if sql_timer is not None:
            sql_ctx.__exit__(None, None, None)
        for owner, attr, fn in parts:
            setattr(owner, attr, fn)
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1, help="events per transaction (the live writer at "
                        "500 events/s takes one to a few)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--sql", type=int, default=0, metavar="N",
                        help="list the N costliest SQL statement shapes of the product runs (CPU time)")
    parser.add_argument("--parts", action="store_true", help="time the parts of the moderation handler too")
    parser.add_argument("--profile", choices=("ingest", "drain"),
                        help="cProfile (CPU time) the product-table runs' ingest or drain (inflates the ORM)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rb.setup(tempfile.mkdtemp(prefix="qunyun-bench-modcost-"))
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    tables = rb.handler_tables()
    profile = cProfile.Profile(time.thread_time) if args.profile else None  # CPU time, not wall
    runs: dict[str, list[dict[str, float]]] = {"product": [], "without moderation": []}
    for r in range(args.repeat):
        for label in runs:  # interleaved, so the machine's load hits both alike
            runs[label].append(one_run(label, tables[label], args, seed=r, profile=profile if label == "product" else None))
    per = 1e6 / args.events
    med = {label: {k: statistics.median(t.get(k, 0.0) for t in ts) for k in set().union(*ts)}
           for label, ts in runs.items()}
    print(f"{args.events} events per run, {args.batch} per transaction, median of {args.repeat}; "
          f"µs of CPU per event (all events, ~96 % of them messages)")
    for label, m in med.items():
        print(f"  [{label}] ingest {m['ingest'] * per:7.1f}  drain {m['drain'] * per:6.1f}  "
              f"total {(m['ingest'] + m['drain']) * per:7.1f}  -> {args.events / (m['ingest'] + m['drain']):,.0f} events/CPU-s")
        for k in sorted(m, key=lambda k: -m[k]):
            if k.startswith(("handler", "execute", "  part", "gc ")):
                count = f"  ({m['gccount ' + k[3:]]:.0f} collections)" if k.startswith("gc ") else \
                    f"  ({m['calls ' + k]:.0f} calls, {m[k] / max(m['calls ' + k], 1) * 1e6:.0f} µs each)"
                print(f"      {k:<40} {m[k] * per:7.1f}{count}")
        sql = sorted((k for k in m if k.startswith("sql ")), key=lambda k: -m[k])
        for k in sql[:args.sql]:
            n = round(m["sqlcount " + k[4:]] * 1e6)
            print(f"      {m[k] * per:6.1f} µs/event  {n:6d}×  {m[k] / max(n, 1) * 1e6:6.0f} µs each  {k[4:]}")
    p, w = med["product"], med["without moderation"]
    diff = (p["ingest"] + p["drain"] - w["ingest"] - w["drain"]) * per
    own = sum(v for k, v in p.items() if k.startswith("handler") and any(
        k.endswith(n) for n in ("moderate_message", "moderate_join", "moderate_edit", "guard_message"))) * per
    executed = sum(v for k, v in p.items() if k in ("execute open_case", "execute appeal_record", "execute notify")) * per
    print(f"  moderation's part: {own + executed:.1f} µs/event (its handlers {own:.1f}, cases and notices "
          f"{executed:.1f}); whole runs, product − without: {diff:.1f} µs/event")
    if profile is not None:
        stats = pstats.Stats(profile).sort_stats("cumulative")
        stats.print_stats(60)
        stats.print_callees("moderate_message|case_open|text_findings|observe_message")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: what a thread that talks to SQLite waits for the GIL while another thread computes,
at CPython's default switch interval (5 ms) and at the live server's (``qunyun.connections.heap``).

    .venv/bin/python bench/runtime/gil.py [--transactions 300] [--intervals 5,1,0.5]

The live writer gives the GIL up at every SQLite call and must get it back to go on; when the
outbox worker (or a handler, or the web server) is computing in Python meanwhile, the writer gets
it back only when the interpreter makes the computing thread let go: after the switch interval.
Here one thread computes without pause while the other runs ``--transactions`` write
transactions shaped like the live writer's (20 small statements, reads by key and inserts, with
Python work between them: ~1-2 ms of CPU; a WAL file with the product's settings), pinned to one
core. Printed per interval: the transactions' wall time p50/p90/p99, and alone (no computing
thread) as the baseline.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


#: Statements per transaction, and Python work between two of them (iterations of a small loop):
#: about the live writer's shape (~20 statements and ~1.5 ms of CPU for a few events).
STATEMENTS, WORK = 20, 1500


def transactions(db: str, n: int) -> list[float]:
    """Wall ms of ``n`` write transactions of :data:`STATEMENTS` statements with Python work between."""
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    spans = []
    for i in range(n):
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for j in range(STATEMENTS):
            x = 0
            for k in range(WORK):  # the handlers' and the ORM's share of a statement
                x += k * k
            if j % 2:
                conn.execute("SELECT v FROM t WHERE k = ?", ((i + j) % 1000,)).fetchone()
            else:
                conn.execute("INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)", (1000 + (i * STATEMENTS + j) % 5000, "x" * 40))
        conn.execute("COMMIT")
        spans.append((time.perf_counter() - start) * 1000)
    conn.close()
    return spans


def run(db: str, n: int, interval: float | None) -> tuple[list[float], float]:
    """The statements' spans with a computing thread beside them (none if ``interval`` is None)."""
    stop = threading.Event()
    work = [0]

    def compute() -> None:
        x = 0
        while not stop.is_set():
            for i in range(2000):
                x += i * i
            work[0] += 1

    if interval is not None:
        sys.setswitchinterval(interval / 1000)
        other = threading.Thread(target=compute)
        other.start()
    wall = time.perf_counter()
    spans = transactions(db, n)
    wall = time.perf_counter() - wall
    stop.set()
    if interval is not None:
        other.join()
    sys.setswitchinterval(0.005)
    return spans, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=300)
    parser.add_argument("--intervals", default="5,1,0.5", help="switch intervals to try, in ms")
    parser.add_argument("--rounds", type=int, default=3, help="each interval this many times, interleaved")
    parser.add_argument("--all-cores", action="store_true", help="not pinned to one core")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and not args.all_cores:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    with tempfile.TemporaryDirectory(prefix="qunyun-bench-gil-") as home:
        db = os.path.join(home, "gil.sqlite3")
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 40) for i in range(1000)])
        conn.commit()
        conn.close()
        print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}", flush=True)
        results: dict[str, list[tuple[float, float, float]]] = {}
        for _round in range(args.rounds):
            for label, interval in [("alone", None)] + [(f"{v} ms", float(v)) for v in args.intervals.split(",")]:
                spans, wall = run(db, args.transactions, interval)
                results.setdefault(label, []).append((pct(spans, 0.5), pct(spans, 0.9), pct(spans, 0.99)))
        for label, figures in results.items():
            p50, p90, p99 = (sorted(f[i] for f in figures)[len(figures) // 2] for i in range(3))
            print(f"switch interval {label:>6s}: one write transaction of {STATEMENTS} statements p50 {p50:6.2f} ms, "
                  f"p90 {p90:6.2f} ms, p99 {p99:6.2f} ms "
                  f"(median of {len(figures)} rounds of {args.transactions})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

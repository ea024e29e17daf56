"""Benchmark: events through the bus into SQLite, against a raw executemany of the same rows.

    .venv/bin/python bench/bus/run.py [--events 200000] [--members 5000] [--repeat 3]

Each repeat uses a fresh SQLite database (WAL, the product's settings). The bus run goes
through ``Runtime.ingest`` in live mode with an empty handler table: member resolution,
idempotent insert, memberships, rollups and dispatch. A second run with the product's whole
routing table (moderation, onboarding, …) shows what the handlers add. The baseline inserts the very same event rows with one
``executemany`` into an identical ``qunyun_event`` table (same indexes) in one transaction —
the floor of what SQLite can do for these rows. Prints the median events/s and the ratio, by
wall clock and by CPU time of the process (``time.process_time``: what a quiet core would
show; on a shared machine the wall-clock figures move with the other load).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


def make_events(n: int, members: int, seed: int = 7):
    from qunyun.core import events as ev

    rng = random.Random(seed)
    accounts = [ev.Account(id=f"bench:u{i}", name=f"member {i}") for i in range(members)]
    words = ("茶", "咖啡", "今天", "冲泡", "水温", "好喝", "请问", "大家", "推荐", "器具", "产地", "龙井", "手冲",
             "tea", "coffee", "brew", "grind", "morning", "thanks", "why", "how", "water", "leaf", "roast")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        reply = str(i - rng.randint(1, 50)) if i > 50 and rng.random() < 0.2 else None
        out.append(ev.MessagePosted(
            chat=f"bench:room{i % 3}", event_id=str(i), at=start + timedelta(seconds=i * 7),
            author=accounts[int(rng.paretovariate(1.2)) % members],
            text=" ".join(rng.choice(words) for _ in range(rng.randint(2, 12))),
            reply_to=reply,
        ))
    return out


def setup_django(home: str) -> None:
    os.environ["QUNYUN_HOME"] = home
    os.environ.pop("QUNYUN_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    from qunyun.cli.bootstrap import django_ready

    django_ready()


def run_bus(events, batch: int, *, handlers=None, slug: str = "bench") -> tuple[float, float, list[str], list[tuple]]:
    """Events through ``Runtime.ingest`` in live mode; ``handlers={}`` is the bare bus
    (store, rollups, dispatch), ``None`` the product's whole routing table."""
    from django.db import connection

    from qunyun.bus.runtime import Runtime
    from qunyun.communities.services import community_create

    community = community_create(slug=slug, name="Bench", time_zone="Asia/Shanghai")
    runtime = Runtime(community, mode="live", keep_raw=False, handlers=handlers)
    t0, c0 = time.perf_counter(), time.process_time()
    result = runtime.ingest(events, batch_size=batch)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.stored == len(events), result
    with connection.cursor() as cur:
        cur.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'qunyun_event' AND sql IS NOT NULL")
        ddl = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT community_id, group_id, type, key, at, day, member_id, identity_id, actor_id, message_id, kind, "
                    "text, reply_to, reply_to_member_id, mentions, channel_id, detail, source_tz, data "
                    "FROM qunyun_event WHERE community_id = (SELECT id FROM qunyun_community WHERE slug = %s) "
                    "ORDER BY id", [slug])
        rows = cur.fetchall()
    connection.close()
    return elapsed, cpu, ddl, rows


def run_raw(ddl: list[str], rows: list[tuple], path: str) -> tuple[float, float]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in ddl:
        # Foreign keys point at tables the baseline does not have; the indexes stay.
        db.execute(statement.replace("REFERENCES", "-- REFERENCES") if "CREATE TABLE" not in statement
                   else _strip_fks(statement))
    cols = "community_id, group_id, type, key, at, day, member_id, identity_id, actor_id, message_id, kind, text, reply_to, " \
           "reply_to_member_id, mentions, channel_id, detail, source_tz, data"
    marks = ", ".join(["?"] * 19)
    t0, c0 = time.perf_counter(), time.process_time()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(f"INSERT INTO qunyun_event ({cols}) VALUES ({marks})", rows)
    db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.close()
    return elapsed, cpu


def _strip_fks(sql: str) -> str:
    import re

    return re.sub(r"REFERENCES \"\w+\" \(\"\w+\"\)( DEFERRABLE INITIALLY DEFERRED)?", "", sql)


def child(args) -> None:
    """One repeat in a fresh process (Django is set up once per process)."""
    home = tempfile.mkdtemp(prefix="qunyun-bench-bus-")
    setup_django(home)
    events = make_events(args.events, args.members)
    gc.freeze()  # a live bus holds a batch at a time, not all of them: keep them out of the collector's walks
    bus_s, bus_cpu, ddl, rows = run_bus(events, args.batch, handlers={})
    raw_s, raw_cpu = run_raw(ddl, rows, os.path.join(home, "raw.sqlite3"))
    full_s, full_cpu, _, _ = run_bus(events, args.batch, handlers=None, slug="bench-full")
    print(f"RESULT {bus_s:.6f} {raw_s:.6f} {full_s:.6f} {bus_cpu:.6f} {raw_cpu:.6f} {full_cpu:.6f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import subprocess

    runs = []
    for i in range(args.repeat):
        out = subprocess.run([sys.executable, __file__, "--child", "--events", str(args.events), "--members",
                              str(args.members), "--batch", str(args.batch)],
                             capture_output=True, text=True, check=True).stdout
        seconds = list(map(float, out.split("RESULT")[1].split()))
        runs.append([args.events / s for s in seconds])  # bus, raw, full: wall; then the same per CPU-second
        bus, raw, full, bus_cpu, raw_cpu, full_cpu = runs[-1]
        print(f"repeat {i + 1}: bus {bus:,.0f} events/s ({bus_cpu:,.0f}/CPU-s), raw executemany {raw:,.0f} rows/s "
              f"({raw_cpu:,.0f}/CPU-s), with every handler {full:,.0f} events/s ({full_cpu:,.0f}/CPU-s)")
    bus, raw, full, bus_cpu, raw_cpu, full_cpu = (statistics.median(r[k] for r in runs) for k in range(6))
    print(f"(median of {args.repeat}, {args.events:,} events, batch {args.batch}; load average "
          f"{open('/proc/loadavg').read().split()[0]})")
    print(f"bus into SQLite:        {bus:,.0f} events/s wall, {bus_cpu:,.0f} events/CPU-s")
    print(f"raw executemany:        {raw:,.0f} rows/s wall, {raw_cpu:,.0f} rows/CPU-s")
    print(f"ratio bus/raw:          {bus / raw:.2f} wall, {bus_cpu / raw_cpu:.2f} CPU")
    print(f"with every handler:     {full:,.0f} events/s wall, {full_cpu:,.0f} events/CPU-s "
          f"(moderation, onboarding, …; ratio to bare bus {full_cpu / bus_cpu:.2f} CPU)")


if __name__ == "__main__":
    main()

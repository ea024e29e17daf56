"""Benchmark: the store path in import mode, in CPU time, against a raw insert of the same rows.

    .venv/bin/python bench/bus/store.py [--messages 100000] [--batch 10000] [--repeat 3] [--profile]

The events are a Telegram group's history with the mix of the import benchmark's generated
export (``bench/import/generate.py``: 2,000 people, replies, mentions, stickers, photos,
reactions, 1% joins, 0.5% leaves), built in memory as normalized events, so only the store is
timed: member
resolution, the idempotent insert, memberships and every rollup (the store's and analytics'),
one transaction per batch, through ``Runtime.ingest`` in import mode into a fresh SQLite
database. A re-import of the same events (all duplicates) is timed too.

The baseline, in the same process: the very same event rows (read back from the table) inserted
with one prepared ``executemany`` into an identical ``qunyun_event`` table (same indexes, no
foreign keys) in one transaction, by the raw ``sqlite3`` module: the floor of what SQLite
can do for these rows. Figures are CPU seconds of this process (``time.process_time``), so the
other work on a shared machine does not count; each repeat runs in a fresh child process.
``--profile`` prints where the store's CPU time goes (its steps wrapped with CPU-time counters).
The generated events are frozen out of the garbage collector's sight (``gc.freeze``), as an
import holds only the batch it is storing.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from run import setup_django  # noqa: E402  (bench/bus/run.py, beside this script)

COLUMNS = ("community_id, group_id, type, key, at, day, member_id, identity_id, actor_id, message_id, kind, text, "
           "reply_to, reply_to_member_id, mentions, channel_id, detail, source_tz, data")


def make_events(messages: int, seed: int = 7) -> list:
    """Normalized events of a Telegram group's history, the mix of ``bench/import/generate.py``.

    2,000 people of whom a tenth say four fifths; 15% replies, 8% texts with a mention and a
    link, stickers, photos, voice notes, forwards, edits, reactions (5% of messages, 1–3
    each), 1% joins through a link and 0.5% leaves. Built directly (no export file, no parser),
    so the benchmark measures the store alone.
    """
    import random
    from datetime import datetime, timedelta, timezone

    from qunyun.core import events as ev

    rng = random.Random(seed)
    people = 2000
    accounts = [ev.Account(id=f"telegram:user{100000 + i}", name=f"Member {i}") for i in range(people)]
    words = ("tea green black oolong puer water leaf cup brew steep hot cold morning today shop price good great "
             "thanks anyone know where buy try taste 绿茶 红茶 乌龙 普洱 今天 好喝 谢谢 大家 早上好 价格 推荐").split()
    chat = "telegram:-1001700000001"
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    seconds = 0
    out: list = []
    for mid in range(1, messages + 1):
        seconds += rng.randint(1, 40)
        moment = start + timedelta(seconds=seconds)
        who = rng.randrange(people // 10) if rng.random() < 0.8 else rng.randrange(people)
        roll = rng.random()
        if roll < 0.01:
            out.append(ev.MemberJoined(chat=chat, event_id=str(mid), at=moment, member=accounts[rng.randrange(people)],
                                       via=ev.JoinMethod.INVITE_LINK))
            continue
        if roll < 0.015:
            out.append(ev.MemberLeft(chat=chat, event_id=str(mid), at=moment, member=accounts[rng.randrange(people)]))
            continue
        reply = str(mid - rng.randint(1, min(mid - 1, 50))) if rng.random() < 0.15 and mid > 1 else None
        forwarded = rng.random() < 0.02
        media = rng.random()
        kind = (ev.MessageKind.IMAGE if media < 0.04 else ev.MessageKind.STICKER if media < 0.06
                else ev.MessageKind.VOICE if media < 0.07 else ev.MessageKind.TEXT)
        mentions: tuple = ()
        if rng.random() < 0.08:
            friend = rng.randrange(people)
            text = "Note " + " ".join(rng.choice(words) for _ in range(rng.randint(2, 24))) + \
                f" Member {friend} https://tea.example/p/{mid}"
            mentions = (accounts[friend].id,)
        elif kind is not ev.MessageKind.TEXT:
            text = ""
        else:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(2, 24)))
        edited = moment + timedelta(seconds=rng.randint(5, 600)) if rng.random() < 0.03 else None
        out.append(ev.MessagePosted(chat=chat, event_id=str(mid), at=moment, author=accounts[who], text=text,
                                    kind=kind, reply_to=reply, mentions=mentions, forwarded=forwarded,
                                    edited_at=edited))
        if rng.random() < 0.05:
            for i, r in enumerate(rng.sample(range(people // 10), rng.randint(1, 3))):
                out.append(ev.ReactionAdded(chat=chat, event_id=f"{mid}:{accounts[r].id}:👍",
                                            at=moment + timedelta(seconds=30 + i), message_id=str(mid),
                                            author=accounts[r], emoji="👍"))
    return out


def install_timers() -> dict[str, float]:
    """Wrap the store's steps (those that exist) with CPU-time accumulators; nested steps count in their parent."""
    from qunyun.bus import store

    timers: dict[str, float] = {}

    def wrap(owner, name: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        label = f"{getattr(owner, '__name__', 'store')}.{name}"
        timers[label] = 0.0

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                timers[label] += time.process_time() - started

        setattr(owner, name, timed)

    for name in ("store", "_resolve_accounts", "_track_names", "_reply_authors", "_rows", "_insert",
                 "_apply_memberships", "_apply_rollups", "_stored"):
        wrap(store.EventStore, name)
    wrap(store, "rollups_apply")
    return timers


def raw_floor(home: str, slug: str) -> float:
    """CPU seconds to insert the community's event rows with one executemany into a bare copy of the table."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'qunyun_event' AND sql IS NOT NULL")
        ddl = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT {COLUMNS} FROM qunyun_event WHERE community_id = "
                    "(SELECT id FROM qunyun_community WHERE slug = %s) ORDER BY id", [slug])
        rows = cur.fetchall()
    db = sqlite3.connect(os.path.join(home, "raw.sqlite3"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in ddl:
        db.execute(re.sub(r"REFERENCES \"\w+\" \(\"\w+\"\)( DEFERRABLE INITIALLY DEFERRED)?", "", statement))
    started = time.process_time()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(f"INSERT INTO qunyun_event ({COLUMNS}) VALUES ({', '.join(['?'] * 19)})", rows)
    db.execute("COMMIT")
    seconds = time.process_time() - started
    db.close()
    return seconds


def child(args) -> None:
    home = tempfile.mkdtemp(prefix="qunyun-bench-store-")
    setup_django(home)
    events = make_events(args.messages)
    # An import streams its events: a batch lives while it is stored, then goes. Holding all of
    # them here would make every garbage collection walk them, a cost the import does not have.
    gc.freeze()
    from qunyun.bus.runtime import Runtime
    from qunyun.communities.services import community_create

    community = community_create(slug="bench", name="Bench", time_zone="Asia/Shanghai")
    timers = install_timers() if args.profile else None
    runtime = Runtime(community, mode="import", keep_raw=False)
    started = time.process_time()
    result = runtime.ingest(events, batch_size=args.batch)
    store_s = time.process_time() - started
    assert result.stored == len({e.key for e in events}), result
    steps = dict(timers) if timers else None
    started = time.process_time()
    again = runtime.ingest(events, batch_size=args.batch)
    again_s = time.process_time() - started
    assert again.stored == 0, again
    raw_s = raw_floor(home, "bench")
    from django.db import connection

    connection.close()
    shutil.rmtree(home, ignore_errors=True)
    print("RESULT " + json.dumps({"events": result.stored, "store_s": store_s, "again_s": again_s, "raw_s": raw_s,
                                  "steps": steps}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages (with joins and leaves) to generate")
    parser.add_argument("--batch", type=int, default=10_000, help="events per transaction (the import default)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    runs = []
    for i in range(args.repeat):
        cmd = [sys.executable, __file__, "--child", "--messages", str(args.messages), "--batch", str(args.batch)]
        out = subprocess.run(cmd + (["--profile"] if args.profile else []), capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        run = json.loads(out.stdout.split("RESULT ", 1)[1])
        runs.append(run)
        n = run["events"]
        print(f"repeat {i + 1}: store {n / run['store_s']:,.0f} events/CPU-s, re-import {n / run['again_s']:,.0f}"
              f" events/CPU-s, raw executemany {n / run['raw_s']:,.0f} rows/CPU-s")
        if run["steps"]:
            for label, seconds in run["steps"].items():
                print(f"    {label:<40} {seconds:7.3f} CPU-s  {seconds / n * 1e6:6.2f} µs/event")
    n = runs[0]["events"]
    store = statistics.median(n / r["store_s"] for r in runs)
    raw = statistics.median(n / r["raw_s"] for r in runs)
    again = statistics.median(n / r["again_s"] for r in runs)
    print(f"store, import mode:     {store:,.0f} events/CPU-s (median of {args.repeat}, {n:,} events, batch {args.batch})")
    print(f"re-import (duplicates): {again:,.0f} events/CPU-s")
    print(f"raw executemany:        {raw:,.0f} rows/CPU-s")
    print(f"ratio store/raw:        {store / raw:.2f}")
    print(f"load average:           {open('/proc/loadavg').read().split()[0]}")


if __name__ == "__main__":
    main()

"""Benchmark: events through the full live path (connections' ingest → store → handlers → outbox
→ the outbox worker → a fake adapter), against the bare store path, on SQLite.

    .venv/bin/python bench/runtime/run.py [--events 20000] [--batch 100] [--rate 500] [--seconds 10]

Pinned to one CPU core. Two measurements, each on a fresh SQLite database (WAL, the product's
settings), with the product's real handler table (moderation, rules, screening, FAQ, welcome):

Live events are handed to the per-community writer (:func:`qunyun.connections.ingest.ingest_submit`),
which commits whatever has arrived together.

* throughput: ``--events`` events (real group-chat lines from the shared ads-zh-game-chat set
  when present, 2 % joins that get a welcome, 1 % real ads) fed through :func:`qunyun.connections.ingest.ingest_events` in batches of
  ``--batch`` (a Matrix sync or a OneBot burst delivers several at once), until every decision
  they caused is executed by the outbox worker thread; compared with the bare store path
  (``EventStore.store`` per batch in a transaction: no handlers, no outbox) on the same events;
* latency: events arriving one per call (as webhooks do) at ``--rate`` per second for
  ``--seconds``; each one asks for the rules, so each causes one decision; the time from the
  event being received to the fake adapter executing its decision, p50/p99.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

AD = "加我微信 abc12345 便宜代购"
CORPUS = Path("/work/shared/data/ads-zh-game-chat/train.tsv")


def corpus() -> tuple[list[str], list[str]]:
    """Real group-chat lines (and real ads) when the shared data set is present, else varied text."""
    if CORPUS.exists():
        chat, ads = [], []
        for line in CORPUS.read_text(encoding="utf-8").splitlines()[1:]:
            label, _, text = line.partition("\t")
            (ads if label == "1" else chat).append(text)
        return chat, ads
    words = "茶 龙井 普洱 今天 明天 一起 喝 好 香 周末 活动 报名 老师 分享 问题 谢谢".split()
    return [" ".join(words[(i * k) % len(words)] for k in range(1, 6 + i % 5)) for i in range(5000)], [AD]


def setup(home: str) -> None:
    os.environ["QUNYUN_HOME"] = home
    os.environ.pop("QUNYUN_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_CONNECTIONS"] = "0"
    import logging

    from qunyun.cli.bootstrap import django_ready

    django_ready()
    logging.getLogger("qunyun").setLevel(logging.WARNING)


def make_events(n: int, members: int = 2000, start_id: int = 0):
    from qunyun.core import events as ev

    # Real chat pace (one message every 2 s across the groups): a burst of thousands of messages
    # a second would rightly be judged a flood by moderation, which is not what this measures.
    start = datetime.now(timezone.utc) - timedelta(seconds=2 * (start_id + n))
    chat, ads = corpus()
    out = []
    for i in range(start_id, start_id + n):
        who = ev.Account(id=f"bench:u{(i * 7919) % members}", name=f"member {(i * 7919) % members}")
        at = start + timedelta(seconds=2 * i)
        if i % 50 == 0:
            out.append(ev.MemberJoined(chat=f"bench:room{i % 3}", event_id=f"j{i}", at=at,
                                       member=ev.Account(id=f"bench:new{i}", name=f"newcomer {i}")))
        elif i % 100 == 1:
            out.append(ev.MessagePosted(chat=f"bench:room{i % 3}", event_id=str(i), at=at, author=who,
                                        text=ads[i % len(ads)]))
        else:
            out.append(ev.MessagePosted(chat=f"bench:room{i % 3}", event_id=str(i), at=at, author=who,
                                        text=chat[i % len(chat)]))
    return out


class TimedFake:
    """The fake adapter: records when each decision was executed."""

    platform = "bench"
    capabilities = frozenset({"send", "delete", "mute", "unmute", "ban", "unban", "kick", "set_title"})

    def __init__(self) -> None:
        self.executed: dict[str, float] = {}
        self.count = 0

    def execute(self, decision, *, idempotency_key: str):
        self.executed[idempotency_key] = time.perf_counter()
        self.count += 1
        return None


def community_new(slug: str):
    from qunyun.communities.services import community_create
    from qunyun.onboarding.services import welcome_set

    community = community_create(slug=slug, name=slug, time_zone="Asia/Shanghai", rules_text="1. Be kind.")
    community.settings = {"guard": {"enabled": True, "mute_seconds": 600}}
    community.save()
    welcome_set(community=community, text="欢迎 {name} 加入 {group}！")
    return community


def pending() -> int:
    from django.utils import timezone as djtz

    from qunyun.bus.models import OutboxItem

    return OutboxItem.objects.filter(status__in=("pending", "running"), due_at__lte=djtz.now()).count()


def handler_tables():
    """The product's table, and the same without moderation (the detectors and their cases)."""
    from qunyun.bus.handlers import EVENT_HANDLERS

    def keep(handler) -> bool:
        return not handler.__module__.startswith(("qunyun.moderation", "qunyun.guard"))

    return {"product": EVENT_HANDLERS,
            "without moderation": {k: tuple(h for h in v if keep(h)) for k, v in EVENT_HANDLERS.items()}}


def use_handlers(table) -> None:
    import qunyun.bus.runtime as runtime_module
    from qunyun.connections.ingest import runtimes_forget

    runtime_module.EVENT_HANDLERS = table
    runtimes_forget()


def run_live(events, batch: int, fake: TimedFake, slug: str) -> tuple[float, int]:
    from qunyun.connections.ingest import ingest_submit

    community = community_new(slug)
    before = fake.count
    t0 = time.perf_counter()
    futures = [ingest_submit(community.pk, events[start:start + batch]) for start in range(0, len(events), batch)]
    decisions = sum(f.result().decisions for f in futures)
    while pending():
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    assert fake.count > before
    return elapsed, decisions


def run_bare(events, batch: int, slug: str) -> float:
    from django.db import transaction

    from qunyun.bus.store import EventStore

    community = community_new(slug)
    store = EventStore(community, keep_raw=True)
    t0 = time.perf_counter()
    for start in range(0, len(events), batch):
        with transaction.atomic():
            store.store(events[start:start + batch])
    return time.perf_counter() - t0


def run_latency(rate: float, seconds: float, fake: TimedFake, slug: str) -> list[float]:
    from qunyun.bus.models import OutboxItem
    from qunyun.connections.ingest import ingest_submit
    from qunyun.core import events as ev

    community = community_new(slug)
    n = int(rate * seconds)
    received: dict[str, float] = {}
    futures = []
    start = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        while (now := time.perf_counter()) < due:
            time.sleep(min(0.0005, due - now))
        event = ev.MessagePosted(chat="bench:lat", event_id=f"{slug}-{i}", at=start + timedelta(milliseconds=i),
                                 author=ev.Account(id=f"bench:m{i % 300}", name="m"), text="/rules")
        received[event.key] = time.perf_counter()
        futures.append(ingest_submit(community.pk, [event]))  # as concurrent webhooks do: no waiting
    for future in futures:
        future.result()
    while pending():
        time.sleep(0.02)
    latencies = []
    rows = OutboxItem.objects.filter(community=community, kind="send", reason="communities.rules_on_request")
    for pk, event_key in rows.values_list("pk", "event__key"):
        done = fake.executed.get(f"qunyun-{pk}")
        if done is not None and event_key in received:
            latencies.append((done - received[event_key]) * 1000)
    from qunyun.communities.models import Event as StoredEvent
    assert len(latencies) == n, (len(latencies), n, rows.count(), StoredEvent.objects.filter(community=community).count(),
                                 list(OutboxItem.objects.filter(community=community).values_list("kind", "status")[:3]))
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    setup(tempfile.mkdtemp(prefix="qunyun-bench-runtime-"))

    from qunyun.bus.registry import adapter_register
    from qunyun.server import start_background

    fake = TimedFake()
    adapter_register(fake)
    start_background(connections=False)

    tables = handler_tables()
    for label, table in tables.items():
        use_handlers(table)
        live_rates, bare_rates = [], []
        for r in range(args.repeat):
            base = (r * 10 + len(live_rates)) * args.events * 10 + (0 if label == "product" else 10**8)
            events = make_events(args.events, start_id=base)
            bare = run_bare(make_events(args.events, start_id=base + args.events * 5), args.batch,
                            f"bare{r}-{len(label)}")
            live, decisions = run_live(events, args.batch, fake, f"live{r}-{len(label)}")
            live_rates.append(len(events) / live)
            bare_rates.append(args.events / bare)
            print(f"[{label}] run {r + 1}: live {len(events) / live:8.0f} events/s ({decisions} decisions executed)"
                  f"   bare store {args.events / bare:8.0f} events/s", flush=True)
        live_med, bare_med = statistics.median(live_rates), statistics.median(bare_rates)
        print(f"[{label}] throughput (median of {args.repeat}, deliveries of {args.batch} events, one core): "
              f"live path {live_med:.0f} events/s, bare store {bare_med:.0f} events/s, "
              f"ratio live/bare {live_med / bare_med:.2f}", flush=True)
        latencies = sorted(run_latency(args.rate, args.seconds, fake, f"lat-{len(label)}"))
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"[{label}] latency at {args.rate:.0f} events/s, one event per delivery, {len(latencies)} events: "
              f"received → executed p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

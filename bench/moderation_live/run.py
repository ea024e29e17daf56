"""Benchmark: live moderation on the bus — events/s with the handler table, against the bare bus.

    .venv/bin/python bench/moderation_live/run.py [--events 40000] [--batch 50] [--repeat 3]

Each repeat runs in a fresh process with a fresh SQLite database (WAL, the product's settings)
and ingests the same generated chat (ordinary messages in several groups, about 2 % ads, 1 %
insults, some joins) through ``Runtime.ingest`` in live mode, ``--batch`` events per call (a
live adapter delivers a few events at a time). Three runs over three communities:

* ``bare``        — the bus with no handlers (store, rollups, transaction per batch): the baseline;
* ``moderation``  — only the moderation handlers (message judged, ladder, case decisions);
* ``all``         — the full handler table (moderation, guard, rules, onboarding …).

Prints the median events/s of each and the ratio against the bare bus measured in the same
process. The outbox is not executed (that is the worker's time, not the live path's).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

# Ordinary chat is made of two fragments, so texts vary like a real conversation (a handful of
# fixed phrases would look like a coordinated campaign to the duplicate detector).
FRAGMENTS = [
    "早上好", "今天喝什么茶", "我在喝凤凰单丛", "香气很足", "这个单丛是哪个山头的", "周末一起去茶城吗",
    "水温九十度左右就好", "新手推荐先喝绿茶", "哈哈哈这个太好笑了", "昨天的分享会讲得真好", "谢谢老师",
    "有人试过冷泡吗", "紫砂壶要怎么开壶", "我家的猫也爱闻茶香", "明前龙井今年价格涨了不少",
    "下周三晚上八点直播", "大家记得来", "我觉得岩茶更耐泡", "请问白茶放几年比较好喝", "刚下班",
    "今天好冷", "出差回来了", "给大家带了点点心", "第一次泡普洱", "汤色很亮", "有点苦涩", "回甘很好",
    "茶具是在景德镇买的", "朋友送的老白茶", "周六的活动我报名了", "照片拍得真好看", "学到了",
    "good morning everyone", "has anyone tried the new oolong", "see you at the meetup on Saturday",
    "the tea was a bit bitter today", "thanks for sharing", "where did you buy that teapot",
]
ADS = [
    "加我微信 wx{n} 低价出售游戏币，需要的老板滴滴", "诚招兼职宝妈，日结300，加VX：job{n} 详聊",
    "加V信：abc{n} 兼职日赚500元", "茶叶批发一件代发，加q{n}",
]
INSULTS = ["你这个傻逼", "滚，脑残", "你是不是有病"]


def make_events(n: int, members: int, seed: int = 11):
    from qunyun.core import events as ev

    rng = random.Random(seed)
    accounts = [ev.Account(id=f"bench:u{i}", name=f"member {i}") for i in range(members)]
    # Who speaks: a long tail (Zipf-like weights), the busiest member writes a few per cent.
    authors = rng.choices(accounts, weights=[1 / (i + 1) ** 0.8 for i in range(members)], k=n)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        at = start + timedelta(seconds=i * 3)
        chat = f"bench:room{i % 5}"
        r = rng.random()
        if r < 0.01:
            out.append(ev.MemberJoined(chat=chat, event_id=f"j{i}", at=at,
                                       member=accounts[rng.randrange(members)]))
            continue
        who = authors[i]
        if r < 0.03:
            text = rng.choice(ADS).format(n=rng.randrange(10**6, 10**7))
        elif r < 0.04:
            text = rng.choice(INSULTS)
        else:
            text = rng.choice(FRAGMENTS) + rng.choice(("，", "。", "！", " ")) + rng.choice(FRAGMENTS)
        out.append(ev.MessagePosted(chat=chat, event_id=str(i), at=at, author=who, text=text))
    return out


def setup_django(home: str) -> None:
    os.environ["QUNYUN_HOME"] = home
    os.environ.pop("QUNYUN_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    from qunyun.cli.bootstrap import django_ready

    django_ready()


def run(label: str, events, batch: int, handlers) -> float:
    from qunyun.bus.runtime import Runtime
    from qunyun.communities.services import community_create

    community = community_create(slug=f"bench-{label}", name=label, time_zone="Asia/Shanghai")
    clock_now = [events[0].at]
    runtime = Runtime(community, mode="live", handlers=handlers, keep_raw=False, clock=lambda: clock_now[0])
    t0 = time.perf_counter()
    for start in range(0, len(events), batch):
        chunk = events[start:start + batch]
        clock_now[0] = chunk[-1].at
        runtime.ingest_batch(chunk)
    return time.perf_counter() - t0


def child(args) -> None:
    home = tempfile.mkdtemp(prefix="qunyun-bench-modlive-")
    setup_django(home)
    from qunyun.bus.handlers import EVENT_HANDLERS
    from qunyun.core import events as ev
    from qunyun.moderation.handlers import moderate_join, moderate_message

    events = make_events(args.events, args.members)
    bare = run("bare", events, args.batch, {})
    handlers = {ev.MessagePosted: (moderate_message,), ev.MemberJoined: (moderate_join,)}
    if args.without_window:  # diagnosis: the text detectors and enforcement without behaviour windows
        from qunyun.moderation import live

        live.window_for = lambda community_id, *, before: None
        handlers = {ev.MessagePosted: (moderate_message,)}
    moderation = run("moderation", events, args.batch, handlers)
    # (with the window switched off the full table would run the join handler without one)
    everything = bare if args.without_window else run("all", events, args.batch, EVENT_HANDLERS)
    from qunyun.bus.models import OutboxItem

    cases = OutboxItem.objects.filter(kind="open_case", community__slug="bench-moderation").count()
    print(f"RESULT {bare:.6f} {moderation:.6f} {everything:.6f} {cases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--members", type=int, default=3_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--without-window", action="store_true",
                        help="diagnosis: switch the behaviour window off (flood, duplicate and raid detectors)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    rates: dict[str, list[float]] = {"bare": [], "moderation": [], "all": []}
    for i in range(args.repeat):
        out = subprocess.run([sys.executable, __file__, "--child", "--events", str(args.events), "--members",
                              str(args.members), "--batch", str(args.batch)]
                             + (["--without-window"] if args.without_window else []),
                             capture_output=True, text=True, check=True).stdout
        bare, moderation, everything, cases = out.split("RESULT")[1].split()
        for key, seconds in (("bare", bare), ("moderation", moderation), ("all", everything)):
            rates[key].append(args.events / float(seconds))
        print(f"repeat {i + 1}: bare {rates['bare'][-1]:,.0f}/s, moderation {rates['moderation'][-1]:,.0f}/s, "
              f"all handlers {rates['all'][-1]:,.0f}/s ({cases} cases decided)")
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"live path, {args.events:,} events, {args.batch} per ingest call, median of {args.repeat}:")
    print(f"  bare bus (baseline)     {med['bare']:>9,.0f} events/s")
    label = "+ moderation, no window" if args.without_window else "+ moderation handlers  "
    print(f"  {label} {med['moderation']:>9,.0f} events/s  ratio {med['moderation'] / med['bare']:.2f}")
    if not args.without_window:
        print(f"  + every handler         {med['all']:>9,.0f} events/s  ratio {med['all'] / med['bare']:.2f}")


if __name__ == "__main__":
    main()

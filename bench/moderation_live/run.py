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

``--corpus game`` checks instead what the live handler decides on REAL group chat: lines of the
shared ads-zh-game-chat set (train file; label 0 = chat, label 1 = gold-selling ad) in three
groups, one message every ``--spacing`` seconds (default 2) from 2,000 members, through the
moderation handlers with the
default policy. It prints how many lines of each label opened a case, and by which action.
(Label 0 of that set also holds other adverts — cheats, boosting, porn — so a case on a label-0
line is not necessarily a false positive.)
"""

from __future__ import annotations

import argparse
import json
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


def game_child(args) -> None:
    """Real game-chat lines through the moderation handlers; cases by label of the line."""
    from collections import Counter

    home = tempfile.mkdtemp(prefix="qunyun-bench-modlive-")
    setup_django(home)
    from qunyun.bus.models import OutboxItem
    from qunyun.core import events as ev
    from qunyun.moderation.handlers import moderate_join, moderate_message

    corpus = Path(os.environ.get("QUNYUN_SHARED_DATA", "/work/shared/data")) / "ads-zh-game-chat" / "train.tsv"
    label: dict[str, str] = {}
    lines = []
    with open(corpus, encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            lab, _, text = line.rstrip("\n").partition("\t")
            if lab in ("0", "1") and text and text not in label:
                label[text] = lab
                lines.append(text)
    lines = lines[: args.events]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = [ev.MessagePosted(chat=f"bench:room{i % 3}", event_id=str(i), at=start + timedelta(seconds=args.spacing * i),
                               author=ev.Account(id=f"bench:u{(i * 7919) % 2000}", name=f"member {(i * 7919) % 2000}"),
                               text=text) for i, text in enumerate(lines)]
    handlers = {ev.MessagePosted: (moderate_message,), ev.MemberJoined: (moderate_join,)}
    run("game", events, args.batch, handlers)
    totals = Counter(label[t] for t in lines)
    cases: Counter = Counter()
    for kind_text, details in OutboxItem.objects.filter(kind="open_case").values_list("event__text", "payload"):
        action = (details or {}).get("action") or (details or {}).get("details", {}).get("action", "?")
        cases[(label.get(kind_text or "", "?"), action)] += 1
    print("GAME", json.dumps({"totals": totals, "cases": {f"{k[0]}|{k[1]}": v for k, v in cases.items()}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--members", type=int, default=3_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--without-window", action="store_true",
                        help="diagnosis: switch the behaviour window off (flood, duplicate and raid detectors)")
    parser.add_argument("--corpus", choices=("generated", "game"), default="generated",
                        help="game: real game-chat lines, report the cases opened per label instead of speed")
    parser.add_argument("--spacing", type=float, default=2.0,
                        help="with --corpus game: seconds between two messages (0.1 = 10 messages/s over 3 groups)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        game_child(args) if args.corpus == "game" else child(args)
        return
    if args.corpus == "game":
        out = subprocess.run([sys.executable, __file__, "--child", "--corpus", "game", "--events", str(args.events),
                              "--batch", str(args.batch), "--spacing", str(args.spacing)],
                             capture_output=True, text=True, check=True).stdout
        report = json.loads(out.split("GAME", 1)[1])
        for lab, name in (("0", "label 0 (chat)"), ("1", "label 1 (gold-selling ads)")):
            total = report["totals"].get(lab, 0)
            by_action = {k.split("|", 1)[1]: v for k, v in report["cases"].items() if k.split("|", 1)[0] == lab}
            opened = sum(by_action.values())
            print(f"{name}: {total:,} lines, {opened:,} cases ({opened / max(total, 1):.1%}): "
                  + ", ".join(f"{a} {n:,}" for a, n in sorted(by_action.items(), key=lambda kv: -kv[1])))
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

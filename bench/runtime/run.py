"""Benchmark: events through the full live path (connections' ingest → store → handlers → outbox
→ the outbox worker → a fake adapter), against the bare store path, on SQLite.

    .venv/bin/python bench/runtime/run.py [--events 20000] [--rate 500] [--seconds 20] [--repeat 3] [--corpus game]

The process is pinned to one CPU core (the last one by default; `--all-cores`: not pinned), on a fresh SQLite
database (WAL, the product's settings).
Every measurement gets its own warmed-up community: ``--groups`` groups whose ``--members``
members have all spoken once (stored through the store being measured, no handlers), so the
measured events meet known members and a warm cache, as a running bot's do.

The stream is ordinary group chat: real chat lines (by default game-community comments that both
the original labels and the LLM relabel of ``comments-zh-game-community`` call normal; with
``--corpus game`` the label-0 lines of ``ads-zh-game-chat``, about a sixth of which are in fact
adverts), 1.5 % real ads (label 1 of ``ads-zh-game-chat``), 2 % joins of newcomers (each gets the welcome),
0.5 % members asking for the rules. Chatty members speak more often than quiet ones; members
speak mostly in their home group. At 500 events/s over 500 groups a group sees about one line a
second, as a busy community does (moderation judges 30 lines in 10 s in one group a flood).

* throughput: ``--events`` such events handed one per call to the per-community writer
  (:func:`qunyun.connections.ingest.ingest_submit`, as webhooks do; it commits whatever has
  arrived together), until every decision they caused is executed by the outbox worker thread.
  Events/s by the process's CPU time (the machine is shared) and by wall clock. Baseline in the
  same run: the same kind of events through the bare store (``EventStore.store`` in transactions
  as large as the live writer's mean batch, no handlers, no outbox), by CPU time too.
* latency: the same stream sent open-loop at ``--rate`` events/s for ``--seconds`` (each event on
  its schedule, never waiting for the previous one), stamped with the time it is sent; for every
  decision an event caused that is due at once, the time from the event's scheduled arrival to the
  fake adapter executing it (platform decisions: welcomes, deletions, mutes, rules answers) or
  to its row being marked done (decisions qunyun carries out itself: moderation cases). p50/p99.

Both run with the product's handler table and again without the moderation app's handlers.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

import breakdown  # noqa: E402 (this directory: the tracing of --breakdown and --gc-log)
from breakdown import pct  # noqa: E402

DATA = Path("/work/shared/data")
CORPUS = DATA / "ads-zh-game-chat" / "train.tsv"  # the ads (label 1), and the old chat lines (label 0)
COMMENTS = DATA / "comments-zh-game-community" / "llm_relabel_yaokui2018.tsv"
SHARES = {"ad": 0.015, "join": 0.02, "rules": 0.005}


def corpus(kind: str = "comments") -> tuple[list[str], list[str]]:
    """Real group-chat lines and real ads from the shared data sets (varied text without them).

    ``comments``: the chat lines are game-community comments that both the original labels and
    the LLM relabel call normal (the first 50,000 distinct ones); ``game``: the label-0 lines of
    ``ads-zh-game-chat`` (the earlier stream: about a sixth of them are in fact adverts). The ads
    are the label-1 lines of ``ads-zh-game-chat`` either way.
    """
    if CORPUS.exists() and (kind == "game" or COMMENTS.exists()):
        chat, ads = [], []
        for line in CORPUS.read_text(encoding="utf-8").splitlines()[1:]:
            label, _, text = line.partition("\t")
            (ads if label == "1" else chat).append(text)
        if kind == "comments":
            seen: dict[str, None] = {}
            with open(COMMENTS, encoding="utf-8") as fh:
                next(fh)
                for line in fh:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) == 4 and parts[0] == parts[1] == "normal" and parts[3].strip():
                        seen.setdefault(parts[3], None)
                        if len(seen) >= 50000:
                            break
            chat = list(seen)
        return chat, ads
    print(f"note: {CORPUS} or {COMMENTS} is missing; using generated lines and one ad", file=sys.stderr)
    words = "茶 龙井 普洱 今天 明天 一起 喝 好 香 周末 活动 报名 老师 分享 问题 谢谢".split()
    return ([" ".join(words[(i * k) % len(words)] for k in range(1, 6 + i % 5)) for i in range(5000)],
            ["加我微信 abc12345 便宜代购"])


_CORPORA: dict[str, tuple[list[str], list[str]]] = {}


def _corpus_cached(kind: str) -> tuple[list[str], list[str]]:
    if kind not in _CORPORA:
        _CORPORA[kind] = corpus(kind)
    return _CORPORA[kind]


class Stream:
    """Ordinary group chat of one community, event by event (deterministic for a seed)."""

    def __init__(self, *, groups: int, members: int, seed: int, kind: str = "comments") -> None:
        self.chat, self.ads = _corpus_cached(kind)
        self.groups, self.members = groups, members
        self.rng = random.Random(seed)
        self.seed = seed
        self.n = 0

    def account(self, index: int):
        from qunyun.core import events as ev

        return ev.Account(id=f"bench:u{index}", name=f"member {index}")

    def warm_up(self, at: datetime) -> list:
        """One line from every member in their home group (the history a live bot starts from)."""
        from qunyun.core import events as ev

        return [ev.MessagePosted(chat=f"bench:g{m % self.groups}", event_id=f"w{m}", at=at + timedelta(milliseconds=m),
                                 author=self.account(m), text=self.chat[m % len(self.chat)])
                for m in range(self.members)]

    def next(self, at: datetime):
        from qunyun.core import events as ev

        self.n += 1
        rng, key = self.rng, f"s{self.seed}-{self.n}"
        # Chatty members speak more: the top 10 % write ~16 % of the lines, the chattiest one
        # ~0.06 % (one line every 3 s at 500 events/s: busy, not flooding).
        member = int(self.members * rng.random() ** 1.25) * 7919 % self.members
        chat = f"bench:g{member % self.groups if rng.random() < 0.8 else rng.randrange(self.groups)}"
        roll = rng.random()
        if roll < SHARES["join"]:
            return ev.MemberJoined(chat=chat, event_id=key, at=at,
                                   member=ev.Account(id=f"bench:new{self.seed}-{self.n}", name=f"newcomer {self.n}"))
        roll -= SHARES["join"]
        if roll < SHARES["ad"]:
            text = rng.choice(self.ads)
        elif roll < SHARES["ad"] + SHARES["rules"]:
            text = "/rules"
        else:
            text = rng.choice(self.chat)
        return ev.MessagePosted(chat=chat, event_id=key, at=at, author=self.account(member), text=text)


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


def setup(home: str) -> None:
    os.environ["QUNYUN_HOME"] = home
    os.environ.pop("QUNYUN_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_CONNECTIONS"] = "0"
    import logging

    from qunyun.cli.bootstrap import django_ready

    django_ready()
    logging.getLogger("qunyun").setLevel(logging.WARNING)


def community_new(slug: str, stream: Stream, *, live: bool = True):
    """The community, its welcome, and its members' warm-up history: stored through the live
    runtime's own store (no handlers), so its caches know the members as a running bot's do —
    or, for the baseline, through the bare store that is then measured (returned with it)."""
    from qunyun.bus.outbox import write_transaction
    from qunyun.bus.store import EventStore
    from qunyun.communities.services import community_create
    from qunyun.connections.ingest import runtime_for
    from qunyun.onboarding.services import welcome_set

    community = community_create(slug=slug, name=slug, time_zone="Asia/Shanghai", rules_text="1. Be kind.")
    community.settings = {"guard": {"enabled": True, "mute_seconds": 600}}
    community.save()
    welcome_set(community=community, text="欢迎 {name} 加入 {group}！群里现在 {member_count} 人。")
    store = runtime_for(community.pk).store if live else EventStore(community, keep_raw=True)
    history = stream.warm_up(datetime.now(timezone.utc) - timedelta(days=1))
    for start in range(0, len(history), 2000):
        with write_transaction():
            store.store(history[start:start + 2000])
    return community, store


def handler_tables():
    """The product's table, and the same without moderation (the detectors, the guard, their cases)."""
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


def outbox_drained() -> None:
    from django.utils import timezone as djtz

    from qunyun.bus.models import OutboxItem

    due = OutboxItem.objects.filter(status__in=("pending", "running"), due_at__lte=djtz.now())
    while due.exists():
        time.sleep(0.01)


def run_live(n: int, stream: Stream, community) -> tuple[float, float, int, tuple[int, int]]:
    """Seconds of CPU and of wall clock to take ``n`` events to executed decisions."""
    from qunyun.connections.ingest import ingest_submit, writer_batches

    now = datetime.now(timezone.utc)
    events = [stream.next(now + timedelta(milliseconds=2 * i)) for i in range(n)]
    batches_before = writer_batches(community.pk)
    threads0 = breakdown.thread_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    futures = [ingest_submit(community.pk, [event]) for event in events]  # one per call, as webhooks
    decisions = sum(f.result().decisions for f in futures)
    outbox_drained()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if breakdown.BREAKDOWN:
        breakdown.print_threads(threads0, cpu, "share of the run's CPU")
    after = writer_batches(community.pk)
    return cpu, wall, decisions, (after[0] - batches_before[0], after[1] - batches_before[1])


def run_bare(n: int, stream: Stream, community_and_store, batch: int) -> float:
    """Seconds of CPU to store ``n`` events of the same kind through the bare store."""
    from qunyun.bus.outbox import write_transaction

    now = datetime.now(timezone.utc)
    events = [stream.next(now + timedelta(milliseconds=2 * i)) for i in range(n)]
    _community, store = community_and_store
    cpu = time.process_time()
    for start in range(0, n, batch):
        with write_transaction():
            store.store(events[start:start + batch])
    return time.process_time() - cpu


def run_latency(rate: float, seconds: float, stream: Stream, community, fake: TimedFake):
    """Open-loop: event i is sent at t0 + i/rate whatever happened to the earlier ones."""
    from qunyun.bus.models import OutboxItem
    from qunyun.connections.ingest import ingest_submit

    n = int(rate * seconds)
    # The community's live writer started before the clock, as a running server's is: the first
    # writer of the process starts the server's collector policy (one full collection of the heap,
    # ~60 ms), which, with --skip-throughput, otherwise fell on the first events measured.
    from qunyun.connections.ingest import _writer

    _writer(community.pk)
    received: dict[str, tuple[float, float]] = {}
    written = breakdown.writes_noted()
    futures, late = [], 0
    cpu0 = time.process_time()
    threads0 = breakdown.thread_cpu()
    gclog = breakdown.GcLog().__enter__()
    t0 = time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)  # one sleep, no polling: the sender's own CPU is not the bot's
        now = time.perf_counter()
        late = max(late, now - due)
        event = stream.next(datetime.now(timezone.utc))
        # Measured from the scheduled time: a sender that fell behind does not hide the delay.
        received[event.key] = (due, time.time() - (now - due))
        futures.append(ingest_submit(community.pk, [event]))
    for future in futures:
        future.result()
    outbox_drained()
    busy = (time.process_time() - cpu0) / (time.perf_counter() - t0)
    gclog.__exit__()
    gclog.report()
    if breakdown.BREAKDOWN:
        breakdown.print_threads(threads0, time.perf_counter() - t0, "share of a core")
    platform, internal = [], []
    rows = OutboxItem.objects.filter(community=community, event__isnull=False).exclude(key__endswith="|end")
    for pk, event_key, status, executed_at, created, due_at in rows.values_list(
            "pk", "event__key", "status", "executed_at", "created_at", "due_at"):
        if event_key not in received or due_at > created + timedelta(seconds=1):
            continue  # a decision for later (a screening timeout), not one to carry out now
        perf, wall = received[event_key]
        done = fake.executed.get(f"qunyun-{pk}")
        if done is not None:
            platform.append((done - perf) * 1000)
        elif status == "done" and executed_at is not None:
            internal.append((executed_at.timestamp() - wall) * 1000)
    if breakdown.BREAKDOWN:
        breakdown.report(received, written, fake, rows)
    return sorted(platform), sorted(internal), late * 1000, busy


def heap_side(args, on: bool, *, starting: bool = False) -> None:
    """The live server's heap policy on or off (off: as in session 3, the heap frozen once when the
    first writer starts, nothing after, CPython's 5 ms switch interval). Turned on between runs, it
    first re-freezes at once (outside the measurement), as it would within its first second."""
    import gc

    from qunyun.connections import heap

    policy = heap.POLICY
    if on:
        policy.refreeze_every = heap.REFREEZE_EVERY_SECONDS if args.refreeze_every is None else args.refreeze_every
        policy.switch_interval = heap.SWITCH_INTERVAL_SECONDS if args.switch_interval is None else args.switch_interval / 1000
    else:
        policy.refreeze_every, policy.switch_interval = 0, None
    if starting:
        return  # the first live writer starts the policy
    sys.setswitchinterval(policy.switch_interval or 0.005)
    if on and policy.refreeze_every:
        gc.collect()
        gc.freeze()


def _wal_bytes(home: str) -> int:
    """The size of the SQLite write-ahead log file (it keeps the largest size the log reached)."""
    return sum(path.stat().st_size for path in Path(home).glob("*.sqlite3-wal"))


#: The product's switches a latency run can set or compare: (option, value meaning off, value
#: meaning on, what it switches, what "off" was).
SWITCHES = (
    ("--staged-rollups", "off", "on", "the deferred rollups computed in a read transaction and written in a short "
     "one (qunyun.bus.deferred.STAGED)", "one write transaction, as in session 4"),
    ("--writer-gap", "wall", "cpu", "the live writer's wait after a transaction, as long as that one took of the "
     "writer's CPU or of wall time (qunyun.connections.ingest.GAP_BY_CPU)", "before session 6"),
    ("--rollups-yield", "off", "on", "the staged rollups wait for this process's writers to let the turn go before "
     "each statement of their read part and before writing (qunyun.bus.deferred.YIELD_TO_WRITERS)",
     "before session 6"),
    ("--wal-restart", "off", "on", "the checkpointer completes a checkpoint in the writers' turn once the WAL is "
     "long, so that the log starts again (qunyun.bus.wal.RESTART_AFTER_FRAMES)", "before session 6: the log grows"),
    ("--rollup-parts", "off", "on", "the staged rollups written in several short transactions, a table each "
     "(qunyun.bus.deferred.WRITE_IN_PARTS)", "one write transaction, before session 7"),
    ("--wal-presync", "off", "on", "the checkpointer syncs the database and the log before taking the writers' "
     "turn for its completing checkpoint (qunyun.bus.wal.SYNC_BEFORE_TURN)", "before session 7"),
    ("--gather-max", "off", "on", "the live writer's wait between transactions capped at 8 ms "
     "(qunyun.connections.ingest.GATHER_MAX_SECONDS)", "20 ms, before session 7"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--bare-batch", type=int, default=0,
                        help="events per transaction of the baseline (default: the live writer's mean batch)")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--only", choices=["product", "without moderation"])
    parser.add_argument("--corpus", choices=["comments", "game"], default="comments",
                        help="chat lines: game-community comments labelled normal (default) or the earlier "
                        "ads-zh-game-chat label-0 lines (about a sixth are adverts)")
    parser.add_argument("--core", type=int, help="index of the core to pin to (default: the last one; the other "
                        "benchmarks of this repository pin to the first)")
    parser.add_argument("--all-cores", action="store_true",
                        help="not pinned: every core of the machine, as a server runs (the throughput target is "
                        "per core: its figures are by CPU time either way)")
    parser.add_argument("--commit-interval", type=lambda text: [float(v) for v in text.split(",")],
                        help="latency: run once per value, the live writer's commit interval in ms (e.g. 0,5,10)")
    parser.add_argument("--rollup-every", type=lambda text: [float(v) for v in text.split(",")],
                        help="seconds between the deferred rollups' applications; several (e.g. 0.25,0.1,0.1,0.25): "
                        "latency run once per value, in that order (throughput with the first)")
    parser.add_argument("--skip-throughput", action="store_true", help="latency only")
    parser.add_argument("--breakdown", action="store_true",
                        help="latency: also the time queued, in the writer's transaction and in the outbox worker")
    parser.add_argument("--heap-policy", choices=["on", "off", "ab"], default="on",
                        help="the live server's collector policy and switch interval (qunyun.connections.heap): "
                        "on (as served), off (as in session 3: the heap frozen once at start, 5 ms switch interval), "
                        "or ab: each latency run done --ab-rounds times per side in one process, off/on alternating")
    parser.add_argument("--ab-rounds", type=int, default=2, help="with --heap-policy ab: latency runs per side")
    parser.add_argument("--refreeze-every", type=float, help="heap policy on: seconds between re-freezes (0: none)")
    parser.add_argument("--switch-interval", type=float, help="heap policy on: the GIL switch interval in ms")
    parser.add_argument("--gc-log", action="store_true", help="latency: every collection's duration by generation")
    for option, off, on, what, was in SWITCHES:
        parser.add_argument(option, choices=[on, off, "ab"], default=on,
                            help=f"{what}: {on} (as served), {off} ({was}), or ab: each latency run done "
                            f"--ab-rounds times per side, {off}/{on} alternating")
    args = parser.parse_args()
    choices = {option: getattr(args, option[2:].replace("-", "_")) for option, *_ in SWITCHES}
    switches = [args.heap_policy, *choices.values()]
    if switches.count("ab") > 1:
        parser.error(", ".join(["--heap-policy", *choices]) + ": one comparison (ab) at a time")
    breakdown.BREAKDOWN, breakdown.GC_LOG = args.breakdown, args.gc_log
    heap_side(args, args.heap_policy != "off", starting=True)
    if hasattr(os, "sched_setaffinity") and not args.all_cores:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[args.core] if args.core is not None else cores[-1]})
    home = tempfile.mkdtemp(prefix="qunyun-bench-runtime-")
    atexit.register(shutil.rmtree, home, True)  # the databases (tens of MB a run) go with the process
    setup(home)
    from qunyun.bus import deferred

    if args.rollup_every is not None:
        deferred.ROLLUP_EVERY_SECONDS = args.rollup_every[0]
    from qunyun.bus import wal
    from qunyun.connections import ingest

    restart_frames = wal.RESTART_AFTER_FRAMES
    # What sets the product to each switch's side, how the latency line names a side, the words
    # for off and on.
    sides = {
        "--staged-rollups": ("staged rollups {}", ("off", "on"), lambda on: setattr(deferred, "STAGED", on)),
        "--writer-gap": ("writer's gap by {}", ("wall time", "CPU"), lambda on: setattr(ingest, "GAP_BY_CPU", on)),
        "--rollups-yield": ("rollups yield {}", ("off", "on"), lambda on: setattr(deferred, "YIELD_TO_WRITERS", on)),
        "--wal-restart": ("WAL restart {}", ("off", "on"),
                          lambda on: setattr(wal, "RESTART_AFTER_FRAMES", restart_frames if on else 0)),
        "--rollup-parts": ("rollups written in {}", ("one", "parts"),
                           lambda on: setattr(deferred, "WRITE_IN_PARTS", on)),
        "--wal-presync": ("WAL presync {}", ("off", "on"), lambda on: setattr(wal, "SYNC_BEFORE_TURN", on)),
        "--gather-max": ("gather at most {} ms", ("20", "8"),
                         lambda on: setattr(ingest, "GATHER_MAX_SECONDS", 0.008 if on else 0.02)),
    }
    toggles = [(choices[option], off, *sides[option]) for option, off, *_rest in SWITCHES]
    for choice, off, _name, _words, set_side in toggles:
        set_side(choice != off)

    from qunyun.bus.registry import adapter_register
    from qunyun.server import start_background

    fake = TimedFake()
    adapter_register(fake)
    start_background(connections=False)
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    for label, table in handler_tables().items():
        if args.only and label != args.only:
            continue
        use_handlers(table)
        rates: dict[str, tuple[list, list, list]] = {}  # by heap policy side: live CPU, live wall, bare CPU
        for r in range(0 if args.skip_throughput else args.repeat):
            side = ""
            if args.heap_policy == "ab":  # ABBA order over the runs
                on = (r % 4) in (1, 2)
                heap_side(args, on)
                side = f"heap policy {'on' if on else 'off'}, "
            stream = Stream(groups=args.groups, members=args.members, kind=args.corpus, seed=r)
            cpu, wall, decisions, (batches, stored) = run_live(args.events, stream, community_new(f"live{r}-{len(label)}", stream)[0])
            # The baseline stores in transactions of the size the live writer's group commit made.
            bare_batch = args.bare_batch or max(1, round(stored / max(batches, 1)))
            stream = Stream(groups=args.groups, members=args.members, kind=args.corpus, seed=r)
            bare = run_bare(args.events, stream, community_new(f"bare{r}-{len(label)}", stream, live=False), bare_batch)
            live_rates, wall_rates, bare_rates = rates.setdefault(side, ([], [], []))
            live_rates.append(args.events / cpu)
            wall_rates.append(args.events / wall)
            bare_rates.append(args.events / bare)
            print(f"[{label}] run {r + 1}: {side}live {args.events / cpu:7.0f} events/s CPU ({args.events / wall:.0f} wall), "
                  f"{decisions} decisions, writer batches {batches} (mean {stored / max(batches, 1):.0f} events)"
                  f" | bare store {args.events / bare:7.0f} events/s CPU (transactions of {bare_batch})", flush=True)
        for side, (live_rates, wall_rates, bare_rates) in rates.items():
            live, bare = statistics.median(live_rates), statistics.median(bare_rates)
            print(f"[{label}] throughput, {side}median of {len(live_rates)}, one core: live path {live:.0f} events/s CPU "
                  f"({statistics.median(wall_rates):.0f} wall), bare store {bare:.0f} events/s CPU, "
                  f"ratio live/bare {live / bare:.2f}", flush=True)

        runs = [(interval, every, None) for interval in args.commit_interval or [None]
                for every in (args.rollup_every if args.rollup_every and len(args.rollup_every) > 1 else [None])]
        if "ab" in switches:  # ABBA order: neither side always runs first
            sides = [side for r in range(args.ab_rounds) for side in ((False, True) if r % 2 == 0 else (True, False))]
            runs = [(interval, every, side) for interval, every, _ in runs for side in sides]
        for n, (interval, every, side) in enumerate(runs):
            if interval is not None:
                ingest.COMMIT_INTERVAL_SECONDS = interval / 1000
            if every is not None:
                deferred.ROLLUP_EVERY_SECONDS = every
            if side is not None and args.heap_policy == "ab":
                heap_side(args, side)
            for choice, _off, _name, _words, set_side in toggles:
                if side is not None and choice == "ab":
                    set_side(side)
            stream = Stream(groups=args.groups, members=args.members, kind=args.corpus, seed=99)
            community, _store = community_new(f"lat-{len(label)}-{n}", stream)
            fake.executed.clear()
            load = open("/proc/loadavg").read().split()[0]
            platform, internal, late, busy = run_latency(args.rate, args.seconds, stream, community, fake)
            policy = "" if side is None and args.heap_policy == "on" else f"heap policy {'on' if side or (side is None and args.heap_policy == 'on') else 'off'}, "
            for choice, off, name, words, _set in toggles:
                if choice == "ab":
                    policy = name.format(words[bool(side)]) + ", "
                elif choice == off:
                    policy += name.format(words[0]) + ", "
            print(f"[{label}] latency at {args.rate:.0f} events/s open-loop for {args.seconds:.0f} s ({policy}load {load}, "
                  f"commit interval {ingest.COMMIT_INTERVAL_SECONDS * 1000:g} ms, "
                  f"rollups every {deferred.ROLLUP_EVERY_SECONDS:g} s, "
                  f"sender at most {late:.1f} ms behind schedule, process CPU {busy:.0%} of a core): platform decisions ({len(platform)}) "
                  f"p50 {pct(platform, 0.5):.1f} ms, p99 {pct(platform, 0.99):.1f} ms, max {pct(platform, 1):.1f} ms; "
                  f"internal ({len(internal)}) p50 {pct(internal, 0.5):.1f} ms, p99 {pct(internal, 0.99):.1f} ms; "
                  f"WAL file {_wal_bytes(home) / 1e6:.0f} MB", flush=True)
    if breakdown.GC_LOG:  # what the re-freezes left frozen that has died since: one sweep, after the measurements
        from qunyun.connections.heap import POLICY

        cpu, wall = time.process_time(), time.perf_counter()
        freed = POLICY.sweep()
        print(f"heap sweep at the end: {freed} dead objects freed from the frozen heap "
              f"({(time.perf_counter() - wall) * 1000:.0f} ms, {(time.process_time() - cpu) * 1000:.0f} ms CPU)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

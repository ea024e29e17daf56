"""One database engine's half of the analytics benchmark (run by bench/analytics/run.py).

    python bench/analytics/engine.py --engine sqlite|postgres --messages N --members M --days D

Builds (or reuses) the benchmark community — the demo simulator's scaled community, loaded
through the bus store in import mode without raw payloads — then measures, and prints one JSON
line: the dashboard's figures from the rollups (cold and warm), the figures read from the event
log, a full rollup rebuild (and that it gives the same figures), and the incremental update for
1,000 new events.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "analytics"
END = datetime(2026, 6, 1, tzinfo=timezone.utc)
SEED = 7
# Bumped when the set of rollup tables changes: a database built by older code gets one full
# rebuild before it is measured (the incremental path is checked to equal the rebuild by the tests).
ROLLUPS_VERSION = 5


def tag(args) -> str:
    return f"{args.members}m-{args.messages}msg-{args.days}d"


def database_url(args) -> str:
    if args.engine == "sqlite":
        return f"sqlite:///{OUT / f'bench-{tag(args)}.sqlite3'}"
    return f"postgresql://root@127.0.0.1:5432/qunyun_bench_{tag(args).replace('-', '_')}"


def ensure_postgres_database(url: str, *, fresh: bool) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build(args) -> dict:
    """The benchmark community, built on first use and then kept (marked complete in its settings)."""
    from qunyun.bus.runtime import Runtime
    from qunyun.communities.models import Community
    from qunyun.demo import make_plan, simulate
    from qunyun.demo.build import demo_create

    params = {"messages": args.messages, "members": args.members, "days": args.days, "seed": SEED}
    found = Community.objects.filter(slug="big").first()
    if found is not None and (found.settings or {}).get("bench", {}).get("params") == params \
            and found.settings["bench"].get("complete"):
        say(f"reusing the {args.engine} database built earlier ({found.settings['bench']['seconds']:.0f} s to build)")
        return found.settings["bench"]
    if found is not None:
        raise SystemExit("an incomplete benchmark database is in the way: run again with --fresh")
    if args.engine == "postgres":
        from pgcopy import pg_copy

        sqlite_file = OUT / f"bench-{tag(args)}.sqlite3"
        if not sqlite_file.exists():
            raise SystemExit(f"PostgreSQL is loaded from the SQLite run's database: run --engine sqlite first "
                             f"({sqlite_file} is missing)")
        say("copying the SQLite benchmark database into PostgreSQL")
        seconds = pg_copy(str(sqlite_file), say)
        community = Community.objects.get(slug="big")
        info = dict(community.settings["bench"])
        if not info.get("complete"):
            raise SystemExit("the SQLite benchmark database is not complete yet")
        info["copied_seconds"] = round(seconds, 1)
        say(f"copied in {seconds:.0f} s")
        return info
    if args.engine == "sqlite":
        # A page cache the size of the growing event table's indexes (SQLite's default is 2 MiB):
        # each event's key lands at a random place in the unique-key index, and with the default
        # every such insert copied pages in from the OS, slowing the load as the table grew.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -4194304")  # KiB: 4 GiB, for this process only
    plan = make_plan(seed=SEED, days=args.days, end=END, members=args.members, target_messages=args.messages)
    community = demo_create(plan=plan, seed=SEED, scale=1.0)
    runtime = Runtime(community, mode="import", keep_raw=False)
    started = time.perf_counter()
    stored = 0
    # The bench's bulk load: every event goes through the store (members, identities, memberships,
    # the event rows exactly as a real import writes them), but the rollups are not kept per batch;
    # qunyun's own full rebuild computes them once at the end (a test holds the rebuild equal to
    # the incremental path). The incremental path is measured on its own below (1,000 events).
    import qunyun.bus.store as store_module

    kept = store_module.rollups_apply, store_module.EventStore._apply_rollups
    store_module.rollups_apply = lambda **_kwargs: None
    store_module.EventStore._apply_rollups = lambda _self, _fresh: None

    def progress(day: int, total: int) -> None:
        if day % 15 == 0 or day == total:
            rate = stored / max(1e-9, time.perf_counter() - started)
            say(f"  day {day}/{total}: {stored:,} events stored ({rate:,.0f}/s)")

    batch: list = []
    for event in simulate(seed=SEED, days=args.days, end=END, members=args.members,
                          target_messages=args.messages, on_day=progress):
        batch.append(event)
        if len(batch) >= 20000:
            stored += runtime.ingest_batch(batch).stored
            batch = []
    if batch:
        stored += runtime.ingest_batch(batch).stored
    store_module.rollups_apply, store_module.EventStore._apply_rollups = kept
    seconds = time.perf_counter() - started
    # No rollups yet (rollups_version None): main() rebuilds them once before anything is measured.
    info = {"params": params, "complete": True, "seconds": round(seconds, 1), "events": stored,
            "rollups_version": None}
    community.settings = {**(community.settings or {}), "bench": info}
    community.save(update_fields=["settings"])
    say(f"loaded: {stored:,} events in {seconds:.0f} s ({stored / seconds:,.0f} events/s); the rollups come next")
    return info


def timed(fn, runs: int) -> tuple[float, list[float], object]:
    """(first run, the following runs, result); times in seconds."""
    started = time.perf_counter()
    result = fn()
    first = time.perf_counter() - started
    warm = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - started)
    return first, warm, result


def new_events(community, index: int, n: int = 1000) -> list:
    """``n`` events after the history: messages by existing members (a fifth replying), 10 % reactions."""
    from qunyun.communities.models import Group, Identity
    from qunyun.core import events as ev

    groups = list(Group.objects.filter(community=community).order_by("pk").values_list("chat_id", flat=True)[:20])
    people = Identity.objects.filter(community=community, is_bot=False).order_by("pk")
    first = (index * 500) % max(1, people.count() - 400)  # small benchmark communities wrap around
    accounts = list(people.values_list("account_id", "display_name")[first:first + 400])
    at = END + timedelta(days=index, hours=1)
    out = []
    for i in range(n):
        chat = groups[i % len(groups)]
        who = ev.Account(*accounts[(i * 7) % len(accounts)])
        at += timedelta(seconds=3)
        if i % 10 == 9:
            out.append(ev.ReactionAdded(chat=chat, event_id=f"bench-r{index}-{i}", at=at,
                                        message_id=f"bench-{index}-{i - 1}", author=who, emoji="👍"))
        else:
            reply = f"bench-{index}-{i - 20}" if i % 5 == 0 and i >= 20 else None
            out.append(ev.MessagePosted(chat=chat, event_id=f"bench-{index}-{i}", at=at, author=who,
                                        text="新到的凤凰单丛，大家试试？", reply_to=reply))
    return out


def incremental(community, runs: int = 5) -> dict:
    """Ingest 1,000 new events, ``runs`` times (each rolled back), timing the whole and the rollups.

    The rollups are timed by wrapping the functions the store calls for them, whichever this
    version of the store has: the analytics-owned ``rollups_apply``, and the store's own
    (``batch_prepare`` and ``store_rollups_apply``, or the older ``EventStore._apply_rollups``).
    """
    from django.db import transaction

    import qunyun.bus.store as store_module
    from qunyun.bus.runtime import Runtime

    spent = {"store": 0.0, "analytics": 0.0}
    patched: list[tuple[object, str, object]] = []

    def wrap(owner, name: str, bucket: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[bucket] += time.perf_counter() - started

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(store_module, "rollups_apply", "analytics")
    wrap(store_module, "batch_prepare", "store")
    if hasattr(store_module.EventStore, "_apply_rollups"):  # the store's method (it may call store_rollups_apply)
        wrap(store_module.EventStore, "_apply_rollups", "store")
    else:
        wrap(store_module, "store_rollups_apply", "store")
    totals, store_rollups, analytics_rollups = [], [], []

    class Undo(Exception):
        pass

    try:
        runtime = Runtime(community, mode="import", keep_raw=False)
        # Warm the store's caches the way a running process has them (groups, accounts).
        for index in range(runs + 1):
            batch = new_events(community, index)
            spent["store"] = spent["analytics"] = 0.0
            try:
                with transaction.atomic():
                    started = time.perf_counter()
                    result = runtime.ingest_batch(batch)
                    elapsed = time.perf_counter() - started
                    assert result.stored == len(batch), result
                    raise Undo
            except Undo:
                pass  # rolled back: the history stays as built (the batch only used existing members)
            if index:  # the first run fills the caches
                totals.append(elapsed)
                store_rollups.append(spent["store"])
                analytics_rollups.append(spent["analytics"])
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    return {"ingest_1000_median_s": statistics.median(totals), "ingest_1000_runs_s": totals,
            "store_rollups_1000_median_s": statistics.median(store_rollups),
            "analytics_rollups_1000_median_s": statistics.median(analytics_rollups),
            "rollups_1000_median_s": statistics.median(a + b for a, b in zip(store_rollups, analytics_rollups)),
            "rollup_functions_timed": [f"{getattr(o, '__name__', o)}.{n}" for o, n, _ in patched]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached database")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the full rollup rebuild")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the database and stop")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    url = database_url(args)
    if args.engine == "sqlite" and args.fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    if args.engine == "postgres":
        ensure_postgres_database(url, fresh=args.fresh)
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_HOME"] = str(OUT / "home")
    os.environ["QUNYUN_DATABASE_URL"] = url
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from django.db import connection

    from qunyun.analytics.dashboard import log_figures, rollup_figures
    from qunyun.analytics.rollups import rollups_rebuild
    from qunyun.analytics.scope import scope_build
    from qunyun.communities.models import Community

    info = build(args)
    if args.build_only:
        print(json.dumps({"engine": args.engine, "build": info}))
        return 0
    first_rebuild = None
    if info.get("rollups_version") != ROLLUPS_VERSION:
        community = Community.objects.get(slug="big")
        say(f"{args.engine}: no rollups yet, or built by older code: rebuilding them once before measuring")
        first_rebuild = rebuild_timed(community, rollups_rebuild)
        say(f"{args.engine}: first rollup rebuild {first_rebuild['rebuild_s']:.1f} s wall, "
            f"{first_rebuild['rebuild_cpu_s']:.1f} s CPU (load average {first_rebuild['rebuild_load_average'][0]:.1f})")
        info = {**info, "rollups_version": ROLLUPS_VERSION, "first_rebuild_s": round(first_rebuild["rebuild_s"], 1)}
        community.settings = {**community.settings, "bench": info}
        community.save(update_fields=["settings"])
    community = Community.objects.get(slug="big")
    def vacuum() -> None:
        """PostgreSQL: what autovacuum does after a bulk load, done now (index-only scans need it)."""
        if connection.vendor == "postgresql":
            from qunyun.analytics.rollups import ROLLUP_TABLES

            with connection.cursor() as cursor:
                for table in ("qunyun_event", "qunyun_member", "qunyun_membership", *ROLLUP_TABLES):
                    cursor.execute(f"VACUUM ANALYZE {table}")

    vacuum()
    scope = scope_build(community=community)  # the dashboard's default: the last 30 days with data
    result = {"engine": args.engine, "build": info, "range": [scope.start.isoformat(), scope.end.isoformat()]}
    with connection.cursor() as cursor:
        for table in ("qunyun_event", "qunyun_member", "qunyun_member_day", "qunyun_group_hour",
                      "qunyun_member_week", "qunyun_member_month", "qunyun_group"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            result.setdefault("rows", {})[table] = cursor.fetchone()[0]
    say(f"{args.engine}: rows {result['rows']}")

    cpu = []

    def dashboard():
        started = server_cpu()
        out = rollup_figures(scope)
        cpu.append(server_cpu() - started)
        return out

    first, warm, figures = timed(dashboard, 3)
    result["dashboard_rollups_cpu_median_s"] = statistics.median(cpu[1:])
    result["dashboard_rollups_first_s"] = first
    result["dashboard_rollups_warm_s"] = warm
    result["dashboard_rollups_median_s"] = statistics.median(warm)
    say(f"{args.engine}: dashboard from rollups: first {first:.3f} s, median {statistics.median(warm):.3f} s")
    first, warm, _ = timed(lambda: log_figures(scope), 2)
    result["dashboard_log_first_s"] = first
    result["dashboard_log_median_s"] = statistics.median(warm)
    say(f"{args.engine}: conversations and leaders from the log: median {statistics.median(warm):.3f} s")
    overview = figures["overview"]
    result["figures"] = {k: overview[k] for k in ("messages", "authors", "active_members", "joins", "leaves",
                                                   "members_now", "dau", "wau", "mau", "dau_mau")}
    result["figures"]["layers"] = figures["layers"]["counts"]
    result["figures"]["heatmap_messages"] = figures["heatmap"]["messages"]
    result["figures"]["heatmap_member_hours"] = figures["heatmap"]["member_hours"]
    result["figures"]["retention"] = {c["start"]: c["periods"] for c in figures["retention"]["cohorts"]}
    result["figures"]["lifecycle_weekly"] = [[r["start"], r["active"], r["new"], r["returning"], r["resurrecting"],
                                              r["dormant"]] for r in figures["lifecycle_weekly"]]
    total = figures["funnel"]["total"]
    result["figures"]["funnel"] = [total["acquired"], total["activated"], total["retention_eligible"]]
    result["figures"]["top_members_counts"] = [m["messages"] for m in figures["top_members"]]
    result["figures"]["active_days_30"] = {k: v for k, v in overview["active_days"]["last_30_days"].items() if v}
    result["figures"]["daily"] = [[d["date"], d["messages"], d["active_members"], d["joins"], d["leaves"]]
                                  for d in figures["daily"]]

    result.update(incremental(community))
    say(f"{args.engine}: 1,000 new events: ingest {result['ingest_1000_median_s'] * 1000:.1f} ms, of which rollups "
        f"{result['rollups_1000_median_s'] * 1000:.1f} ms (store's {result['store_rollups_1000_median_s'] * 1000:.1f}, "
        f"analytics' {result['analytics_rollups_1000_median_s'] * 1000:.1f})")

    if first_rebuild is not None:  # a full rebuild into empty rollup tables (nothing to delete first)
        result.update(first_rebuild, rebuild_into_empty_tables=True)
    if not args.no_rebuild:
        result.update(rebuild_timed(community, rollups_rebuild), rebuild_into_empty_tables=False)
        say(f"{args.engine}: full rollup rebuild {result['rebuild_s']:.1f} s wall, {result['rebuild_cpu_s']:.1f} s CPU "
            f"(load average {result['rebuild_load_average'][0]:.1f})")
        vacuum()
        again = rollup_figures(scope)
        for key in ("overview", "daily", "heatmap", "retention", "lifecycle_weekly", "layers", "funnel"):
            same = again[key] == figures[key]
            result.setdefault("rebuild_same_figures", {})[key] = same
            if not same:
                say(f"{args.engine}: WARNING: {key} differs after the rebuild")
    print(json.dumps(result))
    (OUT / f"engine-{args.engine}-{tag(args)}.json").write_text(json.dumps(result, indent=1))
    return 0


def server_cpu() -> float:
    """CPU seconds used so far by the database work: this process and the processes it waited
    for, plus the PostgreSQL backend serving its connection (same machine, read from /proc) when
    the engine is PostgreSQL."""
    from django.db import connection

    used = time.process_time()
    finished = os.times()  # worker processes this one started and waited for (a parallel rebuild's)
    used += finished.children_user + finished.children_system
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return used


def rebuild_timed(community, rollups_rebuild) -> dict:
    """One full rebuild: wall and CPU seconds (CPU: this process and PostgreSQL's backend), per step too."""
    cpu: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), server_cpu()
    steps = rollups_rebuild(community, cpu=cpu)
    return {"rebuild_s": time.perf_counter() - started, "rebuild_cpu_s": server_cpu() - cpu_started,
            "rebuild_steps_s": steps, "rebuild_steps_cpu_s": cpu, "rebuild_load_average": os.getloadavg()}


if __name__ == "__main__":
    sys.exit(main())

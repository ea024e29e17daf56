"""Benchmark: console pages on a community of 200,000 members and 10,000,000 events.

    .venv/bin/python bench/console/run.py [--members 200000] [--messages 10000000] [--repeat 5]
                                          [--database-url postgresql://127.0.0.1:5432/bench_console]

The community is the demo simulator scaled up (:func:`qunyun.demo.plan.scaled_plan`), stored
through the bus (``Runtime`` in import mode) — built once and kept in ``bench/out/`` (SQLite) or
in the given PostgreSQL database; a later run reuses it. Each page is then requested through
Django's test client (the full stack: middleware, session, access check, queries, templates)
``--repeat`` times; the median is printed with its ratio against the baseline measured in the
same run: the placeholder section page, which does everything a console page does (login,
session, access check, navigation, template) except read the community's data.

A second comparison shows why the member table sorts in the database: the same page computed
the naive way (every member's 30-day messages loaded into Python, sorted there, then sliced).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
SLUG = "bench-console"


def setup(database_url: str, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    os.environ["QUNYUN_HOME"] = str(home)
    os.environ["QUNYUN_DATABASE_URL"] = database_url
    os.environ.setdefault("QUNYUN_ALLOWED_HOSTS", "testserver,localhost")
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def build(members: int, messages: int, say) -> None:
    """Create the community through the bus unless a complete one is there (resumes otherwise)."""
    from django.db import transaction

    from qunyun.bus.runtime import Runtime
    from qunyun.communities.models import Community
    from qunyun.communities.services import community_create, goal_create, group_create
    from qunyun.demo.plan import scaled_plan
    from qunyun.demo.simulator import Simulator

    community = Community.objects.filter(slug=SLUG).first()
    info = (community.settings or {}).get("bench") if community else None
    if info and info.get("complete"):
        if (info["members"], info["messages"]) == (members, messages):
            say(f"reusing the community built {info['built']}")
            return
        raise SystemExit(f"{SLUG} was built with other sizes ({info}); use another --database-url")
    end = datetime.fromisoformat(info["end"]) if info else datetime.now(timezone.utc).replace(microsecond=0)
    plan = scaled_plan(members=members, target_messages=messages, end=end)
    if community is None:
        with transaction.atomic():
            community = community_create(slug=SLUG, name="Bench console", time_zone=plan.time_zone,
                                         theme=plan.theme, slogan=plan.slogan, rules_text=plan.rules_text)
            community.settings = {"bench": {"members": members, "messages": messages, "end": end.isoformat()}}
            community.save(update_fields=["settings"])
            for group in plan.groups:
                group_create(community=community, chat_id=group.chat_id, name=group.name, size_cap=group.size_cap)
            for goal in plan.goals:
                goal_create(community=community, title=goal.title, target=goal.target, metric=goal.metric,
                            due=plan.end_day + timedelta(days=goal.due_in_days))
    say(f"building: {len(plan.groups)} groups, about {members:,} members and {messages:,} messages "
        "through the bus (once; kept for later runs)")
    started = time.perf_counter()
    count = 0

    def counted(events):
        nonlocal count
        for event in events:
            count += 1
            if count % 1_000_000 == 0:
                say(f"  {count:,} events, {time.perf_counter() - started:.0f} s")
            yield event

    result = Runtime(community, mode="import", keep_raw=False).ingest(counted(Simulator(plan, seed=1).events()),
                                                                      batch_size=5000)
    say(f"stored {result.stored:,} events in {time.perf_counter() - started:.0f} s")
    community.refresh_from_db()
    community.settings["bench"].update(complete=True, built=time.strftime("%Y-%m-%d %H:%M"), events=result.stored)
    community.save(update_fields=["settings"])


def inflate_member_days(target_rows: int, say) -> None:
    """Stress variant (SQLite only): copy member-day rows onto neighbouring days until the rollup
    holds ``target_rows`` rows — the volume a 10,000,000-event history leaves there — so that the
    queries that grow with the history (30-day sums, 7-day distinct counts) are timed at that size.
    The figures shown are then not the simulation's any more; only the timings matter."""
    from django.db import connection, transaction

    from qunyun.communities.models import Community

    community = Community.objects.get(slug=SLUG)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM qunyun_member_day WHERE community_id = %s", [community.pk])
        rows = cursor.fetchone()[0]
        cursor.execute("SELECT MAX(day) FROM qunyun_member_day WHERE community_id = %s", [community.pk])
        last_day = str(cursor.fetchone()[0])
        shift = 0
        while rows < target_rows and shift < 60:
            shift += 1
            with transaction.atomic():
                cursor.execute(
                    "INSERT INTO qunyun_member_day (community_id, group_id, member_id, day, messages, reactions, "
                    "replies, mentions) SELECT community_id, group_id, member_id, date(day, %s), messages, reactions, "
                    "replies, mentions FROM qunyun_member_day WHERE community_id = %s AND day <= date(%s, %s) "
                    "ORDER BY member_id, day LIMIT %s ON CONFLICT DO NOTHING",
                    [f"+{shift} day", community.pk, last_day, f"-{shift} day",
                     target_rows - rows])
            cursor.execute("SELECT COUNT(*) FROM qunyun_member_day WHERE community_id = %s", [community.pk])
            rows = cursor.fetchone()[0]
    say(f"member-day rollup inflated to {rows:,} rows (stress variant)")


def timed(fn, repeat: int) -> float:
    fn()  # warm the caches once, as a console in use would be
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def pin_today(community, say) -> None:
    """Look at the console on the last day of the history (the 7- and 30-day windows then hold
    data even when the database was built weeks ago)."""
    from django.db.models import Max
    from django.utils import timezone as dj_timezone

    from qunyun.communities.models import Event

    last = Event.objects.filter(community=community).aggregate(at=Max("at"))["at"]
    if last is not None:
        dj_timezone.now = lambda: last
        say(f"console's 'now' pinned to the last stored event: {last:%Y-%m-%d %H:%M} UTC")


def measure(repeat: int, say, slug: str = SLUG) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count, Sum
    from django.test import Client

    from qunyun.analytics.models import MemberDay
    from qunyun.communities.models import Community, Event, Group, Member, Membership
    from qunyun.communities.selectors import community_today, member_rows, member_search, window_start

    community = Community.objects.get(slug=slug)
    pin_today(community, say)
    User = get_user_model()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", password="bench-pass-1")
    client = Client()
    client.force_login(user)
    members = Member.objects.filter(community=community).count()
    events = Event.objects.filter(community=community).count()
    member_days = MemberDay.objects.filter(community=community).count()
    say(f"data: {members:,} members, {events:,} events, {member_days:,} member-day rows, "
        f"{Group.objects.filter(community=community).count()} groups ({connection.vendor})")
    biggest = (Membership.objects.filter(group__community=community, is_member=True).values("group_id")
               .annotate(n=Count("id")).order_by("-n").first())["group_id"]
    busiest = (MemberDay.objects.filter(community=community).values("member_id").annotate(n=Sum("messages"))
               .order_by("-n").first())["member_id"]
    base = f"/c/{slug}"
    deep = max(1, Member.objects.filter(community=community).count() // 50 - 1)

    def get(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                return sum(len(chunk) for chunk in response.streaming_content)
            return len(response.content)
        return run

    pages = [
        ("baseline: placeholder page", f"{base}/soon/analytics/"),
        ("community list", "/"),
        ("community overview", f"{base}/"),
        ("members, default (last active)", f"{base}/members/"),
        ("members, by messages (30 d)", f"{base}/members/?sort=-messages"),
        ("members, by name", f"{base}/members/?sort=name"),
        (f"members, by name, page {deep}", f"{base}/members/?sort=name&page={deep}"),
        ("members, by first seen", f"{base}/members/?sort=first_seen"),
        ("members, everyone by last active", f"{base}/members/?status=all"),
        ("members, search '茶'", f"{base}/members/?q=%E8%8C%B6"),
        ("members, search account id", f"{base}/members/?q=qq:7000"),
        ("members, one group", f"{base}/members/?group={biggest}"),
        ("groups", f"{base}/groups/"),
        ("biggest group page", f"{base}/groups/{biggest}/"),
        ("busiest member page", f"{base}/members/{busiest}/"),
    ]
    results = {}
    for label, url in pages:
        results[label] = timed(get(url), repeat)
    baseline = results[pages[0][0]]
    say(f"\n{'page':40s} {'median ms':>10s} {'× baseline':>11s}")
    for label, _url in pages:
        say(f"{label:40s} {results[label] * 1000:10.1f} {results[label] / baseline:11.1f}")

    # The same pages without the panels other areas add (analytics): the shell's own cost.
    from qunyun.console import views

    saved = views.COMMUNITY_PANELS, views.MEMBER_PANELS, views.GROUP_PANELS
    if any(saved):
        views.COMMUNITY_PANELS, views.MEMBER_PANELS, views.GROUP_PANELS = [], [], []
        say(f"\n{'without other areas panels':40s} {'median ms':>10s} {'× baseline':>11s}")
        for label, url in pages:
            if label in ("community overview", "biggest group page", "busiest member page"):
                seconds = timed(get(url), repeat)
                say(f"{label:40s} {seconds * 1000:10.1f} {seconds / baseline:11.1f}")
        views.COMMUNITY_PANELS, views.MEMBER_PANELS, views.GROUP_PANELS = saved

    # CSV export of every current member (streamed); measured once after a warm-up.
    export = get(f"{base}/members/?format=csv&sort=name")
    export_seconds = timed(export, 1)
    rows = member_search(community).count()
    say(f"\nCSV export of {rows:,} members: {export_seconds:.2f} s ({rows / export_seconds:,.0f} rows/s)")

    # The naive way to sort by 30-day messages: everything into Python, sorted there.
    today = community_today(community)

    def naive():
        ids = list(member_search(community).values_list("pk", flat=True))
        totals = dict(MemberDay.objects.filter(community=community, day__gte=window_start(today, 30), day__lte=today)
                      .values("member_id").annotate(n=Sum("messages")).values_list("member_id", "n"))
        ids.sort(key=lambda pk: (-(totals.get(pk) or 0), -pk))
        return member_rows(ids[:50], today=today)

    naive_seconds = timed(naive, repeat)
    db_seconds = results["members, by messages (30 d)"]
    say(f"members by messages, naive (sorted in Python): {naive_seconds * 1000:.1f} ms — "
        f"the database-sorted page takes {db_seconds / naive_seconds:.2f}× of that (whole page included)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default="", help="default: a SQLite file in bench/out/")
    parser.add_argument("--inflate-member-days", type=int, default=0, metavar="ROWS",
                        help="stress variant on a copy of the SQLite database: grow the member-day rollup to ROWS")
    parser.add_argument("--community", default="",
                        help="measure this existing community instead of building one (no build step)")
    args = parser.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    db = out / f"console-{args.members}-{args.messages}.sqlite3"
    if args.inflate_member_days:
        if not db.exists():
            raise SystemExit(f"build {db.name} first (run without --inflate-member-days)")
        import shutil

        copy = out / f"console-{args.members}-{args.messages}-stress{args.inflate_member_days}.sqlite3"
        if not copy.exists():
            import sqlite3

            with sqlite3.connect(db) as conn:  # fold the write-ahead log into the file first
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(db, copy)
        db = copy
    url = args.database_url or f"sqlite:///{db}"
    setup(url, out / "console-home")

    def say(line: str) -> None:
        print(line, flush=True)

    if args.community:
        measure(args.repeat, say, slug=args.community)
    else:
        build(args.members, args.messages, say)
        if args.inflate_member_days:
            inflate_member_days(args.inflate_member_days, say)
        measure(args.repeat, say)
    return 0


if __name__ == "__main__":
    sys.exit(main())

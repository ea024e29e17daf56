"""The dashboard's figures from the rollups alone, on a cached benchmark database (SQLite or PostgreSQL).

    python bench/analytics/dash.py --messages 1000000 --members 20000 [--engine postgres] [--runs 3]
                                   [--save F] [--compare F] [--statements] [--busiest-group]

Reuses the database `engine.py` built (never builds one). Prints the median CPU time of
`rollup_figures` — this process, plus on PostgreSQL the backend serving its connection (same
machine, read from /proc) — and the wall time, the CPU time of each part of the dashboard, and
with ``--compare`` whether the figures equal a saved run's, key by key, and the ratio of its
median CPU time against the saved run's. ``--statements`` lists, for the last run, the SQL
statements by wall time with how many rows each fetched. ``--busiest-group`` measures the
dashboard filtered to the group with the most messages (what an operator looking at one group sees).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "analytics"
sys.path.insert(0, str(Path(__file__).resolve().parent))

PARTS = ("lifecycle_get", "retention_get", "funnel_get", "layers_get", "health_get", "heatmap_get",
         "goals_get", "overview_get", "growth_get", "daily_series")


class Statements:
    """Times every statement of the connection (Django's execute wrapper) while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.seen: list[list] = []  # [seconds, one-line SQL, rows fetched, SQL, parameters]

    def __call__(self, execute, sql, params, many, context):
        if not self.on:
            return execute(sql, params, many, context)
        entry = [0.0, " ".join(sql.split()), 0, sql, params]
        self.seen.append(entry)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry[0] += time.perf_counter() - started
            # SQLite steps through the rows as they are fetched: the fetch is part of the statement.
            wrapper = context["cursor"]
            fetchall = wrapper.cursor.fetchall

            def timed_fetchall():
                began = time.perf_counter()
                rows = fetchall()
                entry[0] += time.perf_counter() - began
                entry[2] = len(rows)
                return rows

            wrapper.fetchall = timed_fetchall


def cpu_clock(connection):
    """A function giving the CPU seconds used so far by this process and, on PostgreSQL, by the backend
    serving its connection (same machine, read from /proc; its pid asked once, not per reading)."""
    if connection.vendor != "postgresql":
        return time.process_time
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return time.process_time() + (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--save", type=Path, help="write the figures and timings here")
    parser.add_argument("--compare", type=Path, help="a file written by --save to compare with")
    parser.add_argument("--statements", action="store_true", help="list the last run's SQL statements by time")
    parser.add_argument("--busiest-group", action="store_true", help="filter to the group with the most messages")
    parser.add_argument("--explain", type=int, default=0, metavar="N",
                        help="with --statements: the plans of the N slowest (PostgreSQL: EXPLAIN ANALYZE)")
    args = parser.parse_args()

    from engine import database_url, tag

    url = database_url(args)
    if args.engine == "sqlite" and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"{url}: no cached database; build it with bench/analytics/engine.py", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_HOME"] = str(OUT / "home")
    os.environ["QUNYUN_DATABASE_URL"] = url
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from django.db import connection

    from qunyun.analytics import dashboard
    from qunyun.analytics.scope import scope_build
    from qunyun.communities.models import Community

    found = Community.objects.filter(slug="big").first()
    with connection.cursor() as cursor:  # the rollups are there (engine.py's or a rebuild's), not only the log
        cursor.execute("SELECT COUNT(*) FROM qunyun_member_stats WHERE community_id = %s", [found.pk if found else 0])
        has_rollups = cursor.fetchone()[0] > 0
    if found is None or not has_rollups:
        print(f"{url}: no benchmark community with rollups; run bench/analytics/engine.py first", file=sys.stderr)
        return 2
    groups = None
    if args.busiest_group:
        with connection.cursor() as cursor:
            cursor.execute("SELECT group_id FROM qunyun_group_day WHERE community_id = %s GROUP BY group_id "
                           "ORDER BY SUM(messages) DESC, group_id LIMIT 1", [found.pk])
            groups = [cursor.fetchone()[0]]
    scope = scope_build(community=found, groups=groups)
    server_cpu = cpu_clock(connection)
    parts: dict[str, list[float]] = {}  # per part: CPU seconds of each run (summed over its calls)
    run = 0  # the run being timed, read by the wrappers
    for name in PARTS:
        original = getattr(dashboard, name)

        def wrapped(*a, _original=original, _name=name, **k):
            started = server_cpu()
            try:
                return _original(*a, **k)
            finally:
                spent = parts.setdefault(_name, [])
                spent.extend([0.0] * (run + 1 - len(spent)))
                spent[run] += server_cpu() - started

        setattr(dashboard, name, wrapped)

    statements = Statements()
    cpu, wall, figures = [], [], None
    with connection.execute_wrapper(statements):
        for run in range(args.runs + 1):  # the first run warms the caches and is not counted; `wrapped` reads run
            statements.on, statements.seen = args.statements and run == args.runs, []
            started, cpu_started = time.perf_counter(), server_cpu()
            figures = dashboard.rollup_figures(scope)
            cpu.append(server_cpu() - cpu_started)
            wall.append(time.perf_counter() - started)
    figures = json.loads(json.dumps(figures, default=str))
    result = {"engine": args.engine, "database": tag(args), "range": [scope.start.isoformat(), scope.end.isoformat()],
              "cpu_median_s": statistics.median(cpu[1:]), "wall_median_s": statistics.median(wall[1:]),
              "first_wall_s": wall[0], "load_average": os.getloadavg(),
              "parts_cpu_median_s": {k: statistics.median(v[1:]) for k, v in parts.items()},
              "figures": figures}
    print(f"dashboard from rollups, {args.engine} {tag(args)}{f', group {groups[0]}' if groups else ''}: CPU median {result['cpu_median_s'] * 1000:.0f} ms, "
          f"wall median {result['wall_median_s'] * 1000:.0f} ms (first {wall[0] * 1000:.0f} ms), "
          f"load average {' '.join(f'{x:.2f}' for x in result['load_average'])}")
    for name, seconds in sorted(result["parts_cpu_median_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<14} {seconds * 1000:7.1f} ms CPU")
    if args.statements:
        seen = statements.seen
        print(f"last run: {len(seen)} statements, {sum(s[0] for s in seen) * 1000:.0f} ms in execute (wall)")
        for seconds, text, rows, _sql, _params in sorted(seen, key=lambda s: -s[0])[:25]:
            print(f"  {seconds * 1000:7.1f} ms {rows:>8} rows  {text[:220]}")
        for seconds, text, _rows, statement, params in sorted(seen, key=lambda s: -s[0])[:args.explain]:
            explain = "EXPLAIN (ANALYZE, BUFFERS) " if args.engine == "postgres" else "EXPLAIN QUERY PLAN "
            with connection.cursor() as cursor:
                cursor.execute(explain + statement, params)
                plan = "\n    ".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())
            print(f"\n{seconds * 1000:.1f} ms: {text}\n    {plan}")
    if args.compare:
        before = json.loads(args.compare.read_text())
        differing = [k for k in figures if figures[k] != before["figures"].get(k)]
        print(f"against {args.compare.name}: CPU {before['cpu_median_s'] * 1000:.0f} → "
              f"{result['cpu_median_s'] * 1000:.0f} ms, ratio {result['cpu_median_s'] / before['cpu_median_s']:.2f}; "
              f"figures {'identical' if not differing else 'DIFFER in ' + ', '.join(differing)}")
    if args.save:
        args.save.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

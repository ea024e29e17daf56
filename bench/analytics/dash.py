"""The dashboard's figures from the rollups alone, on a cached SQLite benchmark database.

    python bench/analytics/dash.py --messages 1000000 --members 20000 [--runs 3] [--save F] [--compare F]

Reuses the database `engine.py` built (never builds one). Prints the median CPU time of
`rollup_figures` (process time: SQLite runs in this process) and the wall time, the CPU time of
each part of the dashboard, and — with ``--compare`` — whether the figures equal a saved run's,
key by key, and the ratio of its median CPU time against the saved run's.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--save", type=Path, help="write the figures and timings here")
    parser.add_argument("--compare", type=Path, help="a file written by --save to compare with")
    args = parser.parse_args()

    path = OUT / f"bench-{args.members}m-{args.messages}msg-{args.days}d.sqlite3"
    if not path.exists():
        print(f"{path}: no cached database; build it with bench/analytics/engine.py", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_HOME"] = str(OUT / "home")
    os.environ["QUNYUN_DATABASE_URL"] = f"sqlite:///{path}"
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from qunyun.analytics import dashboard
    from qunyun.analytics.scope import scope_build
    from qunyun.communities.models import Community

    scope = scope_build(community=Community.objects.get(slug="big"))
    parts: dict[str, list[float]] = {}  # per part: CPU seconds of each run (summed over its calls)
    run = 0  # the run being timed, read by the wrappers
    for name in ("lifecycle_get", "retention_get", "funnel_get", "layers_get", "health_get", "heatmap_get",
                 "goals_get", "overview_get", "growth_get", "daily_series"):
        original = getattr(dashboard, name)

        def wrapped(*a, _original=original, _name=name, **k):
            started = time.process_time()
            try:
                return _original(*a, **k)
            finally:
                spent = parts.setdefault(_name, [])
                spent.extend([0.0] * (run + 1 - len(spent)))
                spent[run] += time.process_time() - started

        setattr(dashboard, name, wrapped)

    cpu, wall, figures = [], [], None
    for run in range(args.runs + 1):  # the first run warms the page cache and is not counted; `wrapped` reads run
        started, cpu_started = time.perf_counter(), time.process_time()
        figures = dashboard.rollup_figures(scope)
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - started)
    figures = json.loads(json.dumps(figures, default=str))
    result = {"database": path.name, "range": [scope.start.isoformat(), scope.end.isoformat()],
              "cpu_median_s": statistics.median(cpu[1:]), "wall_median_s": statistics.median(wall[1:]),
              "first_wall_s": wall[0], "load_average": os.getloadavg(),
              "parts_cpu_median_s": {k: statistics.median(v[1:]) for k, v in parts.items()},
              "figures": figures}
    print(f"dashboard from rollups, {path.name}: CPU median {result['cpu_median_s'] * 1000:.0f} ms, "
          f"wall median {result['wall_median_s'] * 1000:.0f} ms (first {wall[0] * 1000:.0f} ms), "
          f"load average {' '.join(f'{x:.2f}' for x in result['load_average'])}")
    for name, seconds in sorted(result["parts_cpu_median_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:<14} {seconds * 1000:7.1f} ms CPU")
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

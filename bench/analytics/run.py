"""Analytics benchmark: dashboard figures, rollup rebuild and incremental update, SQLite and PostgreSQL,
and the same figures with DuckDB over Parquet.

    .venv/bin/python bench/analytics/run.py                       # 10,000,000 messages, 200,000 members
    .venv/bin/python bench/analytics/run.py --messages 1000000 --members 20000

The community comes from the demo simulator (``qunyun.demo.simulate`` with ``members`` and
``target_messages``), loaded once through the bus store in import mode without raw payloads and kept
under bench/out/analytics/ (gitignored; ``--fresh`` builds it again). PostgreSQL gets a copy of the
same rows (bench/analytics/pgcopy.py). Each engine runs in its own process (engine.py); DuckDB
reads Parquet files exported from the SQLite database (columnar.py). Prints a summary with the
targets, writes the full results as JSON, and exits non-zero if the engines disagree on a figure.
Needs ``pip install -e '.[bench]'`` for DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "bench" / "out" / "analytics"


def run(script: str, *args: str) -> dict:
    """Run one part in its own process; its last stdout line is its JSON result."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / script), *args], stdout=subprocess.PIPE, text=True,
                          cwd=HERE.parents[1])
    if proc.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def columnar_as_engine(duck: dict, end: str) -> dict:
    """DuckDB's figures in the shape engine.py reports them, to compare key by key.

    DuckDB's retention rows leave out periods nobody came back in; the dashboard lists every
    period from the cohort's month to the month of ``end``, zeros included.
    """
    retention: dict[str, list[int]] = {}
    counts: dict[str, dict[int, int]] = {}
    for cohort, n, count in duck["retention"]:
        counts.setdefault(str(cohort)[:10], {})[int(n)] = int(count)
    last = int(end[:4]) * 12 + int(end[5:7])
    for cohort, by_period in counts.items():
        periods = last - (int(cohort[:4]) * 12 + int(cohort[5:7])) + 1
        retention[cohort] = [by_period.get(n, 0) for n in range(periods)]
    lifecycle = []
    for week, active, new, returning, before in duck["lifecycle_weekly"]:
        lifecycle.append([str(week)[:10], active, new, returning, active - new - returning, before - returning])
    return {
        **{k: duck[k] for k in ("messages", "authors", "active_members", "joins", "leaves", "members_now", "dau",
                                "wau", "mau", "dau_mau", "layers")},
        "heatmap_messages": duck["heatmap_messages"],
        "heatmap_member_hours": duck["heatmap_member_hours"],
        "retention": retention,
        "lifecycle_weekly": lifecycle,
        "funnel": list(duck["funnel"]),
        "active_days_30": {str(k): v for k, v in sorted(duck["active_days_30"].items(), key=lambda kv: int(kv[0]))},
        "daily": [[str(d)[:10], *rest] for d, *rest in duck["daily"]],
        "top_members_counts": [n for _m, n in duck["top_members"]],
    }


def ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:,.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--no-duckdb", action="store_true")
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="build the cached databases again")
    parser.add_argument("--reuse", action="store_true",
                        help="summarise the engines' saved results (bench/out/analytics/engine-*.json, duckdb-*.json) "
                             "from runs made one engine at a time, instead of running them again")
    args = parser.parse_args()
    size = ["--messages", str(args.messages), "--members", str(args.members), "--days", str(args.days)]
    extra = (["--fresh"] if args.fresh else []) + (["--no-rebuild"] if args.no_rebuild else [])
    load = os.getloadavg()
    results: dict = {"size": {"messages": args.messages, "members": args.members, "days": args.days},
                     "load_average_at_start": load, "cpus": os.cpu_count()}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "postgres" in engines and "sqlite" not in engines:
        engines.insert(0, "sqlite")  # PostgreSQL is loaded from the SQLite run's database
    tag = f"{args.members}m-{args.messages}msg-{args.days}d"
    for engine in engines:
        saved = OUT / f"engine-{engine}-{tag}.json"
        if args.reuse:
            results[engine] = json.loads(saved.read_text())
            continue
        print(f"== {engine}", file=sys.stderr, flush=True)
        results[engine] = run("engine.py", "--engine", engine, *size, *extra)
    if not args.no_duckdb:
        sqlite = results["sqlite"]
        saved = OUT / f"duckdb-{tag}.json"
        if args.reuse:
            results["duckdb"] = json.loads(saved.read_text())
        else:
            db = OUT / f"bench-{tag}.sqlite3"
            print("== duckdb", file=sys.stderr, flush=True)
            results["duckdb"] = run("columnar.py", "--sqlite", str(db), "--from", sqlite["range"][0],
                                    "--to", sqlite["range"][1])
            saved.write_text(json.dumps(results["duckdb"]))
    results["load_average_at_end"] = os.getloadavg()

    # The engines must agree on the figures.
    problems = []
    base = results["sqlite"]["figures"]
    if "postgres" in results and results["postgres"]["figures"] != base:
        problems.append(f"PostgreSQL figures differ: {results['postgres']['figures']} vs {base}")
    for name in ("sqlite", "postgres"):
        same = results.get(name, {}).get("rebuild_same_figures", {})
        if same and not all(same.values()):
            problems.append(f"{name}: figures changed by the rebuild: {same}")
    if "duckdb" in results:
        duck = columnar_as_engine(results["duckdb"]["figures"], results["sqlite"]["range"][1])
        compared = []
        for key, value in duck.items():
            compared.append(key)
            if value != base.get(key):
                problems.append(f"DuckDB {key} = {str(value)[:300]}, SQLite {str(base.get(key))[:300]}")
        results["duckdb"]["compared"] = compared
    results["problems"] = problems

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"results-{args.members}m-{args.messages}msg-{args.days}d.json"
    path.write_text(json.dumps(results, indent=2, default=str))

    print(f"\nAnalytics benchmark: {args.messages:,} messages, {args.members:,} members, {args.days} days "
          f"(load average {load[0]:.1f} → {results['load_average_at_end'][0]:.1f} on {os.cpu_count()} CPUs)")
    rows = [("dashboard figures from rollups (median)", "< 1 s", "dashboard_rollups_median_s"),
            ("  … CPU time, median (client + PG backend)", "", "dashboard_rollups_cpu_median_s"),
            ("  … first run", "", "dashboard_rollups_first_s"),
            ("conversations + opinion leaders (median)", "", "dashboard_log_median_s"),
            ("full rollup rebuild", "< 60 s", "rebuild_s"),
            ("  … CPU time (client + PG backend)", "", "rebuild_cpu_s"),
            ("1,000 new events: whole ingest (median)", "", "ingest_1000_median_s"),
            ("1,000 new events: rollups (median)", "< 50 ms", "rollups_1000_median_s"),
            ("  … of which analytics-owned rollups", "", "analytics_rollups_1000_median_s")]
    names = [e for e in ("sqlite", "postgres") if e in results]
    print(f"{'':44s}{'target':>10s}" + "".join(f"{n:>14s}" for n in names))
    for label, target, key in rows:
        print(f"{label:44s}{target:>10s}" + "".join(f"{ms(results[n].get(key)):>14s}" for n in names))
    for n in names:
        if results[n].get("rebuild_into_empty_tables"):
            print(f"({n}: the rebuild timed is the first one, into empty rollup tables)")
    if "duckdb" in results:
        duck = results["duckdb"]
        ratio = results["sqlite"]["dashboard_rollups_median_s"] / duck["median_s"]
        print(f"\nDuckDB {duck.get('version', '')} over Parquet (the same figures from the raw events, no rollups): "
              f"median {ms(duck['median_s'])}, first {ms(duck['first_s'])}; export {duck['export_s']:.0f} s once")
        print(f"ratio SQLite-from-rollups / DuckDB-from-events = {ratio:.2f}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"\nfull results: {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

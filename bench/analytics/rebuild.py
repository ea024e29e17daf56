"""One full rollup rebuild of the cached benchmark community, with the CPU time of each step.

    python bench/analytics/rebuild.py --messages 1000000 --members 20000 [--engine sqlite|postgres]
        [--file COPY.sqlite3 | --url postgresql://…/copy] [--runs N] [--baseline OLD/src]

Reuses the database `engine.py` built (never builds one). Prints the process CPU time (for
PostgreSQL plus its backend's, read from /proc), the wall time, the load average and the CPU
seconds of each step of `rollups_rebuild` (the client's only, on PostgreSQL). The CPU time
includes the worker processes a rebuild starts (SQLite, large logs). With ``--baseline`` the
same rebuild also runs with an older qunyun (``git archive <commit> src | tar -x -C /tmp/old``,
then ``--baseline /tmp/old/src``), the two alternating in fresh processes, and the ratio of the
medians is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import OUT, database_url, rebuild_timed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--file", type=Path, help="SQLite: rebuild in this copy of the cached database instead")
    parser.add_argument("--url", help="PostgreSQL: rebuild in this copy of the cached database instead")
    parser.add_argument("--runs", type=int, default=1, help="rebuilds one after the other (the median is printed)")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also rebuild with the qunyun package in SRC (e.g. an older commit's src/, from git "
                             "archive), alternating with this code, each in a process of its own; prints both medians "
                             "and the ratio")
    parser.add_argument("--result-line", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return compare(args)
    url = f"sqlite:///{args.file.resolve()}" if args.file else args.url or database_url(args)
    if args.engine == "sqlite" and not Path(url.removeprefix("sqlite:///")).exists():
        print(f"{url}: no cached database; build it with bench/analytics/engine.py", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_HOME"] = str(OUT / "home")
    os.environ["QUNYUN_DATABASE_URL"] = url
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from qunyun.analytics.rollups import rollups_rebuild
    from qunyun.communities.models import Community

    results = []
    for _ in range(args.runs):
        settle(url)
        started = time.strftime("%H:%M:%S")
        result = rebuild_timed(Community.objects.get(slug="big"), rollups_rebuild)
        results.append(result)
        print(f"{args.engine} rebuild at {started}: CPU {result['rebuild_cpu_s']:.1f} s, "
              f"wall {result['rebuild_s']:.1f} s, "
              f"load average {' '.join(f'{x:.1f}' for x in result['rebuild_load_average'])}")
        print("steps, CPU s:", json.dumps({k: round(v, 2) for k, v in result["rebuild_steps_cpu_s"].items()}))
        print("steps, wall s:", json.dumps({k: round(v, 2) for k, v in result["rebuild_steps_s"].items()}))
        if args.result_line:
            print("RESULT " + json.dumps({k: result[k] for k in ("rebuild_s", "rebuild_cpu_s", "rebuild_load_average")}))
    if args.runs > 1:
        print(f"median of {args.runs}: CPU {statistics.median(r['rebuild_cpu_s'] for r in results):.1f} s, "
              f"wall {statistics.median(r['rebuild_s'] for r in results):.1f} s")
    return 0


def settle(url: str) -> None:
    """Before a run: the disk writes of the one before it finished (``sync``; a checkpoint's
    gigabyte still being written back made a following rebuild's commit wait: 12 s instead of
    2-3 s), and a SQLite file read through once, since this VM's memory manager takes cold pages
    back from the page cache (a rebuild then reads part of the log from disk)."""
    started = time.perf_counter()
    os.sync()
    synced = time.perf_counter() - started
    read = 0
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal"):
            path = Path(url.removeprefix("sqlite:///") + suffix)
            if path.exists():
                with path.open("rb", buffering=0) as file:
                    while chunk := file.read(8 << 20):
                        read += len(chunk)
    print(f"settle: sync {synced:.1f} s, {read / 1e9:.1f} GB read in {time.perf_counter() - started:.1f} s",
          flush=True)


def compare(args) -> int:
    """Baseline and this code, one rebuild each in turn (``args.runs`` times), each in a fresh process."""
    import subprocess

    argv = ["--engine", args.engine, "--messages", str(args.messages), "--members", str(args.members),
            "--days", str(args.days)]
    argv += ["--file", str(args.file)] if args.file else []
    argv += ["--url", args.url] if args.url else []
    command = [sys.executable, __file__, *argv, "--runs", "1", "--result-line"]
    seen: dict[str, list[dict]] = {"baseline": [], "this": []}
    for _ in range(args.runs):
        for name in ("baseline", "this"):
            env = dict(os.environ)
            if name == "baseline":
                env["PYTHONPATH"] = str(args.baseline.resolve())
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                print(done.stdout + done.stderr[-3000:], file=sys.stderr)
                return 1
            result = json.loads(lines[-1].removeprefix("RESULT "))
            print(next((line for line in done.stdout.splitlines() if line.startswith("steps, wall")), ""))
            seen[name].append(result)
            print(f"{name}: CPU {result['rebuild_cpu_s']:.1f} s, wall {result['rebuild_s']:.1f} s, load average "
                  f"{' '.join(f'{x:.1f}' for x in result['rebuild_load_average'])}", flush=True)
    cpu = {name: statistics.median(r["rebuild_cpu_s"] for r in runs) for name, runs in seen.items()}
    wall = {name: statistics.median(r["rebuild_s"] for r in runs) for name, runs in seen.items()}
    print(f"median of {args.runs}: baseline CPU {cpu['baseline']:.1f} s / wall {wall['baseline']:.1f} s; "
          f"this CPU {cpu['this']:.1f} s / wall {wall['this']:.1f} s; ratio this/baseline: "
          f"CPU {cpu['this'] / cpu['baseline']:.2f}, wall {wall['this'] / wall['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

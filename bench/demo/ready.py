"""Benchmark: ``qunyun demo`` from an empty data directory until the console answers.

    .venv/bin/python bench/demo/ready.py [--repeat 3] [--generator-members 20000]

Each repeat starts ``qunyun demo --no-browser --port P`` with a fresh, empty ``QUNYUN_HOME``
(SQLite: migrations, the 90-day demo build through the bus, the login) and measures the wall
time until ``GET /login/`` answers 200. The baseline, in the same run, is ``qunyun serve`` on an
empty data directory (migrations and server start, no demo) — the ratio says what the demo
build costs on top of starting the product at all. The budget is 30 s.

It also prints the simulator's own speed as a pure event generator (the scaled community used
by the analytics benchmark), without any database.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def login_page_ok(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/login/", headers={"Host": f"127.0.0.1:{port}"})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def time_until_ready(args: list[str]) -> float:
    """Seconds from starting ``qunyun ARGS`` on an empty data directory to a 200 from /login/."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="qunyun-bench-home-") as home:
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "QUNYUN_DATABASE_URL")}
        env.update(QUNYUN_HOME=home, QUNYUN_CONNECTIONS="0")
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qunyun.cli.main", *args, "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            while not login_page_ok(port):
                if proc.poll() is not None:
                    raise SystemExit(f"qunyun {' '.join(args)} exited with {proc.returncode}: "
                                     f"{proc.stderr.read().strip()}")
                if time.perf_counter() - started > 300:
                    raise SystemExit("not ready after 300 s")
                time.sleep(0.05)
            return time.perf_counter() - started
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)


def generator_speed(members: int) -> tuple[float, int]:
    from datetime import date

    from qunyun.demo import simulate

    started = time.perf_counter()
    count = sum(1 for _ in simulate(seed=7, days=90, members=members, target_messages=members * 50,
                                    end=date(2026, 6, 1)))
    return count / (time.perf_counter() - started), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--generator-members", type=int, default=20_000,
                        help="size of the scaled community for the generator figure (0: skip)")
    args = parser.parse_args()
    demo, serve = [], []
    for i in range(args.repeat):
        serve.append(time_until_ready(["serve"]))
        demo.append(time_until_ready(["demo", "--no-browser"]))
        print(f"run {i + 1}: serve (empty home) {serve[-1]:.1f} s, demo (empty home) {demo[-1]:.1f} s", flush=True)
    d, s = statistics.median(demo), statistics.median(serve)
    print(f"qunyun demo ready (median of {args.repeat}): {d:.1f} s  — budget 30 s")
    print(f"qunyun serve ready, no demo (median): {s:.1f} s  — demo/serve ratio {d / s:.1f}x")
    if args.generator_members:
        rate, count = generator_speed(args.generator_members)
        print(f"simulator alone: {count:,} events for {args.generator_members:,} members in 90 days, "
              f"{rate:,.0f} events/s")


if __name__ == "__main__":
    main()

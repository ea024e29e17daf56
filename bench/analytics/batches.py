"""The rollups' cost per stored batch: 1, 10 and 1,000 new events, on the cached benchmark database.

    python bench/analytics/batches.py --messages 1000000 --members 20000 [--engine sqlite|postgres] [--statements]

What a live batch pays for the rollups (issue 6's latency) and what an import batch pays. Each
batch (messages by existing members, a fifth replying, a tenth reactions: `engine.new_events`)
goes through `Runtime.ingest_batch` in import mode inside a transaction that is rolled back, 40
times (5 for 1,000). Prints the median time inside the rollup functions (`batch_prepare`,
`store_rollups_apply`, `rollups_apply`): CPU time of this process on SQLite (SQLite runs in it),
wall time on PostgreSQL. With ``--statements``, the time of each statement of a one-event batch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import OUT, database_url, new_events  # noqa: E402


class Undo(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "qunyun.settings.default"
    os.environ["QUNYUN_HOME"] = str(OUT / "home")
    os.environ["QUNYUN_DATABASE_URL"] = database_url(args)
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from django.db import connection, transaction

    import qunyun.bus.store as store_module
    from qunyun.bus.runtime import Runtime
    from qunyun.communities.models import Community

    clock = time.process_time if args.engine == "sqlite" else time.perf_counter
    spent = [0.0]
    for name in ("batch_prepare", "rollups_apply", "store_rollups_apply"):
        original = getattr(store_module, name)

        def timed(*a, _original=original, **k):
            started = clock()
            try:
                return _original(*a, **k)
            finally:
                spent[0] += clock() - started

        setattr(store_module, name, timed)
    community = Community.objects.get(slug="big")
    runtime = Runtime(community, mode="import", keep_raw=False)

    def ingest(batch) -> float:
        spent[0] = 0.0
        try:
            with transaction.atomic():
                runtime.ingest_batch(batch)
                raise Undo
        except Undo:
            pass
        return spent[0]

    print(f"{args.engine}, {'CPU' if args.engine == 'sqlite' else 'wall'} time inside the rollup functions, "
          f"load average {os.getloadavg()[0]:.1f}:")
    for n, runs in ((1, 40), (10, 40), (1000, 5)):
        events = new_events(community, 1, n=max(1000, n * (runs + 1)))
        times = [ingest(events[i * n:(i + 1) * n] if n < 1000 else new_events(community, i)) for i in range(runs + 1)]
        print(f"  batch of {n:>5,} events: median {statistics.median(times[1:]) * 1000:7.2f} ms")
    if args.statements:
        spent_by: dict[str, list] = {}

        def wrapper(execute, statement, params, many, context):
            started = clock()
            try:
                return execute(statement, params, many, context)
            finally:
                entry = spent_by.setdefault(statement[:100], [0, 0.0])
                entry[0] += 1
                entry[1] += clock() - started

        events = new_events(community, 2)
        with connection.execute_wrapper(wrapper):
            for i in range(40):
                ingest(events[i:i + 1])
        print("one-event batch, per statement (ms per batch):")
        for statement, (count, seconds) in sorted(spent_by.items(), key=lambda kv: -kv[1][1])[:25]:
            print(f"  {seconds / 40 * 1000:6.3f}  x{count / 40:.0f}  {statement}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

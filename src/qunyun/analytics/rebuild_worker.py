"""A rollup rebuild's helper process: one part of the log's days read into a file (SQLite only).

:func:`qunyun.analytics.rebuild.rollups_rebuild` cuts a large log into ranges of days; it reads
the first itself and starts one of these per other range (:func:`start`). A worker opens the
same database file in a connection of its own, only to read it (WAL lets it read beside the rebuild's
writing transaction, which leaves the log alone), with a file of its own attached as ``part``.
It runs the statements it is given — the same ones the rebuild runs for its own part — which
leave the rows the rebuild needs in that file, and copies there the temporary tables it is told
to; the rebuild then reads the file (``ATTACH``). Nothing here imports Django: the statements
arrive written, in Django's ``%s`` style.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from typing import Any

Statements = list[tuple[str, list[tuple[str, list[Any]]]]]


class WorkerFailed(RuntimeError):
    """A worker could not be started or did not finish its part (the rebuild reads the log itself then)."""


class Worker:
    """A started worker process and the file it writes (:attr:`out`)."""

    def __init__(self, process: subprocess.Popen, folder: str) -> None:
        self.process, self.folder = process, folder
        self.out = os.path.join(folder, "part.sqlite3")

    def wait(self) -> float:
        """Wait for the worker; returns its CPU seconds. Raises when it failed (its own words in the error)."""
        before = os.times()
        _, errors = self.process.communicate()
        after = os.times()
        if self.process.returncode != 0:
            raise WorkerFailed(f"a worker process failed ({self.process.returncode}): "
                               f"{errors.decode(errors='replace').strip()[-2000:]}")
        return (after.children_user - before.children_user) + (after.children_system - before.children_system)

    def close(self) -> None:
        """Stop the worker if it still runs (the rebuild failed meanwhile) and remove its file."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(database: str, steps: Statements, tables: tuple[str, ...], *, cache_kib: int, temp_store: int) -> Worker:
    """Start a worker on ``database`` (a file): run ``steps`` (which may write tables of ``part``,
    its output file) and copy the temporary ``tables`` into that file."""
    folder = tempfile.mkdtemp(prefix="qunyun-rebuild-")
    plan = {"database": str(database), "out": os.path.join(folder, "part.sqlite3"), "cache_kib": int(cache_kib),
            "temp_store": int(temp_store), "tables": list(tables),
            "statements": [[statement, params] for _name, statements in steps for statement, params in statements]}
    # The worker imports this very package (the one this process runs), wherever it lies.
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    try:
        with open(os.path.join(folder, "plan.json"), "w", encoding="utf-8") as handle:
            json.dump(plan, handle)
        process = subprocess.Popen([sys.executable, "-m", "qunyun.analytics.rebuild_worker",
                                    os.path.join(folder, "plan.json")], env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise WorkerFailed(f"a worker process could not start: {error}") from error
    return Worker(process, folder)


def _qmark(statement: str, params: list[Any]) -> str:
    """Django's ``%s`` placeholders (and ``%%`` escapes) as sqlite3's ``?`` (as Django's SQLite backend does)."""
    return statement % tuple("?" * len(params))


def run(plan: dict[str, Any]) -> None:
    """Carry out a plan written by :func:`start`."""
    db = sqlite3.connect(plan["database"], isolation_level=None, timeout=30)
    try:
        db.execute(f"PRAGMA temp_store = {int(plan['temp_store'])}")
        # The output file: nothing to roll back or to keep through a crash (a failed worker's
        # file is thrown away). Attached before the transaction, which may not attach.
        db.execute("ATTACH DATABASE ? AS part", [plan["out"]])
        db.execute("PRAGMA part.journal_mode = OFF")
        db.execute("PRAGMA part.synchronous = OFF")
        for schema in ("main", "temp", "part"):  # (work tables in the temporary database, its rows in part)
            db.execute(f"PRAGMA {schema}.cache_size = -{int(plan['cache_kib'])}")
        db.execute("BEGIN")  # one snapshot of the log for every statement
        for statement, params in plan["statements"]:
            db.execute(_qmark(statement, params), params)
        db.execute("COMMIT")
        for table in plan["tables"]:
            db.execute(f"CREATE TABLE part.{table} AS SELECT * FROM temp.{table}")
    finally:
        db.close()


def main() -> int:
    try:
        with open(sys.argv[1], encoding="utf-8") as handle:
            plan = json.load(handle)
        run(plan)
    except (sqlite3.Error, OSError, ValueError) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The storage, bus and analytics tests again, on PostgreSQL.

The suite runs on SQLite (the embedded default). The production database is PostgreSQL, so
this test runs the database-facing test folders once more in a child pytest pointed at the
real server; it fails with the child's output if any of them fails there. On a laptop without
PostgreSQL it skips with the reason; in CI it is required (see tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Folders whose tests exercise SQL that must behave the same on both databases.
POSTGRES_FOLDERS = ["tests/bus", "tests/communities", "tests/analytics", "tests/moderation/django",
                    "tests/console/test_members.py"]


@pytest.mark.postgres
@pytest.mark.skipif(bool(os.environ.get("QUNYUN_TEST_DATABASE_URL")), reason="already inside the PostgreSQL run")
def test_storage_bus_and_analytics_suites_pass_on_postgresql(postgres_url):
    folders = [f for f in POSTGRES_FOLDERS if (ROOT / f).exists()]
    env = dict(os.environ, QUNYUN_TEST_DATABASE_URL=postgres_url)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not browser and not slow", *folders],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"PostgreSQL run of {folders} failed:\n{tail}"
    assert " passed" in proc.stdout, tail

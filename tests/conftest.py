"""Shared fixtures.

PostgreSQL and Redis: tests that need them use the ``postgres_url`` / ``redis_url`` fixtures.
On a laptop without the servers they skip with the reason; in CI (``CI`` or
``QUNYUN_REQUIRE_SERVICES`` set) a missing server fails the run instead.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import pytest

POSTGRES_URL = os.environ.get("QUNYUN_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("QUNYUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def services_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("QUNYUN_REQUIRE_SERVICES"))


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable at {host}:{port}"
    if services_required():
        pytest.fail(message + " (required in CI)")
    pytest.skip(message + " (start it to run these tests)")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    _need("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    _need("Redis", "127.0.0.1", 6379)
    return REDIS_URL


def shared_data(*parts: str) -> str:
    """Path of a data set under ../shared/data, or skip when it is absent."""
    path = os.path.abspath(os.path.join(SHARED_DATA, *parts))
    if not os.path.exists(path):
        pytest.skip(f"data set {os.path.join(*parts)} is not present at {path}")
    return path


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def at(minutes: float = 0, *, days: float = 0) -> datetime:
    """A UTC time relative to a fixed Monday morning (2026-03-02 09:00 UTC)."""
    return T0 + timedelta(days=days, minutes=minutes)


@pytest.fixture
def community(db):
    from qunyun.communities.services import community_create

    return community_create(slug="tea", name="Tea lovers", time_zone="Asia/Shanghai",
                            rules_text="1. Be kind. 2. No ads.")

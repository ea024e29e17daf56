"""Fixtures of the Django side of moderation."""

from __future__ import annotations

import pytest

from qunyun.bus.adapters import FakeAdapter
from qunyun.bus.outbox import outbox_run_due
from qunyun.bus.runtime import Runtime


@pytest.fixture(autouse=True)
def fresh_moderation_state():
    """Per-process caches (policy, behaviour windows) must not leak between tests."""
    from qunyun.moderation import live

    live.forget()
    yield
    live.forget()


class Live:
    """A community's live path: ingest events at a given time, run the outbox, see what the group saw."""

    def __init__(self, community):
        self.community = community
        self.adapter = FakeAdapter()
        self.now = None

    def ingest(self, events, *, now):
        self.now = now
        return Runtime(self.community, clock=lambda: now).ingest(events)

    def run(self, now):
        """Execute what is due at ``now`` (twice: executors enqueue follow-ups such as notices)."""
        first = outbox_run_due(adapters={"fake": self.adapter}, now=now)
        second = outbox_run_due(adapters={"fake": self.adapter}, now=now)
        return first.done + second.done

    @property
    def kinds(self):
        return [d.kind for d, _ in self.adapter.calls]

    def calls(self, kind):
        return [d for d, _ in self.adapter.calls if d.kind == kind]


@pytest.fixture
def live_path(community):
    return Live(community)

"""The live writer's rollups, applied after the commit, several batches together: every event is
counted once — however the batches are grouped, after a crash before they were applied, and when
a rebuild ran while some waited."""

from __future__ import annotations

import random

import pytest

from qunyun.analytics.rollups import rollups_rebuild
from qunyun.bus.deferred import KIND, deferred_rollups_apply
from qunyun.bus.models import OutboxItem
from qunyun.bus.outbox import HANDOFF_LEASE, HandOff, outbox_recover, outbox_run_due
from qunyun.bus.runtime import Runtime
from qunyun.communities.services import community_create
from qunyun.core import events as ev
from qunyun.core.timeutil import utcnow
from tests.analytics.test_rollups import snapshot
from tests.analytics.test_rollups_incremental import random_history

pytestmark = pytest.mark.django_db(transaction=True)


class Worker:
    """This process's outbox worker, driven by hand: it takes hand-offs and applies them when told."""

    def __init__(self) -> None:
        self.handoff = HandOff()

    def __call__(self) -> None:
        pass

    def rollups(self) -> list:
        return [pair for pair in self.handoff.take() if pair[1].kind == KIND]


def live_runtime(community, worker: Worker) -> Runtime:
    return Runtime(community, mode="live", handlers={}, wake=worker)


@pytest.mark.parametrize("seed", [1, 2])
def test_deferred_rollups_in_any_grouping_and_after_a_crash_equal_the_rebuilt_ones(seed):
    community = community_create(slug=f"deferred{seed}", name="Deferred", time_zone="Europe/Berlin")
    history = random_history(seed)
    # The last ones without joins or leaves: the process dies with their rollups waiting.
    history = history[:-40] + [e for e in history[-40:] if e.type not in ("join", "leave")]
    rng = random.Random(seed)
    worker = Worker()
    runtime = live_runtime(community, worker)
    for start in range(0, len(history) - 5, 5):
        runtime.ingest(history[start:start + 5])
        if worker.rollups() and rng.random() < 0.3:  # the worker applies what waits, now and then
            deferred_rollups_apply(community.pk)
    runtime.ingest(history[start + 5:])
    # The process dies with rollups waiting; after the restart their rows are taken back and
    # applied once.
    assert OutboxItem.objects.filter(kind=KIND, claim=worker.handoff.token).exists()
    assert outbox_recover(now=utcnow() + HANDOFF_LEASE + HANDOFF_LEASE) > 0
    outbox_run_due(adapters={})
    assert outbox_run_due(adapters={}).total == 0
    assert not OutboxItem.objects.filter(kind=KIND).exclude(status="done").exists()
    live = snapshot(community)
    assert live["qunyun_member_day"] and live["qunyun_group_day_mix"]
    rollups_rebuild(community)
    assert snapshot(community) == live


def test_a_join_finds_its_group_size_counted_while_the_other_rollups_wait():
    from qunyun.analytics.models import GroupSize
    from qunyun.communities.models import Membership
    from tests.factories import join, message

    community = community_create(slug="sizes", name="Sizes", time_zone="Asia/Shanghai")
    seen = []

    def note_size(event, ctx):
        seen.append(GroupSize.objects.get(group_id=ctx.group.id).members_now)
        return ()

    worker = Worker()
    runtime = Runtime(community, mode="live", handlers={ev.MemberJoined: (note_size,)}, wake=worker)
    runtime.ingest([message(1, 1, utcnow()), message(2, 2, utcnow())])
    runtime.ingest([join(3, 3, utcnow())])
    assert seen == [3]  # the newcomer counted, in the transaction that stored the join
    assert OutboxItem.objects.filter(kind=KIND).count() == 2  # the rest of the rollups wait
    deferred_rollups_apply(community.pk)
    assert GroupSize.objects.get().members_now == Membership.objects.filter(is_member=True).count() == 3
    Runtime(community, mode="live", handlers={}).ingest([message(4, 1, utcnow())])  # no worker here: inline
    assert not OutboxItem.objects.filter(kind=KIND).exists()


def _sixty_waiting(slug: str, *, seed: int):
    """A community whose first sixty events (no joins or leaves) wait for their rollups, and its worker."""
    community = community_create(slug=slug, name="Waiting", time_zone="Europe/Berlin")
    history = [e for e in random_history(seed) if e.type not in ("join", "leave")]
    worker = Worker()
    runtime = live_runtime(community, worker)
    for start in range(0, 60, 6):
        runtime.ingest(history[start:start + 6])
    return community, worker


def test_a_rebuild_while_rollups_wait_drops_them_and_counts_their_events_once():
    community, worker = _sixty_waiting("rebuilt", seed=3)
    assert worker.rollups()
    rollups_rebuild(community)  # e.g. a member merge, while the worker still holds the rollups
    rebuilt = snapshot(community)
    assert deferred_rollups_apply(community.pk) == 0  # their rows are gone: counted by the rebuild
    assert snapshot(community) == rebuilt
    assert rebuilt["qunyun_member_day"]


def _between_read_and_write(monkeypatch, action) -> list:
    """Run ``action`` once, after a staged application has read and computed its rows and before it
    takes the writers' turn to write them (where the live writer may commit on SQLite)."""
    import qunyun.bus.deferred as deferred

    real = deferred.write_transaction
    calls = []

    def interleaved():
        if not calls:
            calls.append(action())
        return real()

    monkeypatch.setattr(deferred, "write_transaction", interleaved)
    return calls


@pytest.mark.parametrize("seed", [4, 5])
def test_events_stored_while_a_staged_application_computes_are_counted_once(monkeypatch, seed):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the staged application is SQLite's (PostgreSQL has no database-wide write lock)")
    community = community_create(slug=f"staged{seed}", name="Staged", time_zone="America/New_York")
    history = random_history(seed)
    worker = Worker()
    runtime = live_runtime(community, worker)
    runtime.ingest(history[:30])
    # While the application computes the first 30 events' rows, the writer stores 30 more (with
    # later ids, hours and days shared with the first ones): they wait for the next application.
    calls = _between_read_and_write(monkeypatch, lambda: runtime.ingest(history[30:60]))
    assert deferred_rollups_apply(community.pk) > 0
    assert calls and OutboxItem.objects.filter(kind=KIND).exists()
    runtime.ingest(history[60:])
    while deferred_rollups_apply(community.pk):
        pass
    live = snapshot(community)
    assert live["qunyun_member_day"] and live["qunyun_community_hour"]
    rollups_rebuild(community)
    assert snapshot(community) == live


def test_a_rebuild_while_a_staged_application_computes_makes_it_drop_its_rows(monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the staged application is SQLite's (PostgreSQL has no database-wide write lock)")
    community, _worker = _sixty_waiting("stagedrebuild", seed=6)
    _between_read_and_write(monkeypatch, lambda: rollups_rebuild(community))
    assert deferred_rollups_apply(community.pk) == 0  # the rebuild counted their events: nothing added twice
    rebuilt = snapshot(community)
    rollups_rebuild(community)
    assert snapshot(community) == rebuilt and rebuilt["qunyun_member_day"]


def test_a_staged_application_lets_a_writer_that_holds_the_turn_commit_before_it_reads(monkeypatch):
    """The read part waits for this process's writers (``deferred.YIELD_TO_WRITERS``): a batch a
    writer commits while the application waits is in its snapshot and applied with it."""
    import threading
    import time

    from django.db import connection

    from qunyun.bus import deferred, wal

    if connection.vendor != "sqlite":
        pytest.skip("the staged application is SQLite's (PostgreSQL has no database-wide write lock)")
    monkeypatch.setattr(deferred, "YIELD_WAIT_SECONDS", 5.0)
    monkeypatch.setattr(deferred, "YIELD_BUDGET_SECONDS", 5.0)
    community = community_create(slug="yielding", name="Yielding", time_zone="Europe/Berlin")
    history = [e for e in random_history(7) if e.type not in ("join", "leave")]
    runtime = live_runtime(community, Worker())
    runtime.ingest(history[:6])
    applied: list[int] = []
    with wal._WRITERS:  # a writer of this process is mid-transaction: the application waits for it
        thread = threading.Thread(target=lambda: applied.append(deferred_rollups_apply(community.pk)))
        thread.start()
        time.sleep(0.2)
        runtime.ingest(history[6:12])  # (the turn is reentrant: this commits inside the hold)
        time.sleep(0.2)
        assert not applied  # it has not read yet
    thread.join(30)
    assert applied == [2]  # both batches: the one committed while it waited is in its snapshot
    assert not OutboxItem.objects.filter(kind=KIND).exists()
    live = snapshot(community)
    rollups_rebuild(community)
    assert snapshot(community) == live

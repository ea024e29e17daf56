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


def test_a_rebuild_while_rollups_wait_drops_them_and_counts_their_events_once():
    community = community_create(slug="rebuilt", name="Rebuilt", time_zone="Europe/Berlin")
    history = [e for e in random_history(3) if e.type not in ("join", "leave")]
    worker = Worker()
    runtime = live_runtime(community, worker)
    for start in range(0, 60, 6):
        runtime.ingest(history[start:start + 6])
    assert worker.rollups()
    rollups_rebuild(community)  # e.g. a member merge, while the worker still holds the rollups
    rebuilt = snapshot(community)
    assert deferred_rollups_apply(community.pk) == 0  # their rows are gone: counted by the rebuild
    assert snapshot(community) == rebuilt
    assert rebuilt["qunyun_member_day"]

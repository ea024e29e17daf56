"""Decisions handed to this process's outbox worker in memory: executed once, right after the
commit; after a crash between the commit and the execution, executed after the restart, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qunyun.bus.adapters import FakeAdapter
from qunyun.bus.deferred import KIND
from qunyun.bus.models import OutboxItem
from qunyun.bus.outbox import (
    HANDOFF_LEASE, HandOff, _Finished, outbox_execute_handed, outbox_finish, outbox_recover, outbox_run_due,
)
from qunyun.bus.runtime import Runtime
from qunyun.bus.worker import OutboxWorker
from qunyun.core import events as ev
from qunyun.core.decisions import Later, NotifyOperator, SendMessage
from qunyun.core.timeutil import utcnow
from tests.bus.test_live_path import wait_for
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


def answer(event, ctx):
    yield SendMessage(chat=event.chat, text=f"re {event.event_id}", reply_to=event.event_id)


def answer_and_remind(event, ctx):
    yield SendMessage(chat=event.chat, text="now", reply_to=event.event_id)
    yield Later(at=ctx.now + timedelta(hours=1), decision=SendMessage(chat=event.chat, text="later"))
    yield NotifyOperator(chat=event.chat, text="look")


def decisions():
    """The outbox rows of decisions (not the live writer's deferred rollups, see qunyun.bus.deferred)."""
    return OutboxItem.objects.exclude(kind=KIND)


class DeadWorker:
    """The worker of a process that dies right after its commits: it takes hand-offs, never executes them."""

    def __init__(self) -> None:
        self.handoff = HandOff()

    def __call__(self) -> None:
        pass


def test_decisions_due_now_go_to_the_worker_in_memory_and_are_marked_done_once(community):
    fake = FakeAdapter()
    worker = OutboxWorker(idle_seconds=60, adapters={"fake": fake}.get)
    worker.start()
    try:
        rt = Runtime(community, handlers={ev.MessagePosted: (answer_and_remind,)}, wake=worker.wake)
        rt.ingest([message(1, 1, utcnow(), "hello")])
        rt.ingest([message(1, 1, utcnow(), "hello")])  # the same event again: decided once
        wait_for(lambda: OutboxItem.objects.filter(status="done").count() == 2)
    finally:
        worker.stop()
        worker.join(5)
    assert [d.text for d, _ in fake.calls] == ["now"]
    rows = {(row.kind, row.payload.get("text")): row for row in decisions()}
    assert len(rows) == 3
    now = rows[("send", "now")]
    assert (now.status, now.claim, now.attempts) == ("done", "", 1)
    assert rows[("notify", "look")].status == "done"  # carried out by qunyun itself, from the hand-off too
    later = rows[("send", "later")]
    assert (later.status, later.claim) == ("pending", "")  # due in an hour: waits in the table


def test_a_crash_between_the_commit_and_a_hand_off_executes_after_the_restart_once(community):
    dead = DeadWorker()
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=dead).ingest(
        [message(i, 1, utcnow(), "hi") for i in range(3)])
    assert set(OutboxItem.objects.values_list("status", "claim")) == {("running", dead.handoff.token)}
    assert decisions().count() == 3  # and the batch's rollups, waiting for the worker like them
    fake = FakeAdapter()
    # The restarted process: its worker does not take another process's fresh hand-offs …
    assert outbox_run_due(adapters={"fake": fake}).total == 0
    assert outbox_recover(now=utcnow() + HANDOFF_LEASE - timedelta(seconds=5)) == 0
    # … nor its own, however old (they are in its memory) …
    assert outbox_recover(now=utcnow() + HANDOFF_LEASE + timedelta(seconds=5), keep=dead.handoff.token) == 0
    # … and takes the dead process's back once their lease is over, then executes each once.
    assert outbox_recover(now=utcnow() + HANDOFF_LEASE + timedelta(seconds=5)) == 4
    assert outbox_run_due(adapters={"fake": fake}).done == 4
    assert outbox_run_due(adapters={"fake": fake}).total == 0
    assert sorted(d.reply_to for d, _ in fake.calls) == ["0", "1", "2"]
    assert set(decisions().values_list("status", flat=True)) == {"done"}
    assert not OutboxItem.objects.filter(kind=KIND).exists()  # the rollups applied (their row goes)


def test_a_hand_off_whose_claim_was_taken_back_meanwhile_is_not_executed_again(community):
    slow = DeadWorker()
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=slow).ingest([message(1, 1, utcnow(), "hi")])
    handed = [pair for pair in slow.handoff.take() if pair[1].kind != KIND]
    assert len(handed) == 1
    # The worker was stuck past the lease; another worker took the row back and executed it.
    later = utcnow() + HANDOFF_LEASE + timedelta(seconds=5)
    other = FakeAdapter()
    assert outbox_recover(now=later) == 2  # the decision and the batch's rollups
    assert outbox_run_due(adapters={"fake": other}, now=later).done == 2
    # The stuck worker gets to it at last: its claim is gone, so it does not execute it.
    fake, finished = FakeAdapter(), _Finished()
    report = outbox_execute_handed(handed, handoff=slow.handoff, adapters={"fake": fake}, finished=finished, now=later)
    outbox_finish(finished, now=later)
    assert report.total == 0 and fake.calls == []
    assert len(other.calls) == 1 and decisions().get().status == "done"


def test_a_hand_off_that_waited_long_renews_its_claim_and_executes(community):
    slow = DeadWorker()
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=slow).ingest([message(1, 1, utcnow(), "hi")])
    handed = [pair for pair in slow.handoff.take() if pair[1].kind != KIND]
    fake, finished = FakeAdapter(), _Finished()
    now = utcnow() + HANDOFF_LEASE / 2
    assert outbox_execute_handed(handed, handoff=slow.handoff, adapters={"fake": fake}, finished=finished,
                                 now=now).done == 1
    outbox_finish(finished, now=now)
    assert len(fake.calls) == 1
    assert decisions().get().status == "done"


def test_dry_run_decisions_are_not_handed_off(community):
    community.dry_run = True
    community.save()
    dead = DeadWorker()
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=dead).ingest([message(1, 1, utcnow(), "hi")])
    assert list(decisions().values_list("status", "claim")) == [("dry_run", "")]
    assert all(decision.kind == KIND for _item, decision in dead.handoff.take())  # the rollups only


def test_a_worker_that_is_not_running_takes_no_hand_offs(community):
    worker = OutboxWorker(idle_seconds=60, adapters={"fake": FakeAdapter()}.get)  # never started (or stopped)
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=worker.wake).ingest([message(1, 1, utcnow())])
    assert list(OutboxItem.objects.values_list("kind", "status", "claim")) == [("send", "pending", "")]
    assert worker.handoff.take() == []


def test_the_worker_applies_the_deferred_rollups_in_its_own_thread_and_before_it_stops(community, monkeypatch):
    from django.db.models import Sum

    from qunyun.analytics.models import MemberDay
    from qunyun.bus import deferred

    def messages_counted():
        return MemberDay.objects.filter(community=community).aggregate(n=Sum("messages"))["n"] or 0

    worker = OutboxWorker(idle_seconds=60, adapters={}.get)
    worker.start()
    try:
        wait_for(lambda: worker.handoff.active)  # (before, a runtime applies its rollups itself)
        assert worker.rollups.is_alive()
        rt = Runtime(community, handlers={}, wake=worker.wake)
        rt.ingest([message(i, 1, utcnow(), "hi") for i in range(3)])
        wait_for(lambda: messages_counted() == 3)  # a moment later, by the rollups thread
        assert not OutboxItem.objects.filter(kind=KIND).exists()
        monkeypatch.setattr(deferred, "ROLLUP_EVERY_SECONDS", 3600.0)  # the next ones would wait an hour …
        rt.ingest([message(i, 2, utcnow(), "hi") for i in range(3, 7)])
        assert messages_counted() == 3
    finally:
        worker.stop()
        worker.join(5)
    assert messages_counted() == 7  # … but a stopping worker applies them before it ends
    assert not worker.rollups.is_alive() and not OutboxItem.objects.filter(kind=KIND).exists()

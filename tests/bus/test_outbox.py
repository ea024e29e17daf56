"""Event in → decision out → executed once: through duplicates, crashes, retries and dry-run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qunyun.bus.adapters import FakeAdapter, PermanentFailure
from qunyun.bus.models import Notification, OutboxItem
from qunyun.bus.outbox import CLAIM_LEASE, MAX_ATTEMPTS, outbox_recover, outbox_run_due
from qunyun.bus.runtime import Runtime
from qunyun.core import events as ev
from qunyun.core.decisions import CancelLater, DeleteMessage, Kick, Later, Mute, NotifyOperator, SendMessage
from tests.conftest import at
from tests.factories import CHAT, join, message

pytestmark = pytest.mark.django_db(transaction=True)


def no_links(event, ctx):
    """A tiny rule for the tests: delete a link, mute its author for an hour, tell the operator."""
    if "http" in event.text:
        yield DeleteMessage(chat=event.chat, message_id=event.message_id, reason="test.no_links")
        yield Mute(chat=event.chat, member=event.author.id, until=ctx.now + timedelta(hours=1), reason="test.no_links")
        yield NotifyOperator(chat=event.chat, text=f"link removed from {ctx.member.display_name}")


def screen(event, ctx):
    """Kick a newcomer who does not speak within 60 s; speaking cancels it."""
    if isinstance(event, ev.MemberJoined):
        yield Later(Kick(chat=event.chat, member=event.member.id), at=event.at + timedelta(seconds=60),
                    key=f"screen:{event.member.id}")
    elif isinstance(event, ev.MessagePosted):
        yield CancelLater(chat=event.chat, key=f"screen:{event.author.id}")


HANDLERS = {ev.MessagePosted: (no_links, screen), ev.MemberJoined: (screen,)}


def runtime(community, **kw):
    return Runtime(community, handlers=HANDLERS, clock=lambda: at(), **kw)


def test_a_decision_is_executed_once_even_when_the_event_arrives_twice(community):
    fake = FakeAdapter()
    rt = runtime(community)
    spam = message(1, 1, at(), "buy now http://spam.example")
    assert rt.ingest([spam]).decisions == 4  # delete, mute, (scheduled unmute), notify
    assert rt.ingest([spam]).decisions == 0  # the webhook retried: nothing new
    report = outbox_run_due(adapters={"fake": fake}, now=at(1))
    assert report.done == 3
    assert [d.kind for d, _ in fake.calls] == ["delete", "mute"]
    assert Notification.objects.get().text == "link removed from user1"
    assert outbox_run_due(adapters={"fake": fake}, now=at(2)).total == 0
    assert len(fake.calls) == 2


def test_the_end_of_a_mute_fires_on_time_and_only_then(community):
    fake = FakeAdapter()
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    outbox_run_due(adapters={"fake": fake}, now=at(1))
    outbox_run_due(adapters={"fake": fake}, now=at(59))
    assert [d.kind for d, _ in fake.calls] == ["delete", "mute"]
    outbox_run_due(adapters={"fake": fake}, now=at(61))
    assert [d.kind for d, _ in fake.calls] == ["delete", "mute", "unmute"]


def test_a_crash_between_commit_and_execution_executes_after_restart(community):
    # The process stored the event and its decisions, then died before the worker ran.
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    # A new process: a new runtime and adapter; the worker finds the committed decisions.
    fake = FakeAdapter()
    outbox_run_due(adapters={"fake": fake}, now=at(1))
    assert [d.kind for d, _ in fake.calls] == ["delete", "mute"]


def test_a_worker_that_died_mid_execution_is_recovered_once(community):
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    # Worker A claims the rows and dies before marking them done.
    OutboxItem.objects.filter(status="pending", due_at__lte=at(1)).update(status="running", claim="dead", claimed_at=at(1))
    fake = FakeAdapter()
    assert outbox_run_due(adapters={"fake": fake}, now=at(2)).total == 0  # claimed: not run twice meanwhile
    assert outbox_recover(now=at(1) + CLAIM_LEASE - timedelta(seconds=1)) == 0  # lease not over yet
    assert outbox_recover(now=at(1) + CLAIM_LEASE + timedelta(seconds=1)) == 3
    outbox_run_due(adapters={"fake": fake}, now=at(10))
    keys = [key for _, key in fake.calls]
    assert len(keys) == 2 and len(set(keys)) == 2  # each decision once, each with its own stable key


def test_dry_run_records_decisions_and_executes_none(community):
    community.dry_run = True
    community.save()
    fake = FakeAdapter()
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {"dry_run"}
    assert outbox_run_due(adapters={"fake": fake}, now=at(120)).total == 0
    assert fake.calls == []


def test_import_mode_stores_but_does_not_act(community):
    result = runtime(community, mode="import").ingest([message(1, 1, at(), "http://x")])
    assert result.stored == 1 and result.decisions == 0
    assert not OutboxItem.objects.exists()


def test_a_delayed_kick_is_cancelled_when_the_newcomer_answers(community):
    fake = FakeAdapter()
    rt = runtime(community)
    rt.ingest([join(1, 5, at()), join(2, 6, at())])
    rt.ingest([message(3, 5, at(0.5), "hi, I am here for tea")])
    outbox_run_due(adapters={"fake": fake}, now=at(2))
    assert [(d.kind, d.member) for d, _ in fake.calls] == [("kick", "fake:u6")]


def test_temporary_failures_retry_with_backoff_then_succeed(community):
    fake = FakeAdapter(fail_next=2)
    rt = Runtime(community, handlers={ev.MessagePosted: (lambda e, c: [SendMessage(chat=e.chat, text="hi")],)},
                 clock=lambda: at())
    rt.ingest([message(1, 1, at())])
    assert outbox_run_due(adapters={"fake": fake}, now=at(1)).retried == 1
    assert outbox_run_due(adapters={"fake": fake}, now=at(2)).retried == 1
    assert outbox_run_due(adapters={"fake": fake}, now=at(3)).done == 1
    item = OutboxItem.objects.get()
    assert (item.status, item.attempts) == ("done", 3)
    assert len(fake.calls) == 1


def test_what_a_platform_cannot_do_fails_clearly_and_is_not_retried(community):
    fake = FakeAdapter(capabilities=frozenset({"send"}))
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    report = outbox_run_due(adapters={"fake": fake}, now=at(1))
    assert report.failed == 2
    errors = set(OutboxItem.objects.filter(status="failed").values_list("last_error", flat=True))
    assert errors == {"PermanentFailure: fake cannot delete (not supported by the platform)",
                      "PermanentFailure: fake cannot mute (not supported by the platform)"}


def test_no_connection_for_the_platform_fails_with_the_reason(community):
    runtime(community).ingest([message(1, 1, at(), "http://x")])
    outbox_run_due(adapters={}, now=at(1))
    assert "no connection to platform 'fake'" in OutboxItem.objects.filter(kind="delete").get().last_error


def test_gives_up_after_max_attempts(community):
    fake = FakeAdapter(fail_next=100)
    rt = Runtime(community, handlers={ev.MessagePosted: (lambda e, c: [SendMessage(chat=e.chat, text="hi")],)},
                 clock=lambda: at())
    rt.ingest([message(1, 1, at())])
    for minute in range(1, MAX_ATTEMPTS + 2):
        outbox_run_due(adapters={"fake": fake}, now=at(minute * 60))
    item = OutboxItem.objects.get()
    assert item.status == "failed" and item.attempts == MAX_ATTEMPTS


def test_a_broken_handler_does_not_stop_the_others_or_the_store(community):
    def broken(event, ctx):
        raise ValueError("bug")

    rt = Runtime(community, handlers={ev.MessagePosted: (broken, no_links)}, clock=lambda: at())
    result = rt.ingest([message(1, 1, at(), "http://x")])
    assert result.stored == 1 and result.decisions == 4


def test_rules_on_request_answers_with_the_rules(community):
    fake = FakeAdapter()
    Runtime(community, clock=lambda: at()).ingest([message(1, 1, at(), "/rules"), message(2, 1, at(), "群规")])
    outbox_run_due(adapters={"fake": fake}, now=at(1))
    assert [(d.text, d.reply_to) for d, _ in fake.calls] == [
        ("1. Be kind. 2. No ads.", "1"), ("1. Be kind. 2. No ads.", "2")]
    assert all(d.chat == CHAT for d, _ in fake.calls)


def test_permanent_failure_from_the_adapter(community):
    class Refusing(FakeAdapter):
        def execute(self, decision, *, idempotency_key):
            raise PermanentFailure("bot is not an admin")

    runtime(community).ingest([message(1, 1, at(), "http://x")])
    outbox_run_due(adapters={"fake": Refusing()}, now=at(1))
    assert OutboxItem.objects.filter(status="failed", last_error__contains="bot is not an admin").count() == 2


def test_two_communities_with_the_same_chat_ids_keep_their_own_decisions(community):
    from qunyun.communities.services import community_create

    other = community_create(slug="coffee", name="Coffee", time_zone="UTC")
    same_event = message(1, 1, at(), "http://x")
    assert runtime(community).ingest([same_event]).decisions == 4
    assert runtime(other).ingest([same_event]).decisions == 4
    assert OutboxItem.objects.filter(community=other).count() == 4
    fake = FakeAdapter()
    outbox_run_due(adapters={"fake": fake}, now=at(1))
    assert [d.kind for d, _ in fake.calls].count("delete") == 2

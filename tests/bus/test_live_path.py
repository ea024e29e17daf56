"""The live path under load: decisions executed in batches, once each; the worker woken by the
commit, not by polling; writers of one process taking turns without losing anything."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from qunyun.bus import outbox
from qunyun.bus.adapters import FakeAdapter
from qunyun.bus.models import Notification, OutboxItem
from qunyun.bus.outbox import CLAIM_LEASE, outbox_pending_count, outbox_recover, outbox_run_due
from qunyun.bus.runtime import Runtime
from qunyun.bus.worker import OutboxWorker
from qunyun.core import events as ev
from qunyun.core.decisions import NotifyOperator, SendMessage
from qunyun.core.timeutil import utcnow
from tests.conftest import at
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


def answer(event, ctx):
    yield SendMessage(chat=event.chat, text=f"re {event.event_id}", reply_to=event.event_id)


def tell_operator(event, ctx):
    yield NotifyOperator(chat=event.chat, text="look at this")


def test_one_pass_executes_many_decisions_once_each_and_marks_every_row(community):
    Runtime(community, handlers={ev.MessagePosted: (answer,)}, clock=lambda: at()).ingest(
        [message(i, i % 7, at(), f"line {i}") for i in range(40)])
    fake = FakeAdapter()
    assert outbox_run_due(adapters={"fake": fake}, now=at(1)).done == 40
    assert sorted(d.reply_to for d, _ in fake.calls) == sorted(str(i) for i in range(40))
    assert len({key for _, key in fake.calls}) == 40
    rows = list(OutboxItem.objects.values_list("status", "attempts", "claim", "executed_at", "result"))
    assert {(status, attempts, claim) for status, attempts, claim, _, _ in rows} == {("done", 1, "")}
    assert all(executed is not None for _, _, _, executed, _ in rows)
    assert sorted(result["n"] for *_, result in rows) == list(range(1, 41))  # each row keeps its own answer
    assert outbox_run_due(adapters={"fake": fake}, now=at(2)).total == 0


def test_a_pass_takes_only_as_many_as_asked_in_due_order(community):
    rt = Runtime(community, handlers={ev.MessagePosted: (answer,)}, clock=lambda: at())
    rt.ingest([message(i, 1, at(), f"line {i}") for i in range(5)])
    fake = FakeAdapter()
    assert outbox_run_due(adapters={"fake": fake}, now=at(1), limit=2).done == 2
    assert outbox_run_due(adapters={"fake": fake}, now=at(1), limit=10).done == 3
    ids = [payload["reply_to"] for payload in OutboxItem.objects.order_by("id").values_list("payload", flat=True)]
    assert [d.reply_to for d, _ in fake.calls] == ids


class Crash(BaseException):
    """The process dying (not an error the worker handles)."""


def test_a_crash_after_an_internal_decision_neither_loses_nor_doubles_it(community, monkeypatch):
    Runtime(community, handlers={ev.MessagePosted: (tell_operator,)}, clock=lambda: at()).ingest(
        [message(1, 1, at(), "hm")])
    real_write = outbox._Finished.write

    def dies_once(self):
        monkeypatch.setattr(outbox._Finished, "write", real_write)
        raise Crash()

    monkeypatch.setattr(outbox._Finished, "write", dies_once)
    with pytest.raises(Crash):
        outbox_run_due(adapters={}, now=at(1))
    # The notice and the row's "done" commit together: the crash undid both.
    assert Notification.objects.count() == 0
    assert OutboxItem.objects.get().status == "running"
    assert outbox_recover(now=utcnow() + CLAIM_LEASE + timedelta(seconds=1)) == 1
    assert outbox_run_due(adapters={}, now=at(2)).done == 1
    assert Notification.objects.count() == 1
    assert OutboxItem.objects.get().status == "done"


def wait_for(condition, seconds: float = 10.0) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError("timed out")
        time.sleep(0.005)
    return time.monotonic() - start


def test_the_worker_executes_right_after_the_commit_without_polling(community):
    fake = FakeAdapter()
    worker = OutboxWorker(idle_seconds=60, adapters={"fake": fake}.get)  # it would poll once a minute
    worker.start()
    try:
        time.sleep(0.3)  # the worker found nothing and sleeps
        rt = Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=worker.wake)
        rt.ingest([message(1, 1, utcnow(), "hello")])
        assert wait_for(lambda: len(fake.calls) == 1) < 2.0
    finally:
        worker.stop()
        worker.join(5)


def test_ingest_threads_and_the_worker_take_turns_without_losing_anything(community):
    fake = FakeAdapter()
    worker = OutboxWorker(idle_seconds=60, adapters={"fake": fake}.get)
    worker.start()
    rt = Runtime(community, handlers={ev.MessagePosted: (answer,)}, wake=worker.wake)
    errors: list[BaseException] = []

    def feed(thread: int) -> None:
        try:
            for i in range(25):
                rt.ingest([message(f"{thread}-{i}", thread, utcnow(), "hi")])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=feed, args=(n,)) for n in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        wait_for(lambda: len(fake.calls) >= 75 and outbox_pending_count() == 0, seconds=30)
    finally:
        worker.stop()
        worker.join(5)
    assert sorted(d.reply_to for d, _ in fake.calls) == sorted(f"{t}-{i}" for t in range(3) for i in range(25))
    assert OutboxItem.objects.filter(status="done").count() == 75


def test_a_refreshed_runtime_sees_edits_to_the_community_its_groups_and_channels(community):
    from qunyun.communities.models import Channel, Group
    from tests.factories import CHAT, join

    seen = []

    def note(event, ctx):
        seen.append((ctx.group.name, ctx.group.size_cap, ctx.community.rules_text, ctx.channel_code))
        return ()

    rt = Runtime(community, handlers={ev.MessagePosted: (note,), ev.MemberJoined: (note,)}, clock=lambda: at())
    rt.ingest([message(1, 1, at())])
    Group.objects.filter(community=community, chat_id=CHAT).update(name="Tea lovers", size_cap=200)
    community.rules_text = "Be kind, share tea."
    community.save()
    Channel.objects.create(community=community, name="Poster", code="poster", invite_link="https://t.me/+poster")
    rt.refresh()
    rt.ingest([message(2, 1, at(1)), join(3, 9, at(2), link="https://t.me/+poster")])
    assert seen[1][:3] == ("Tea lovers", 200, "Be kind, share tea.")
    assert seen[2][3] == "poster"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_while_the_worker_runs_live_commits_leave_wal_checkpoints_to_it(community):
    worker = OutboxWorker(idle_seconds=60, adapters={}.get)
    worker.start()
    try:
        time.sleep(0.3)
        rt = Runtime(community, handlers={})
        for batch in range(30):
            rt.ingest([message(f"{batch}-{i}", i % 9, utcnow(), "tea " * 50) for i in range(20)])
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            assert cursor.fetchone()[0] == 0  # this connection's commits do not checkpoint
        time.sleep(1.5)  # the checkpointer's tick copies the log back
        rt.ingest([message("after", 1, utcnow(), "one more")])  # the log starts over after a full checkpoint
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            _busy, frames, _done = cursor.fetchone()
        assert frames < 30  # the 30 batches before (hundreds of pages) were checkpointed in the background
    finally:
        worker.stop()
        worker.join(5)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_a_long_log_is_checkpointed_in_the_writers_turn_so_that_it_starts_again(community, monkeypatch):
    """Under steady traffic a passive checkpoint never catches up with the commits and the log
    only grows; once it is long the checkpointer completes one in the writers' turn (between two
    commits of this process) and the next commit starts the log from its beginning."""
    from qunyun.bus import wal

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # as the live path's connections, with a checkpointer
    rt = Runtime(community, handlers={})
    ticks: list[tuple[int, int]] = []

    def tick():
        ticks.append(wal.WalCheckpointer.checkpoint())
        connection.close()

    monkeypatch.setattr(wal, "RESTART_AFTER_FRAMES", 10**9)  # a short log: passive only, no turn needed
    with wal._WRITERS:
        thread = threading.Thread(target=tick)
        thread.start()
        thread.join(10)
        assert ticks  # it did not wait for the writer
    for batch in range(10):
        rt.ingest([message(f"{batch}-{i}", i % 9, utcnow(), "tea " * 50) for i in range(20)])
    monkeypatch.setattr(wal, "RESTART_AFTER_FRAMES", 1)
    with wal._WRITERS:  # a writer of this process is mid-transaction: the completing checkpoint waits
        thread = threading.Thread(target=tick)
        thread.start()
        thread.join(0.5)
        assert len(ticks) == 1
    thread.join(10)
    before, copied = ticks[-1]
    assert before == copied > 100  # every frame copied back
    rt.ingest([message("after", 1, utcnow(), "one more")])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _busy, frames, _done = cursor.fetchone()
    assert frames < before  # the log started again from its beginning: only the last commit's frames


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_the_completing_checkpoint_syncs_the_files_before_it_takes_the_writers_turn(community, monkeypatch):
    """Only a complete checkpoint syncs the database file, and that sync writes every page copied
    since the last one: the checkpointer syncs the database and the log itself before it waits
    for the turn, so that the sync in the turn has little left to write."""
    import os

    from qunyun.bus import wal

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    rt = Runtime(community, handlers={})
    for batch in range(5):
        rt.ingest([message(f"{batch}-{i}", i % 9, utcnow(), "tea " * 50) for i in range(20)])
    synced: list[str] = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(wal.os, "fsync", fsync)
    monkeypatch.setattr(wal, "RESTART_AFTER_FRAMES", 1)
    database = os.path.realpath(connection.settings_dict["NAME"])
    ticks = []

    def tick():
        ticks.append(wal.WalCheckpointer.checkpoint())
        connection.close()

    with wal._WRITERS:  # a writer of this process is mid-transaction: the checkpointer waits for it
        thread = threading.Thread(target=tick)
        thread.start()
        thread.join(0.5)
        assert not ticks
        assert sorted(synced) == [database, f"{database}-wal"]  # synced while waiting, not in the turn
    thread.join(10)
    assert ticks and ticks[-1][0] == ticks[-1][1]

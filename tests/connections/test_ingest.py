"""The per-community live writer: deliveries that arrive together share one transaction, and each
caller still learns what became of its own events."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from qunyun.bus import wal
from qunyun.communities.models import Event
from qunyun.connections.ingest import ingest_events, ingest_submit, runtimes_forget, writer_batches
from qunyun.connections.models import Connection
from qunyun.connections.services import connection_configure
from qunyun.core.timeutil import utcnow
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_runtimes():
    runtimes_forget()
    yield
    runtimes_forget()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="holds the SQLite writers' turn")
def test_deliveries_that_arrive_while_a_batch_is_written_share_the_next_transaction(community):
    ingest_events(community.pk, [message("first", 1, utcnow())])
    batches, events = writer_batches(community.pk)
    with wal._WRITERS:  # another writer of this process holds the turn: deliveries queue up
        futures = [ingest_submit(community.pk, [message(f"m{i}", i % 5, utcnow(), f"line {i}")]) for i in range(30)]
    results = [future.result(timeout=30) for future in futures]
    assert [(r.received, r.stored, r.duplicates) for r in results] == [(1, 1, 0)] * 30
    more_batches, more_events = writer_batches(community.pk)
    assert more_events - events == 30
    assert more_batches - batches <= 2  # at most the one already taken, then everything else at once
    assert Event.objects.filter(community=community).count() == 31


def test_the_same_event_in_two_deliveries_of_one_batch_is_stored_once(community):
    event = message("dup", 1, utcnow(), "hello")
    first, second = ingest_submit(community.pk, [event]), ingest_submit(community.pk, [event])
    results = [first.result(timeout=30), second.result(timeout=30)]
    assert sorted((r.stored, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    assert Event.objects.filter(community=community).count() == 1


def test_a_connection_is_touched_once_for_a_burst(community):
    conn, _ = connection_configure(community=community, platform="telegram", settings={"mode": "polling"},
                                   secrets={"token": "123:abc"})
    ingest_events(community.pk, [message("a", 1, utcnow())], connection_id=conn.pk)
    first = Connection.objects.get(pk=conn.pk).last_event_at
    assert first is not None
    ingest_events(community.pk, [message("b", 1, utcnow())], connection_id=conn.pk)
    assert Connection.objects.get(pk=conn.pk).last_event_at == first  # within TOUCH_EVERY_SECONDS


def test_a_busy_writer_gathers_deliveries_and_an_idle_one_writes_at_once(community, monkeypatch):
    import time

    from qunyun.connections import ingest

    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_SECONDS", 0.4)
    monkeypatch.setattr(ingest, "GATHER_MAX_SECONDS", 0.4)
    ingest_events(community.pk, [message("first", 1, utcnow())])
    batches, _events = writer_batches(community.pk)
    futures = []
    for i in range(8):  # arriving one by one, right after a transaction: they share the next one
        futures.append(ingest_submit(community.pk, [message(f"m{i}", i % 3, utcnow(), f"line {i}")]))
        time.sleep(0.01)
    assert all(future.result(timeout=30).stored == 1 for future in futures)
    assert writer_batches(community.pk)[0] - batches == 1
    time.sleep(0.5)  # the writer idles longer than the interval: the next delivery does not wait
    start = time.monotonic()
    ingest_events(community.pk, [message("late", 1, utcnow())])
    assert time.monotonic() - start < 0.3
    assert Event.objects.filter(community=community).count() == 10


def test_the_live_writer_runs_the_servers_collector_policy(community, monkeypatch):
    import gc
    import sys

    from qunyun.connections import heap

    try:
        ingest_events(community.pk, [message("m", 1, utcnow())])
        assert heap.POLICY.started  # the first live writer started it
        assert sys.getswitchinterval() == heap.SWITCH_INTERVAL_SECONDS
        monkeypatch.setattr(heap.POLICY, "refrozen", float("-inf"))  # a re-freeze is due
        refreezes, sweeps = heap.POLICY.refreezes, heap.POLICY.sweeps
        ingest_events(community.pk, [message("n", 1, utcnow())])
        deadline = time.monotonic() + 10
        while heap.POLICY.refreezes + heap.POLICY.sweeps == refreezes + sweeps and time.monotonic() < deadline:
            time.sleep(0.01)  # the writer ticks the policy after answering its callers
        assert heap.POLICY.refreezes + heap.POLICY.sweeps > refreezes + sweeps
    finally:
        gc.unfreeze()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="holds the SQLite writers' turn")
def test_a_transaction_that_waited_for_the_turn_does_not_hold_the_next_one_back(community, monkeypatch):
    """The writer waits after a transaction as long as that one took of its CPU, not of the clock:
    time spent waiting for another writer's turn is not made up for by the events behind it."""
    from qunyun.connections import ingest

    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_SECONDS", 0.001)
    monkeypatch.setattr(ingest, "GATHER_MAX_SECONDS", 3.0)
    ingest_events(community.pk, [message("first", 1, utcnow())])
    with wal._WRITERS:  # another writer of this process holds the turn for 1 s
        held = ingest_submit(community.pk, [message("held", 2, utcnow())])
        time.sleep(1.0)
    assert held.result(timeout=30).stored == 1
    start = time.monotonic()
    ingest_events(community.pk, [message("next", 3, utcnow())])
    assert time.monotonic() - start < 0.3  # by wall time it would wait up to 1 s more


def test_a_slow_transaction_holds_the_next_one_back_8_ms_at_most(community):
    """After a transaction that took 50 ms of the writer's CPU the writer gathers for at most
    8 ms, not as long again: the events queued through the slow one have waited already."""
    from qunyun.connections import ingest

    ingest_events(community.pk, [message("first", 1, utcnow())])
    writer = ingest._writer(community.pk)
    with writer.cond:  # (the writer now waits for the next delivery)
        writer.took, writer.ended = 0.05, time.monotonic()
        assert 0 < writer._gap() <= 0.008

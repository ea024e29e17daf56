"""The staged rollups written in parts (SQLite): an application's changes go in several short
transactions, and every event is still counted once — when the process dies between two parts,
when a rebuild runs between two, when the live writer stores events between two, and when
another application would read while parts are left."""

from __future__ import annotations

import pytest

from qunyun.analytics.rollups import rollups_rebuild
from qunyun.bus import deferred
from qunyun.bus.deferred import KIND, deferred_parts_finish, deferred_rollups_apply
from qunyun.bus.models import OutboxItem, RollupPart
from qunyun.communities.services import community_create
from tests.analytics.test_rollups import snapshot
from tests.analytics.test_rollups_incremental import random_history
from tests.bus.test_deferred_rollups import Worker, live_runtime

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _sqlite_in_parts(monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the parts are SQLite's (PostgreSQL applies the rollups in one transaction)")
    monkeypatch.setattr(deferred, "WRITE_IN_PARTS", True)
    monkeypatch.setattr(deferred, "PART_SECONDS", 0)  # a transaction per part, whoever waits


class Crash(Exception):
    """The process dying at that point."""


def _waiting(slug: str, *, seed: int, events: int = 60):
    """A community whose first ``events`` events (joins and leaves among them) wait for their rollups."""
    community = community_create(slug=slug, name="Parts", time_zone="Europe/Berlin")
    history = random_history(seed)
    runtime = live_runtime(community, Worker())
    for start in range(0, events, 6):
        runtime.ingest(history[start:start + 6])
    assert OutboxItem.objects.filter(kind=KIND).exists()
    return community, runtime, history


def _on_write(monkeypatch, at: int, action) -> list[int]:
    """Call ``action`` as the application asks for its ``at``-th write transaction (1: the first),
    before it has the turn; returns the count of write transactions asked for."""
    real = deferred.write_transaction
    count = [0]

    def counting():
        count[0] += 1
        if count[0] == at:
            action()
        return real()

    monkeypatch.setattr(deferred, "write_transaction", counting)
    return count


def _types(community) -> dict[str, list[tuple]]:
    """Every rollup row's storage classes (the staged rows pass through JSON: a day must stay text,
    a count an integer)."""
    from django.db import connection

    from qunyun.analytics.rollups import ROLLUP_TABLES

    out = {}
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"SELECT * FROM {table} WHERE community_id = %s LIMIT 0", [community.pk])
            names = [c[0] for c in cursor.description if c[0] != "id"]
            cursor.execute(f"SELECT {', '.join(f'typeof({n})' for n in names)} FROM {table} "
                           "WHERE community_id = %s", [community.pk])
            out[table] = sorted(set(cursor.fetchall()))
    return out


def _equals_rebuilt(community) -> None:
    live, types = snapshot(community), _types(community)
    assert live["qunyun_member_day"] and live["qunyun_group_size"]
    rollups_rebuild(community)
    assert snapshot(community) == live
    assert _types(community) == types


def test_an_application_writes_in_several_transactions_and_counts_as_in_one(monkeypatch):
    community, _runtime, _history = _waiting("parts", seed=11)
    count = _on_write(monkeypatch, 0, lambda: None)
    assert deferred_rollups_apply(community.pk) == 10
    assert count[0] >= 5  # the first (the waiting rows, the first part, the others stored) and one per part
    assert not RollupPart.objects.exists() and not OutboxItem.objects.filter(kind=KIND).exists()
    _equals_rebuilt(community)


@pytest.mark.parametrize("at", [2, 4])
def test_a_crash_between_two_parts_leaves_the_rest_written_once_at_the_restart(monkeypatch, at):
    community, _runtime, _history = _waiting(f"crash{at}", seed=12)

    def crash():
        raise Crash

    _on_write(monkeypatch, at, crash)
    with pytest.raises(Crash):
        deferred_rollups_apply(community.pk)
    assert not OutboxItem.objects.filter(kind=KIND).exists()  # gone with the first part, in its transaction
    left = RollupPart.objects.count()
    assert left
    monkeypatch.undo()
    monkeypatch.setattr(deferred, "WRITE_IN_PARTS", True)
    monkeypatch.setattr(deferred, "PART_SECONDS", 0)
    assert deferred_parts_finish() == 1  # the worker's start
    assert not RollupPart.objects.exists()
    _equals_rebuilt(community)


def test_parts_left_are_written_before_the_next_application_reads(monkeypatch):
    community, runtime, history = _waiting("next", seed=13)

    def crash():
        raise Crash

    _on_write(monkeypatch, 3, crash)
    with pytest.raises(Crash):
        deferred_rollups_apply(community.pk)
    monkeypatch.undo()
    monkeypatch.setattr(deferred, "WRITE_IN_PARTS", True)
    monkeypatch.setattr(deferred, "PART_SECONDS", 0)
    assert RollupPart.objects.exists()
    runtime.ingest(history[60:90])  # more events, with hours and days shared with the first ones
    # Another thread left the parts after this application looked for them (the look before the
    # snapshot finds none): the snapshot shows them, so it writes them and reads again.
    real, calls = deferred.deferred_parts_finish, []

    def late(community_id=None):
        calls.append(community_id)
        return 0 if len(calls) == 1 else real(community_id)

    monkeypatch.setattr(deferred, "deferred_parts_finish", late)
    assert deferred_rollups_apply(community.pk) > 0
    assert len(calls) == 2 and not RollupPart.objects.exists()
    _equals_rebuilt(community)


def test_a_rebuild_between_two_parts_drops_the_rest(monkeypatch):
    community, _runtime, _history = _waiting("rebuilt", seed=14)
    _on_write(monkeypatch, 3, lambda: rollups_rebuild(community))
    assert deferred_rollups_apply(community.pk) == 10
    assert not RollupPart.objects.exists()
    _equals_rebuilt(community)  # the rebuild counted the events; the parts after it added nothing


def test_events_stored_between_two_parts_are_counted_once(monkeypatch):
    community, runtime, history = _waiting("between", seed=15)
    _on_write(monkeypatch, 3, lambda: runtime.ingest(history[60:90]))
    assert deferred_rollups_apply(community.pk) == 10
    monkeypatch.undo()
    monkeypatch.setattr(deferred, "WRITE_IN_PARTS", True)
    monkeypatch.setattr(deferred, "PART_SECONDS", 0)
    assert OutboxItem.objects.filter(kind=KIND).exists()  # theirs, for the next application
    while deferred_rollups_apply(community.pk):
        pass
    _equals_rebuilt(community)


def test_with_nobody_waiting_the_parts_share_their_transactions(monkeypatch):
    community, _runtime, _history = _waiting("shared", seed=16)
    monkeypatch.setattr(deferred, "PART_SECONDS", 60)
    monkeypatch.setattr(deferred, "writers_waiting", lambda: False)
    count = _on_write(monkeypatch, 0, lambda: None)
    assert deferred_rollups_apply(community.pk) == 10
    assert count[0] == 1 and not RollupPart.objects.exists()
    _equals_rebuilt(community)


def test_a_waiting_writer_has_the_turn_after_one_part(monkeypatch):
    community, _runtime, _history = _waiting("waiting", seed=16)
    monkeypatch.setattr(deferred, "PART_SECONDS", 60)
    monkeypatch.setattr(deferred, "writers_waiting", lambda: True)  # the live writer waits all along
    count = _on_write(monkeypatch, 0, lambda: None)
    assert deferred_rollups_apply(community.pk) == 10
    assert count[0] >= 5  # a transaction per part
    _equals_rebuilt(community)


def test_a_large_application_is_written_in_one_transaction(monkeypatch):
    """Its parts would be large, and storing them costs in proportion: a burst is written as before."""
    community, _runtime, _history = _waiting("large", seed=17)
    monkeypatch.setattr(deferred, "PARTS_MAX_EVENTS", 59)  # the sixty waiting events are "many"
    count = _on_write(monkeypatch, 0, lambda: None)
    assert deferred_rollups_apply(community.pk) == 10
    assert count[0] == 1 and not RollupPart.objects.exists()
    _equals_rebuilt(community)

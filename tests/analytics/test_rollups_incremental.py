"""Incremental rollups on a random history: any batching, order or repetition gives the rebuild's rows."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from qunyun.analytics.rollups import rollups_rebuild
from qunyun.bus.runtime import Runtime
from qunyun.communities.services import community_create
from qunyun.core import events as ev
from tests.analytics.test_rollups import snapshot

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = ["How do I brew oolong?", "ok", " 好 ", "see https://tea.example", "WWW.TEA.EXAMPLE is down", "haha",
         "thanks", "", "a longer message about water temperature", "\t👍👍\n", "ｗｗｗ.tea (full-width)",
         "İstanbul: HTTP://çay.example", "www"]


def random_history(seed: int) -> list[ev.Event]:
    """Two groups around the spring DST switch in Berlin: every event kind, bots, system lines, unresolved mentions."""
    rng = random.Random(seed)
    people = [ev.Account(f"fake:u{i}", f"user{i}") for i in range(12)]
    bot = ev.Account("fake:bot", "TeaBot", is_bot=True)
    start = datetime(2026, 3, 28, 20, 0, tzinfo=timezone.utc)
    events: list[ev.Event] = []
    posted: dict[str, list[str]] = {"fake:a": [], "fake:b": []}
    for i in range(400):
        chat = rng.choice(("fake:a", "fake:a", "fake:b"))
        moment = start + timedelta(minutes=rng.randint(0, 60 * 24 * 9), seconds=rng.randint(0, 59))
        who = rng.choice(people + [bot] if rng.random() < 0.1 else people)
        roll = rng.random()
        eid = str(i)
        if roll < 0.6:
            kind = rng.choice([ev.MessageKind.TEXT] * 6 + [ev.MessageKind.STICKER, ev.MessageKind.LINK,
                                                           ev.MessageKind.SYSTEM, ev.MessageKind.IMAGE])
            reply = rng.choice(posted[chat]) if posted[chat] and rng.random() < 0.3 else None
            mentions = tuple(rng.choice([p.id for p in people] + ["fake:ghost", "fake:bot"])
                             for _ in range(rng.choice((0, 0, 0, 1, 2))))
            events.append(ev.MessagePosted(chat=chat, event_id=eid, at=moment, author=who, text=rng.choice(TEXTS),
                                           kind=kind, reply_to=reply, mentions=mentions))
            posted[chat].append(eid)
        elif roll < 0.75 and posted[chat]:
            events.append(ev.ReactionAdded(chat=chat, event_id=eid, at=moment, message_id=rng.choice(posted[chat]),
                                           author=who, emoji="👍"))
        elif roll < 0.85:
            inviter = rng.choice(people + [None, None])
            events.append(ev.MemberJoined(chat=chat, event_id=eid, at=moment, member=who,
                                          via=ev.JoinMethod.INVITED if inviter else ev.JoinMethod.INVITE_LINK,
                                          inviter=inviter))
        elif roll < 0.93:
            events.append(ev.MemberLeft(chat=chat, event_id=eid, at=moment, member=who))
        elif roll < 0.97:
            events.append(ev.PaymentMade(chat=chat, event_id=eid, at=moment, member=who, amount="1.00"))
        elif posted[chat]:
            events.append(ev.MessageDeleted(chat=chat, event_id=eid, at=moment, message_id=rng.choice(posted[chat]),
                                            by=rng.choice((who, None))))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_batches_out_of_order_and_repeated_give_the_rebuilt_rollups(seed):
    community = community_create(slug=f"random{seed}", name="Random", time_zone="Europe/Berlin")
    history = random_history(seed)
    rng = random.Random(seed)
    runtime = Runtime(community, mode="import")
    # Batches of random sizes, in random order, some events sent twice (overlapping exports).
    cuts = sorted(rng.sample(range(1, len(history)), 12))
    batches = [history[a:b] for a, b in zip([0, *cuts], [*cuts, len(history)])]
    rng.shuffle(batches)
    for batch in batches:
        extra = rng.sample(history, 5)
        runtime.ingest(batch + extra, batch_size=rng.choice((7, 50, 1000)))
    incremental = snapshot(community)
    assert incremental["qunyun_community_hour"] and incremental["qunyun_reply_edge_day"]
    assert incremental["qunyun_funnel_day"] and incremental["qunyun_group_day_mix"]
    # Importing it all again adds nothing.
    assert runtime.ingest(history).stored == 0
    assert snapshot(community) == incremental
    rollups_rebuild(community)
    assert snapshot(community) == incremental


@pytest.mark.parametrize("workers", [2, 3])
def test_a_rebuild_read_by_worker_processes_gives_the_incremental_rollups(workers):
    """The log cut into ranges of days read by worker processes (as for a large log): the same rows,
    including weeks and months that span a cut, and the workers' CPU seconds are reported."""
    community = community_create(slug=f"parts{workers}", name="Parts", time_zone="Europe/Berlin")
    runtime = Runtime(community, mode="import")
    runtime.ingest(random_history(7), batch_size=50)
    incremental = snapshot(community)
    cpu: dict[str, float] = {}
    steps = rollups_rebuild(community, cpu=cpu, workers=workers)
    if connection.vendor == "sqlite":  # (PostgreSQL reads the log in one process: its own parallel scans)
        assert "workers" in steps and cpu["workers_cpu"] > 0
    assert snapshot(community) == incremental
    rollups_rebuild(community, workers=1)
    assert snapshot(community) == incremental


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="workers read SQLite files only")
def test_a_failed_worker_costs_time_not_rollups(monkeypatch, caplog):
    """A worker that fails: its part is rolled back and the log read again in one process, same rows."""
    community = community_create(slug="partsfail", name="Parts", time_zone="Europe/Berlin")
    Runtime(community, mode="import").ingest(random_history(8), batch_size=50)
    incremental = snapshot(community)
    from qunyun.analytics import rebuild_parts

    real = rebuild_parts.part_steps

    def broken(cid, spans, days, *, final):
        steps = real(cid, spans, days, final=final)
        return steps if final else [("scan", [("SELECT * FROM no_such_table", [])])]

    monkeypatch.setattr(rebuild_parts, "part_steps", broken)
    steps = rollups_rebuild(community, workers=2)
    assert "workers" not in steps  # the second, single-process rebuild
    assert "no such table" in caplog.text
    assert snapshot(community) == incremental


def test_events_stored_without_hour_and_marks_count_the_same():
    """Rows stored before the hour and marks columns (or not through the store) count as the
    store's rows do, and the migration's fill gives each exactly what the store wrote."""
    from zoneinfo import ZoneInfo

    from qunyun.analytics.rebuild import log_spans
    from qunyun.analytics.rollups import events_hour_marks_fill
    from qunyun.core.marks import LINK, MENTIONS_SHIFT, WATER

    community = community_create(slug="unmarked", name="Unmarked", time_zone="Europe/Berlin")
    Runtime(community, mode="import").ingest(random_history(10), batch_size=50)
    berlin = ZoneInfo("Europe/Berlin")
    stored = _hours_and_marks(community)
    for _id, at, etype, hour, marks in stored:
        assert hour == at.astimezone(berlin).hour
        assert (marks is not None) == (etype == "message")
    marks = [m for *_rest, m in stored if m is not None]
    assert any(m & WATER for m in marks) and any(m & LINK for m in marks) and any(m >> MENTIONS_SHIFT >= 2 for m in marks)
    rollups_rebuild(community)
    with_marks = snapshot(community)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE qunyun_event SET hour = NULL, marks = NULL WHERE community_id = %s", [community.pk])
    rollups_rebuild(community)
    assert snapshot(community) == with_marks
    with connection.cursor() as cursor:
        spans = log_spans(cursor, community.pk, community.time_zone)
        events_hour_marks_fill(cursor, community.pk, spans, stored[0][0], stored[-1][0])
    assert _hours_and_marks(community) == stored


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's INDEXED BY")
def test_the_rebuild_reads_the_log_by_each_pass_index_and_without_them():
    """Each pass names its index (the planner would take one for both); a log whose indexes a bulk
    load has dropped is read all the same, with the same rows."""
    from qunyun.analytics.periods import offset_spans
    from qunyun.analytics.rebuild_parts import part_steps

    community = community_create(slug="indexed", name="Indexed", time_zone="Europe/Berlin")
    Runtime(community, mode="import").ingest(random_history(11), batch_size=50)
    rollups_rebuild(community)
    rebuilt = snapshot(community)
    spans = offset_spans("Europe/Berlin", datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 5, 1, tzinfo=timezone.utc))
    statements = [sql for _name, step in part_steps(community.pk, spans, (None, None), final=True) for sql, _p in step]
    assert any("INDEXED BY event_day_activity" in sql and "qunyun_tmp_activity" in sql for sql in statements)
    assert any("INDEXED BY event_community_day" in sql and "qunyun_tmp_sparse" in sql for sql in statements)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX event_day_activity")
        cursor.execute("DROP INDEX event_community_day")
    try:
        statements = [sql for _name, step in part_steps(community.pk, spans, (None, None), final=True)
                      for sql, _p in step]
        assert not any("INDEXED BY" in sql for sql in statements)
        rollups_rebuild(community)
        assert snapshot(community) == rebuilt
    finally:
        from qunyun.bus.bulk import indexes_restore

        assert set(indexes_restore()) == {"event_day_activity", "event_community_day"}


def _hours_and_marks(community) -> list[tuple]:
    from qunyun.communities.models import Event

    return list(Event.objects.filter(community=community).order_by("id").values_list("id", "at", "type", "hour", "marks"))


def test_a_rebuild_of_a_log_emptied_since_clears_the_rollups():
    """Events erased after the rollups were made (a member's data removed, a chat dropped): the
    rebuild finds no event and leaves no rollup row behind."""
    community = community_create(slug="emptied", name="Emptied", time_zone="Europe/Berlin")
    Runtime(community, mode="import").ingest(random_history(9), batch_size=50)
    assert any(snapshot(community).values())
    indexes = rollup_indexes()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM qunyun_event WHERE community_id = %s", [community.pk])
    rollups_rebuild(community)
    assert not any(snapshot(community).values())
    assert rollup_indexes() == indexes  # dropped to refill the tables, then built again


def rollup_indexes() -> dict[str, set[str]]:
    """The names of every rollup table's indexes and constraints."""
    from qunyun.analytics.rollups import ROLLUP_TABLES

    with connection.cursor() as cursor:
        return {table: set(connection.introspection.get_constraints(cursor, table)) for table in ROLLUP_TABLES}


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="VACUUM is PostgreSQL's")
def test_a_rebuild_on_postgresql_vacuums_the_refilled_tables():
    """A refilled table has an empty visibility map until vacuumed (no index-only scans for the
    dashboard): the rebuild vacuums its tables once it has committed."""
    community = community_create(slug="vacuumed", name="Vacuumed", time_zone="Europe/Berlin")
    Runtime(community, mode="import").ingest(random_history(10), batch_size=50)

    def last_vacuum():
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'qunyun_member_day'")
            return cursor.fetchone()[0]

    before = last_vacuum()
    steps = rollups_rebuild(community)
    after = last_vacuum()
    assert "vacuum" in steps
    assert after is not None and (before is None or after > before)

"""Rollups: incremental (as events arrive) and rebuilt from the log agree, row for row."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from django.db import connection

from qunyun.analytics.models import CommunityHour, GroupDayMix, GroupHour, MemberMonth, MemberStats, MemberWeek
from qunyun.communities.models import Member
from qunyun.analytics.periods import offset_spans
from qunyun.analytics.rollups import ROLLUP_TABLES, rollups_rebuild
from qunyun.bus.runtime import Runtime
from qunyun.communities.services import community_create
from qunyun.core import events as ev
from tests.conftest import at
from tests.factories import join, leave, message, reaction

pytestmark = pytest.mark.django_db(transaction=True)

UTC = timezone.utc


def snapshot(community) -> dict[str, list[tuple]]:
    """Every rollup row of a community, without ids, sorted."""
    out = {}
    with connection.cursor() as cursor:
        for table in ROLLUP_TABLES:
            cursor.execute(f"SELECT * FROM {table} WHERE community_id = %s", [community.pk])
            names = [c[0] for c in cursor.description]
            rows = [tuple(str(v) for k, v in zip(names, row) if k != "id") for row in cursor.fetchall()]
            out[table] = sorted(rows)
    return out


def mixed_history(chat="fake:room1"):
    """Messages, replies, mentions, reactions, joins, leaves, deletions, a bot and a system line."""
    deleted = ev.MessageDeleted(chat=chat, event_id="d1", at=at(30), message_id="3")
    return [
        join(1, 1, at(-10)), join(2, 2, at(-9)),
        message(1, 1, at(0), "How do I brew oolong?"),
        message(2, 2, at(1), "95 degrees, short steeps", reply_to="1", mentions=["fake:u1", "fake:u404"]),
        message(3, 2, at(2), "haha"),
        message(4, 1, at(3), "ok"),
        message(5, 1, at(4), "see https://tea.example"),
        message(6, 9, at(5), "I am a bot", bot=True),
        message(7, 1, at(6), "user2 joined", kind=ev.MessageKind.SYSTEM),
        ev.MessagePosted(chat=chat, event_id="8", at=at(7), author=ev.Account("fake:u3", "user3"),
                         text="", kind=ev.MessageKind.STICKER),
        reaction(20, 3, 1, at(8)),
        reaction(21, 1, 2, at(60 * 24)),
        message(9, 2, at(60 * 24 * 9), "next week", mentions=["fake:u3", "fake:u3", "fake:u1"]),
        message(11, 3, at(60 * 24 * 9 + 1), "to the bot", mentions=["fake:u9"], reply_to="6"),
        ev.PaymentMade(chat=chat, event_id="p1", at=at(60 * 24 * 9 + 2), member=ev.Account("fake:u2", "user2"),
                       amount="9.90"),
        ev.MemberJoined(chat=chat, event_id="j9", at=at(60 * 24 * 9 + 3), member=ev.Account("fake:u5", "user5"),
                        inviter=ev.Account("fake:u2", "user2")),
        message(10, 3, at(60 * 24 * 40), "next month"),
        leave(30, 2, at(60 * 24 * 41)),
        deleted,
    ]


def test_rebuild_equals_incremental(community):
    Runtime(community, mode="import").ingest(mixed_history(), batch_size=3)
    incremental = snapshot(community)
    assert incremental["qunyun_community_hour"] and incremental["qunyun_member_stats"]
    rollups_rebuild(community)
    assert snapshot(community) == incremental


def test_edges_and_funnel_rollups(community):
    from qunyun.analytics.models import FunnelDay, ReplyEdgeDay

    Runtime(community, mode="import").ingest(mixed_history())
    names = {m.pk: m.display_name for m in Member.objects.all()}
    edges = sorted((names[e.source_id], names[e.target_id], e.replies, e.mentions) for e in ReplyEdgeDay.objects.all())
    # u2 replies to u1 (and mentions u1: not twice); u2 mentions u3 (twice in one message: once) and u1;
    # u3 replies to the bot and mentions it: bots are not in the graph.
    assert edges == [("user2", "user1", 0, 1), ("user2", "user1", 1, 0), ("user2", "user3", 0, 1)]  # two days
    funnel = sorted((names[f.member_id], f.payments, f.invites) for f in FunnelDay.objects.all())
    assert funnel == [("user2", 1, 1)]  # paid and brought user5 in, the same day


def test_analytics_rollups_count_the_right_things(community):
    Runtime(community, mode="import").ingest(mixed_history())
    stats = {s.member.display_name: s for s in MemberStats.objects.select_related("member")}
    assert set(stats) == {"user1", "user2", "user3", "user5"}  # the bot is not a member
    u1 = stats["user1"]
    # 09:00 UTC is 17:00 in Shanghai; the system line does not count.
    assert (u1.first_active_day, u1.first_message_day, u1.messages) == (date(2026, 3, 2), date(2026, 3, 2), 3)
    assert u1.last_active_day == date(2026, 3, 3)  # the reaction a day later
    assert stats["user3"].first_join_day is None and stats["user3"].messages == 3
    assert stats["user2"].first_join_day == date(2026, 3, 2)
    # 17:00 on 2 March: six messages (not the bot's, not the system line) by three members; the
    # next day's hour has a reaction only: no message, one active member.
    hours = sorted((str(h.day), h.hour, h.messages, h.active_members) for h in GroupHour.objects.all())
    assert hours[:2] == [("2026-03-02", 17, 6, 3), ("2026-03-03", 17, 0, 1)]
    assert CommunityHour.objects.get(day=date(2026, 3, 2), hour=17).active_members == 3
    weeks = sorted((w.member.display_name, w.week, w.messages, w.reactions)
                   for w in MemberWeek.objects.select_related("member"))
    assert weeks == [
        ("user1", date(2026, 3, 2), 3, 1), ("user2", date(2026, 3, 2), 2, 0), ("user2", date(2026, 3, 9), 1, 0),
        ("user3", date(2026, 3, 2), 1, 1), ("user3", date(2026, 3, 9), 1, 0), ("user3", date(2026, 4, 6), 1, 0),
    ]
    assert MemberMonth.objects.filter(month=date(2026, 4, 1)).count() == 1
    mix = GroupDayMix.objects.get(day=date(2026, 3, 2))
    # water: "haha"? no (4 chars); "ok" and the sticker are; the link message carries a URL.
    assert (mix.water, mix.links, mix.deleted) == (2, 1, 1)


def test_rebuild_uses_local_hours_across_dst():
    berlin = community_create(slug="berlin", name="Berlin", time_zone="Europe/Berlin")
    # 2026-03-29 01:30 UTC is 03:30 CEST (clocks went 02:00 -> 03:00 at 01:00 UTC);
    # 2026-10-25 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET (the repeated hour).
    moments = [datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
               datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
               datetime(2026, 10, 25, 22, 30, tzinfo=UTC)]
    Runtime(berlin, mode="import").ingest([message(i, 1, m) for i, m in enumerate(moments)])
    incremental = snapshot(berlin)
    hours = sorted((str(h.day), h.hour, h.messages, h.active_members) for h in GroupHour.objects.filter(community=berlin))
    assert hours == [("2026-03-29", 1, 1, 1), ("2026-03-29", 3, 1, 1), ("2026-10-25", 2, 2, 1), ("2026-10-25", 23, 1, 1)]
    # The repeated hour holds two messages by one member: one active member.
    assert CommunityHour.objects.get(community=berlin, day=date(2026, 10, 25), hour=2).active_members == 1
    rollups_rebuild(berlin)
    assert snapshot(berlin) == incremental


def test_offset_spans_find_the_switches():
    spans = offset_spans("America/New_York", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
    assert [(s.offset) for s in spans] == [-5 * 3600, -4 * 3600, -5 * 3600]
    assert spans[1].starts == int(datetime(2026, 3, 8, 7, 0, tzinfo=UTC).timestamp())
    assert spans[2].starts == int(datetime(2026, 11, 1, 6, 0, tzinfo=UTC).timestamp())
    assert len(offset_spans("Asia/Shanghai", datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))) == 1


def test_a_member_in_two_groups_in_one_hour_is_one_active_member_of_the_community(community):
    """Per group the member counts in each; across groups (and for two groups chosen) once."""
    from qunyun.analytics.heatmap import heatmap_get
    from qunyun.analytics.scope import scope_build

    history = [message(1, 1, at(0), chat="fake:room1"), message(2, 1, at(5), chat="fake:room2"),
               message(3, 2, at(6), chat="fake:room2"), reaction(4, 2, 3, at(7), chat="fake:room2")]
    runtime = Runtime(community, mode="import")
    for event in history:  # one by one: each later one finds the earlier in the log
        runtime.ingest([event])
    incremental = snapshot(community)
    by_group = sorted((h.group.chat_id, h.messages, h.active_members) for h in GroupHour.objects.select_related("group"))
    assert by_group == [("fake:room1", 1, 1), ("fake:room2", 2, 2)]
    assert [h.active_members for h in CommunityHour.objects.all()] == [2]
    rollups_rebuild(community)
    assert snapshot(community) == incremental
    both = scope_build(community=community, start="2026-03-02", end="2026-03-02", groups=["fake:room1", "fake:room2"])
    one = scope_build(community=community, start="2026-03-02", end="2026-03-02", groups=["fake:room2"])
    everyone = scope_build(community=community, start="2026-03-02", end="2026-03-02")
    for scope, members, messages in ((both, 2, 3), (one, 2, 2), (everyone, 2, 3)):
        grid = heatmap_get(scope)
        assert grid["member_hours"][0][17] == members and grid["messages"][0][17] == messages


@pytest.mark.django_db
def test_the_largest_rollups_are_stored_by_their_key():
    """The rows of the largest rollups live in their key's B-tree (SQLite WITHOUT ROWID; on
    PostgreSQL the key is the primary key): a migration that rebuilt one of these tables the
    ordinary way would quietly bring back a second copy of every row to write."""
    from django.apps import apps
    from django.db import connection

    from qunyun.analytics.models import WITHOUT_ROWID_TABLES

    models = {m._meta.db_table: m for m in apps.get_app_config("analytics").get_models()}
    with connection.cursor() as cursor:
        for table in WITHOUT_ROWID_TABLES:
            key = [f.column for f in models[table]._meta.pk_fields]
            if connection.vendor == "sqlite":  # (introspection lists a key's columns in the table's order)
                cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
                create = cursor.fetchone()[0]
                assert create.rstrip().endswith("WITHOUT ROWID"), table
                assert "PRIMARY KEY (" + ", ".join(f'"{c}"' for c in key) + ")" in create, create
                continue
            constraints = connection.introspection.get_constraints(cursor, table)
            primary = [c["columns"] for c in constraints.values() if c["primary_key"]]
            assert primary == [key], (table, primary)

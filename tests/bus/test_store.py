"""The batch store: idempotent, members and names resolved, memberships and rollups right."""

from __future__ import annotations

from datetime import date

import pytest

from qunyun.analytics.models import GroupDay, GroupHour, MemberDay
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Event, Group, Identity, IdentityName, Member, Membership
from qunyun.communities.services import channel_create
from qunyun.core import events as ev
from tests.conftest import at
from tests.factories import CHAT, join, leave, message, reaction

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_event_twice_is_one_row(community):
    runtime = Runtime(community, mode="import")
    first = runtime.ingest([message(1, 1, at()), message(2, 2, at(1))])
    again = runtime.ingest([message(1, 1, at()), message(2, 2, at(1)), message(3, 1, at(2))])
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (1, 2)
    assert Event.objects.filter(community=community).count() == 3
    # A fresh runtime (a new process) does not double either.
    assert Runtime(community, mode="import").ingest([message(1, 1, at())]).stored == 0
    assert GroupDay.objects.get().messages == 3


def test_duplicates_inside_one_batch_count_once(community):
    result = Runtime(community, mode="import").ingest([message(1, 1, at())] * 3)
    assert result.stored == 1 and result.duplicates == 2
    assert MemberDay.objects.get().messages == 1


def test_accounts_become_members_and_renames_keep_one_member(community):
    runtime = Runtime(community, mode="import")
    runtime.ingest([message(1, 7, at(), name="Ann"), message(2, 7, at(60), name="Ann (tea)")])
    # An older export arriving later must not take the newer name back.
    runtime.ingest([message(0, 7, at(-60), name="Annie")])
    member = Member.objects.get()
    assert member.display_name == "Ann (tea)"
    identity = Identity.objects.get()
    assert set(IdentityName.objects.filter(identity=identity).values_list("name", flat=True)) == {
        "Ann", "Ann (tea)", "Annie"}
    assert member.first_seen_at == at(-60)


def test_days_are_counted_in_the_community_time_zone(community):
    # Asia/Shanghai is UTC+8: 15:59 UTC is 23:59 local, 16:01 UTC is the next local day.
    late = at(days=0, minutes=6 * 60 + 59)  # 15:59 UTC on 2026-03-02
    early = at(days=0, minutes=7 * 60 + 1)  # 16:01 UTC
    Runtime(community, mode="import").ingest([message(1, 1, late), message(2, 1, early)])
    days = dict(GroupDay.objects.values_list("day", "messages"))
    assert days == {date(2026, 3, 2): 1, date(2026, 3, 3): 1}
    hours = set(GroupHour.objects.values_list("day", "hour"))
    assert hours == {(date(2026, 3, 2), 23), (date(2026, 3, 3), 0)}


def test_rollups_count_messages_replies_reactions_and_active_members(community):
    Runtime(community, mode="import").ingest([
        message(1, 1, at()),
        message(2, 2, at(1), reply_to="1"),
        message(3, 2, at(2), reply_to="2"),  # answering oneself is not a reply to another member
        reaction(10, 3, 1, at(3)),
        message(4, 9, at(4), bot=True),  # bots are not members: not counted
        message(5, 1, at(5), kind=ev.MessageKind.SYSTEM),  # system lines are not messages
    ])
    gd = GroupDay.objects.get()
    assert (gd.messages, gd.reactions, gd.active_members) == (3, 1, 3)
    by_member = {Member.objects.get(pk=m).display_name: (n, r, rep)
                 for m, n, r, rep in MemberDay.objects.values_list("member", "messages", "reactions", "replies")}
    assert by_member == {"user1": (1, 0, 0), "user2": (2, 0, 1), "user3": (0, 1, 0)}
    reply = Event.objects.get(message_id="2")
    assert reply.reply_to_member.display_name == "user1"


def test_reply_to_a_message_stored_in_an_earlier_batch(community):
    runtime = Runtime(community, mode="import")
    runtime.ingest([message(1, 1, at())])
    runtime.ingest([message(2, 2, at(1), reply_to="1")])
    assert Event.objects.get(message_id="2").reply_to_member.display_name == "user1"


def test_membership_follows_the_latest_event_even_when_imported_out_of_order(community):
    runtime = Runtime(community, mode="import")
    runtime.ingest([join(1, 5, at()), leave(2, 5, at(10))])
    runtime.ingest([join(3, 5, at(20))])
    m = Membership.objects.get()
    assert m.is_member and m.joined_at == at(20) and m.left_at == at(10)
    # An old leave from an overlapping export must not throw them out again.
    runtime.ingest([leave(4, 5, at(5), reason=ev.LeaveReason.REMOVED)])
    m.refresh_from_db()
    assert m.is_member
    gd = GroupDay.objects.get()
    assert (gd.joins, gd.leaves) == (2, 2)


def test_join_through_a_channel_link_is_attributed(community):
    channel = channel_create(community=community, code="wechat-article", name="WeChat article",
                             invite_link="https://t.me/+abc")
    Runtime(community, mode="import").ingest([join(1, 5, at(), link="https://t.me/+abc"), join(2, 6, at(1))])
    by_name = {m.display_name: m.channel_id for m in Member.objects.all()}
    assert by_name == {"user5": channel.pk, "user6": None}
    assert Membership.objects.get(member__display_name="user5").channel_id == channel.pk
    assert Event.objects.get(type="join", member__display_name="user5").channel_id == channel.pk


def test_groups_are_created_on_first_sight(community):
    runtime = Runtime(community, mode="import")
    runtime.store.group_names["fake:room2"] = "Second room"
    runtime.ingest([message(1, 1, at()), message(1, 1, at(), chat="fake:room2")])
    assert set(Group.objects.values_list("chat_id", "name")) == {(CHAT, CHAT), ("fake:room2", "Second room")}
    assert Event.objects.count() == 2  # same message id in two chats: two events


def test_a_failed_batch_writes_nothing_and_a_retry_stores_it(community, monkeypatch):
    runtime = Runtime(community, mode="import")
    original = runtime.store._apply_rollups

    def broken(fresh):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runtime.store, "_apply_rollups", broken)
    with pytest.raises(RuntimeError):
        runtime.ingest([message(1, 1, at()), message(2, 2, at(1))])
    assert Event.objects.count() == 0 and Member.objects.count() == 0
    monkeypatch.setattr(runtime.store, "_apply_rollups", original)
    assert runtime.ingest([message(1, 1, at()), message(2, 2, at(1))]).stored == 2
    assert GroupDay.objects.get().messages == 2


def test_a_text_with_a_lone_surrogate_is_stored_with_a_question_mark_and_its_batch_with_it(community):
    """A live payload may carry half an emoji ("\\ud83c" in its JSON): UTF-8 cannot hold it."""
    runtime = Runtime(community, mode="live", handlers={})
    result = runtime.ingest([message(1, 1, at(), "fine"), message(2, 2, at(1), "tea \ud83c!"),
                             message(3, 1, at(2), "also fine")])
    assert (result.stored, result.duplicates) == (3, 0)
    texts = dict(Event.objects.filter(community=community).values_list("message_id", "text"))
    assert texts == {"1": "fine", "2": "tea ?!", "3": "also fine"}
    assert GroupDay.objects.get().messages == 3  # the rollups saw every row once
    assert runtime.ingest([message(2, 2, at(1), "tea \ud83c!")]).stored == 0  # still idempotent


def test_a_text_with_nul_characters_is_stored_on_both_databases(community):
    """PostgreSQL's text cannot hold NUL; the store drops them there (SQLite keeps the text as it came)."""
    from django.db import connection

    result = Runtime(community, mode="live", handlers={}).ingest([message(1, 1, at(), "a\x00b\x01 add me")])
    assert result.stored == 1
    text = Event.objects.get(community=community).text
    assert text == ("a\x00b\x01 add me" if connection.vendor == "sqlite" else "ab\x01 add me")


def test_a_large_batch_with_a_lone_surrogate_is_stored_whole(community):
    """Large batches take another insert on PostgreSQL (COPY through a work table): the same result."""
    runtime = Runtime(community, mode="import")
    events = [message(n, n % 7, at(n / 60), f"tea {n}") for n in range(1200)]
    events[700] = message(700, 1, at(700 / 60), "half an emoji \ud83c")
    result = runtime.ingest(events, batch_size=1200)
    assert (result.stored, result.duplicates) == (1200, 0)
    texts = dict(Event.objects.filter(community=community).values_list("message_id", "text"))
    assert len(texts) == 1200 and texts["700"] == "half an emoji ?" and texts["699"] == "tea 699"
    assert GroupDay.objects.get().messages == 1200
    again = runtime.ingest(events[600:] + [message(5000, 2, at(30), "new")], batch_size=1200)
    assert (again.stored, again.duplicates) == (1, 600)

"""Merging two members into one person, and undoing it exactly."""

from __future__ import annotations

import pytest

from qunyun.analytics.models import GroupDay, MemberDay
from qunyun.bus.runtime import Runtime
from qunyun.communities.merging import MergeError, member_merge, member_unmerge
from qunyun.communities.models import Event, Identity, Member, Membership
from tests.conftest import at
from tests.factories import join, leave, message

pytestmark = pytest.mark.django_db(transaction=True)

QQ = "onebot:qq:500"


def snapshot():
    return {
        "member_days": sorted(MemberDay.objects.values_list("group_id", "member_id", "day", "messages", "replies")),
        "group_days": sorted(GroupDay.objects.values_list("group_id", "day", "messages", "active_members")),
        "memberships": sorted(Membership.objects.values_list("group_id", "member_id", "is_member", "joined_at")),
        "events": sorted(Event.objects.values_list("pk", "member_id", "reply_to_member_id", "mentions")),
        "identities": sorted(Identity.objects.values_list("pk", "member_id")),
    }


def build(community):
    runtime = Runtime(community, mode="import")
    runtime.ingest([
        join(1, 1, at(), name="Ann on Telegram"),
        message(2, 1, at(1)),
        message(3, 2, at(2), reply_to="2", mentions=["fake:u1"]),
        join(4, 7, at(3), chat=QQ, name="安安 on QQ"),
        message(5, 7, at(4), chat=QQ),
        message(6, 3, at(5), chat=QQ, reply_to="5", mentions=["fake:u7"]),
        leave(7, 7, at(6), chat=QQ),
    ])
    return runtime


def member(account_id):
    return Identity.objects.get(account_id=account_id).member


def test_merge_counts_two_accounts_as_one_person_and_undo_restores_everything(community):
    build(community)
    before = snapshot()
    telegram, qq = member("fake:u1"), member("fake:u7")
    merge = member_merge(source=qq, target=telegram, merged_by="alice")

    assert set(Identity.objects.filter(member=telegram).values_list("account_id", flat=True)) == {"fake:u1", "fake:u7"}
    assert Event.objects.filter(member=telegram, type="message").count() == 2
    assert Event.objects.get(message_id="6").reply_to_member_id == telegram.pk
    assert Event.objects.get(message_id="6").mentions == [telegram.pk]
    assert set(MemberDay.objects.filter(member=telegram).values_list("group__chat_id", "messages")) == {
        ("fake:room1", 1), (QQ, 1)}
    assert not MemberDay.objects.filter(member=qq).exists()
    qq.refresh_from_db()
    assert qq.merged_into_id == telegram.pk
    # Memberships recomputed from the log: in the Telegram room, left the QQ group.
    assert set(Membership.objects.filter(member=telegram).values_list("group__chat_id", "is_member")) == {
        ("fake:room1", True), (QQ, False)}

    member_unmerge(merge=merge)
    assert snapshot() == before
    qq.refresh_from_db()
    assert qq.merged_into_id is None


def test_a_running_store_follows_the_merge(community):
    runtime = build(community)
    telegram, qq = member("fake:u1"), member("fake:u7")
    member_merge(source=qq, target=telegram)
    runtime.ingest([message(8, 7, at(10), chat=QQ)])  # the same (cached) runtime, after the merge
    assert Event.objects.get(message_id="8").member_id == telegram.pk
    assert MemberDay.objects.filter(member=qq).count() == 0


def test_merge_refuses_what_makes_no_sense(community):
    build(community)
    telegram, qq, other = member("fake:u1"), member("fake:u7"), member("fake:u2")
    with pytest.raises(MergeError, match="into itself"):
        member_merge(source=telegram, target=telegram)
    merge = member_merge(source=qq, target=telegram)
    with pytest.raises(MergeError, match="already merged"):
        member_merge(source=qq, target=other)
    member_merge(source=telegram, target=other)
    with pytest.raises(MergeError, match="later merges"):
        member_unmerge(merge=merge)

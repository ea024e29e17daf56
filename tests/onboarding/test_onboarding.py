"""Onboarding: the welcome of a member's channel, screening, FAQ cooldowns and the channel link (活码)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qunyun.bus.adapters import FakeAdapter
from qunyun.bus.models import OutboxItem
from qunyun.bus.outbox import outbox_run_due
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Membership
from qunyun.communities.services import channel_create, group_create
from qunyun.core import events as ev
from qunyun.onboarding.config import config_forget
from qunyun.onboarding.models import JoinIntent
from qunyun.onboarding.rules import TemplateError, Welcome, template_check, template_fill, welcome_choose
from qunyun.onboarding.services import (
    OnboardingError, channel_route_set, faq_add, screening_set, welcome_set,
)
from tests.conftest import at
from tests.factories import CHAT, account, join, message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_config():
    config_forget()
    yield
    config_forget()


def live(community, minutes=0.0):
    return Runtime(community, clock=lambda: at(minutes))


def sent(fake, now):
    outbox_run_due(adapters={"fake": fake}, now=now)
    return [(d.kind, getattr(d, "text", getattr(d, "member", None))) for d, _ in fake.calls]


def channel_join(eid, who, when, channel):
    return ev.MemberJoined(chat=CHAT, event_id=str(eid), at=when, member=account(who), channel=channel,
                           via=ev.JoinMethod.CHANNEL)


# ------------------------------------------------------------------ pure rules

def test_templates_fill_known_variables_and_refuse_typos():
    assert template_fill("Hi {name}, {member_count} of us in {group}. {json}", {
        "name": "Mei", "member_count": 12, "group": "Tea"}) == "Hi Mei, 12 of us in Tea. {json}"
    with pytest.raises(TemplateError, match=r"unknown variable \{nmae\}"):
        template_check("Hi {nmae}")


def test_the_most_specific_welcome_wins():
    welcomes = {(None, None): Welcome("default"), ("wechat", None): Welcome("wechat"),
                ("wechat", "g1"): Welcome("wechat in g1"), (None, "g2"): Welcome("g2 default")}
    assert welcome_choose(welcomes, channel="wechat", chat="g1").text == "wechat in g1"
    assert welcome_choose(welcomes, channel="wechat", chat="g2").text == "wechat"
    assert welcome_choose(welcomes, channel="douyin", chat="g2").text == "g2 default"
    assert welcome_choose(welcomes, channel=None, chat="g3").text == "default"
    assert welcome_choose({}, channel=None, chat="g3") is None


# ------------------------------------------------------------------ welcome

def test_each_channel_gets_its_welcome_and_an_unknown_one_the_default(community):
    channel_create(community=community, code="wechat", name="WeChat article")
    welcome_set(community=community, channel="wechat",
                text="欢迎 {name}！你来自{channel}，群里现在 {member_count} 人。规则：{rules_link}")
    welcome_set(community=community, text="Welcome {name} to {group}!", with_rules=True)
    fake = FakeAdapter()
    live(community).ingest([join(0, 9, at(-5)), channel_join(1, 1, at(), "wechat"), join(2, 2, at())])
    texts = [t for k, t in sent(fake, at(1)) if k == "send"]
    assert texts[0] == "Welcome user9 to fake:room1!\n\n1. Be kind. 2. No ads."
    assert texts[1] == "欢迎 user1！你来自WeChat article，群里现在 3 人。规则：http://localhost:8000/r/tea/"
    assert texts[2] == "Welcome user2 to fake:room1!\n\n1. Be kind. 2. No ads."
    assert [d.to_member for d, _ in fake.calls] == ["fake:u9", "fake:u1", "fake:u2"]


def test_no_welcome_configured_means_no_message_and_bots_are_never_welcomed(community):
    fake = FakeAdapter()
    live(community).ingest([join(1, 1, at())])
    assert sent(fake, at(1)) == []
    welcome_set(community=community, text="hi {name}")
    live(community).ingest([ev.MemberJoined(chat=CHAT, event_id="2", at=at(), member=account(5, bot=True))])
    assert sent(fake, at(1)) == []


def test_a_welcome_for_an_unknown_channel_is_refused(community):
    with pytest.raises(OnboardingError, match="no channel 'nope'"):
        welcome_set(community=community, channel="nope", text="hi")


# ------------------------------------------------------------------ screening

def test_screening_removes_who_does_not_answer_in_time_and_keeps_who_does(community):
    screening_set(community=community, enabled=True, question="What do we drink here?", answers=["tea"],
                  timeout_seconds=60)
    fake = FakeAdapter()
    rt = live(community)
    rt.ingest([join(1, 1, at()), join(2, 2, at()), join(3, 3, at())])
    live(community, 0.2).ingest([message(10, 1, at(0.2), "Tea, of course"), message(11, 2, at(0.3), "coffee?")])
    live(community, 0.4).ingest([ev.MemberLeft(chat=CHAT, event_id="12", at=at(0.4), member=account(3))])
    assert [k for k, _ in sent(fake, at(0.5))] == ["send", "send", "send"]  # the three questions
    assert sent(fake, at(0.99))[3:] == []
    assert sent(fake, at(1.01))[3:] == [("kick", "fake:u2")]  # wrong answer: removed; left: nothing to do


def test_screening_is_off_by_default(community):
    fake = FakeAdapter()
    live(community).ingest([join(1, 1, at())])
    assert not OutboxItem.objects.filter(kind="kick").exists()
    assert sent(fake, at(10)) == []


# ------------------------------------------------------------------ FAQ

def test_faq_answers_once_per_cooldown_and_the_cooldown_survives_a_restart(community):
    faq_add(community=community, pattern="几点|what time", is_regex=True, answer="每晚 8 点开讲", cooldown_seconds=600)
    faq_add(community=community, pattern="报名", answer="报名链接见群公告", cooldown_seconds=60)
    fake = FakeAdapter()
    live(community, 0).ingest([message(1, 1, at(0), "今晚几点开始？")])
    # A new runtime (a restart): the cooldown is read from the outbox, not from memory.
    live(community, 5).ingest([message(2, 2, at(5), "What time tonight?"), message(3, 2, at(5), "怎么报名")])
    live(community, 11).ingest([message(4, 3, at(11), "几点呀")])
    texts = [(t, d.reply_to) for (k, t), (d, _) in zip(sent(fake, at(12)), fake.calls)]
    assert texts == [("每晚 8 点开讲", "1"), ("报名链接见群公告", "3"), ("每晚 8 点开讲", "4")]


def test_faq_patterns_are_checked(community):
    with pytest.raises(OnboardingError, match="invalid"):
        faq_add(community=community, pattern="(unclosed", is_regex=True, answer="x")


# ------------------------------------------------------------------ channel links (活码)

def test_a_full_group_sends_newcomers_to_the_next_group_of_the_channel(client, community):
    group_create(community=community, chat_id="telegram:-1001", name="Tea 1", size_cap=2)
    group_create(community=community, chat_id="telegram:-1002", name="Tea 2", size_cap=2)
    channel_route_set(community=community, channel="wechat", group="telegram:-1001", invite_link="https://t.me/+one")
    channel_route_set(community=community, channel="wechat", group="telegram:-1002", invite_link="https://t.me/+two")
    assert client.get("/j/tea/wechat/")["Location"] == "https://t.me/+one"
    Runtime(community, mode="import").ingest([join(1, 1, at(), chat="telegram:-1001"),
                                              join(2, 2, at(), chat="telegram:-1001")])
    assert client.get("/j/tea/wechat/")["Location"] == "https://t.me/+two"
    Runtime(community, mode="import").ingest([join(3, 3, at(), chat="telegram:-1002"),
                                              join(4, 4, at(), chat="telegram:-1002")])
    full = client.get("/j/tea/wechat/")
    assert full.status_code == 503 and "full" in full.content.decode()
    assert client.get("/j/tea/nope/").status_code == 404


def test_a_matrix_visitor_says_who_they_are_and_their_next_join_is_attributed(client, community):
    from qunyun.connections.ingest import ingest_events, runtimes_forget

    runtimes_forget()
    group_create(community=community, chat_id="matrix:!lounge:example.org", name="Lounge")
    channel_route_set(community=community, channel="douyin", group="matrix:!lounge:example.org")
    assert b'name="account"' in client.get("/j/tea/douyin/").content
    assert client.post("/j/tea/douyin/", {"account": "not an id"}).status_code == 400
    answer = client.post("/j/tea/douyin/", {"account": "@mei:example.org"})
    assert answer["Location"] == "https://matrix.to/#/!lounge:example.org"
    joined = ev.MemberJoined(chat="matrix:!lounge:example.org", event_id="$j1", at=at(),
                             member=ev.Account(id="matrix:@mei:example.org", name="Mei"))
    ingest_events(community.pk, [joined])
    membership = Membership.objects.get(member__identities__account_id="matrix:@mei:example.org")
    assert membership.channel.code == "douyin"
    assert JoinIntent.objects.get().used_at is not None
    runtimes_forget()


def test_the_rules_page_shows_the_rules(client, community):
    page = client.get("/r/tea/")
    assert page.status_code == 200 and "1. Be kind. 2. No ads." in page.content.decode()

"""A member appeals (申诉) through the signed link or the bot command; a moderator decides."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from qunyun.bus.models import Notification
from qunyun.moderation.models import Appeal, Case, LabelledExample, Penalty
from qunyun.moderation.notices import appeal_token
from qunyun.moderation.services import ModerationError, appeal_decide, appeal_submit
from tests.conftest import at
from tests.factories import message

from .test_live import SPAM, SPAM2

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def muted_case(live_path):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 7, at(1), SPAM2)], now=at(2))
    live_path.run(at(3))
    return Case.objects.get(number=2)


def appeal_path_from_notice(live_path, number):
    notice = next(d for d in live_path.calls("send") if f"#{number}" in d.text)
    return re.search(r"https?://[^/\s]+(/appeal/\S+/)", notice.text).group(1)


def test_appeal_through_the_link_in_the_notice_then_accepted_lifts_the_mute(live_path, muted_case):
    path = appeal_path_from_notice(live_path, 2)
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and "#2" in page.content.decode()
    sent = client.post(path, {"text": "我只是在分享我自己的兼职经验"})
    assert sent.status_code == 302 and "sent=1" in sent["Location"]
    appeal = Appeal.objects.get()
    assert (appeal.case, appeal.via, appeal.status, appeal.account_id) == (muted_case, "link", "open", "fake:u7")
    # A second appeal while the first waits is refused with a clear message, not a crash.
    again = client.post(path, {"text": "还有"})
    assert again.status_code == 400 and "already waiting" in again.content.decode()

    moderator = get_user_model().objects.create_user("mod", password="x" * 12)
    appeal_decide(appeal=appeal, accept=True, by=moderator, note="ok, sorry", now=at(30))
    live_path.run(at(31))
    assert live_path.calls("unmute")[-1].member == "fake:u7"
    muted_case.refresh_from_db()
    assert muted_case.status == "overturned"
    assert Penalty.objects.get(case=muted_case).lifted_at == at(31)
    assert LabelledExample.objects.get(case=muted_case).label == "ok"
    told = live_path.calls("send")[-1]
    assert told.to_member == "fake:u7" and "#2" in told.text and "accepted" in told.text


def test_a_forged_or_damaged_link_is_refused(muted_case):
    client = Client()
    token = appeal_token(muted_case)
    assert client.get(f"/appeal/{token[:-2]}xx/").status_code == 404
    assert client.post(f"/appeal/{token}x/", {"text": "hi"}).status_code == 404
    assert not Appeal.objects.exists()


def test_an_empty_appeal_names_what_is_missing(muted_case):
    response = Client().post(f"/appeal/{appeal_token(muted_case)}/", {"text": "   "})
    assert response.status_code == 400 and "write why" in response.content.decode()


def test_appeal_through_the_bot_command_in_chinese(live_path, muted_case):
    live_path.ingest([message(3, 7, at(5), "申诉 2 我没有发广告，加微信是朋友之间的事")], now=at(5))
    live_path.run(at(6))
    appeal = Appeal.objects.get()
    assert (appeal.case, appeal.via, appeal.text) == (muted_case, "bot", "我没有发广告，加微信是朋友之间的事")
    ack = live_path.calls("send")[-1]
    assert ack.reply_to == "3" and "#2" in ack.text and "received" in ack.text
    assert Notification.objects.filter(reason__startswith="moderation:appeal").count() == 1
    # The appeal itself is never judged as spam, however it is worded.
    assert Case.objects.count() == 2


def test_appeal_command_in_telegram_style_and_for_someone_elses_case(live_path, muted_case):
    live_path.ingest([message(3, 9, at(5), "/appeal 2 not me"), message(4, 7, at(6), "/appeal@qunyun_bot #1 sorry")],
                     now=at(6))
    live_path.run(at(7))
    # user9 cannot appeal user7's case; user7's appeal of case 1 is recorded.
    assert list(Appeal.objects.values_list("case__number", "account_id", "text")) == [(1, "fake:u7", "sorry")]
    replies = {d.to_member: d.text for d in live_path.calls("send") if d.reply_to in ("3", "4")}
    assert "no case #2" in replies["fake:u9"] and "#1" in replies["fake:u7"]


def test_rejecting_an_appeal_keeps_the_penalty_and_tells_the_member(live_path, muted_case):
    appeal = appeal_submit(case=muted_case, text="不服", via="link")
    moderator = get_user_model().objects.create_user("mod", password="x" * 12)
    appeal_decide(appeal=appeal, accept=False, by=moderator, now=at(10))
    live_path.run(at(11))
    assert "unmute" not in live_path.kinds
    muted_case.refresh_from_db()
    assert muted_case.status == "confirmed"
    assert "not accepted" in live_path.calls("send")[-1].text
    with pytest.raises(ModerationError, match="already decided"):
        appeal_decide(appeal=appeal, accept=True, by=moderator)


def test_members_are_told_in_the_communitys_language(live_path, community):
    community.settings = {"language": "zh-hans"}
    community.save()
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    notice = live_path.calls("send")[0].text
    assert "你的消息已被删除，这是一次警告" in notice and "申诉 1 理由" in notice
    live_path.ingest([message(2, 7, at(5), "申诉 1 我是卖自己的东西")], now=at(5))
    live_path.run(at(6))
    assert "已收到你对案件 #1 的申诉" in live_path.calls("send")[-1].text
    live_path.ingest([message(3, 7, at(7), "申诉 1 再说一次")], now=at(7))
    live_path.run(at(8))
    assert "已有一条申诉在等待管理员处理" in live_path.calls("send")[-1].text


def test_the_appeal_link_in_notices_is_the_appeal_pages_url(muted_case):
    """Notices write the path out (a worker need not load the URL conf); it must stay the page's."""
    from django.urls import reverse

    from qunyun.moderation.notices import appeal_url, public_url

    token = appeal_token(muted_case)
    assert appeal_url(muted_case) == public_url() + reverse("moderation:appeal", args=[token])

"""Telegram live: updates shaped as the Bot API documents them, through the webhook endpoint and
long polling; the outgoing Bot API calls checked on a local server that records them."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from qunyun.bus.adapters import TemporaryFailure
from qunyun.bus.models import OutboxItem
from qunyun.bus.outbox import outbox_run_due
from qunyun.communities.models import Event, Membership
from qunyun.connections.ingest import runtimes_forget
from qunyun.connections.router import PlatformRouter
from qunyun.connections.services import connection_configure
from qunyun.connections.supervisor import Host, connection_info
from qunyun.core import events as ev
from qunyun.core.timeutil import utcnow
from qunyun.onboarding.config import config_forget
from qunyun.onboarding.services import channel_route_set, welcome_set
from qunyun.platforms.telegram.api import BotApi, TelegramAdapter
from qunyun.platforms.telegram.live import TelegramConnector
from qunyun.platforms.telegram.normalize import update_to_events
from tests.platforms.live_recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "fixtures" / "live"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s3cret-Token_1"
CHAT = "telegram:-1001234567890"
LINK = "https://t.me/+AbCdEfGhIjKlMnOp"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def fresh_caches():
    runtimes_forget()
    config_forget()
    yield
    runtimes_forget()
    config_forget()


@pytest.fixture
def api():
    with Recorder(answers={"sendMessage": {"ok": True, "result": {"message_id": 9001}}}) as server:
        yield server


@pytest.fixture
def telegram(community, api):
    conn, _ = connection_configure(community=community, platform="telegram",
                                   settings={"api_base": api.url, "mode": "webhook",
                                             "webhook_url": "https://bot.example.org/hooks/telegram/tea/"},
                                   secrets={"token": TOKEN, "secret": SECRET})
    return conn


def post(client, payload, *, secret=SECRET):
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    return client.post("/hooks/telegram/tea/", data=json.dumps(payload), content_type="application/json", **headers)


def run_outbox(conn):
    router = PlatformRouter("telegram", TelegramConnector.capabilities)
    router.add(TelegramConnector(connection_info(conn), host=None))
    return outbox_run_due(adapters={"telegram": router}, now=utcnow())


def test_normalizes_the_documented_shapes():
    join = update_to_events(fixture("chat_member_join_link"))[0]
    assert isinstance(join, ev.MemberJoined)
    assert (join.chat, join.member.id, join.member.name, join.via, join.invite_link) == (
        CHAT, "telegram:5550001", "Mei Lin", ev.JoinMethod.INVITE_LINK, LINK)
    message = update_to_events(fixture("message_text"))[0]
    assert (message.event_id, message.reply_to, message.text) == ("4711", "4700", "大家好 @ann 今天喝什么茶？")
    kicked = update_to_events(fixture("chat_member_kicked"))[0]
    assert (kicked.reason, kicked.by.id) == (ev.LeaveReason.BANNED, "telegram:5550002")
    # Service messages repeat what chat_member says; they count only for bots that get no chat_member.
    assert update_to_events(fixture("message_new_chat_members")) == []
    bo = update_to_events(fixture("message_new_chat_members"), member_updates="messages")[0]
    assert (bo.member.id, bo.via, bo.inviter.id) == ("telegram:5550010", ev.JoinMethod.INVITED, "telegram:5550002")
    press = update_to_events(fixture("callback_query"))[0]
    assert (press.kind, press.text, press.author.id) == (ev.MessageKind.SYSTEM, "tea", "telegram:5550001")


def test_a_wrong_or_missing_secret_is_refused_and_the_body_is_not_logged(client, telegram, caplog):
    caplog.set_level(logging.WARNING, logger="qunyun")
    assert post(client, fixture("message_ad"), secret="wrong").status_code == 401
    assert post(client, fixture("message_ad"), secret=None).status_code == 401
    assert not Event.objects.exists()
    assert "refused a telegram webhook" in caplog.text
    assert "abc12345" not in caplog.text and "微信" not in caplog.text


def test_a_join_through_a_channel_link_gets_that_channel_welcome_once(client, community, telegram, api):
    from qunyun.communities.services import group_create

    group_create(community=community, chat_id=CHAT, name="Tea Lounge")
    channel_route_set(community=community, channel="wechat", channel_name="WeChat article", group=CHAT,
                      invite_link=LINK)
    welcome_set(community=community, channel="wechat", text="欢迎 {name}，来自{channel}的朋友！")
    welcome_set(community=community, text="欢迎 {name}!")
    first = post(client, fixture("chat_member_join_link"))
    again = post(client, fixture("chat_member_join_link"))  # Telegram retried the webhook
    assert (first.status_code, first.json()["stored"]) == (200, 1)
    assert (again.status_code, again.json()["stored"], again.json()["duplicates"]) == (200, 0, 1)
    assert Membership.objects.get(member__identities__account_id="telegram:5550001").channel.code == "wechat"
    run_outbox(telegram)
    assert api.named("sendMessage") == [{"chat_id": -1001234567890, "text": "欢迎 Mei Lin，来自WeChat article的朋友！"}]


def test_an_ad_is_deleted_and_its_author_restricted_until_a_time(client, community, telegram, api):
    community.settings = {"guard": {"enabled": True, "mute_seconds": 600}}
    community.save()
    runtimes_forget()
    assert post(client, fixture("message_ad")).status_code == 200
    run_outbox(telegram)
    assert api.named("deleteMessage") == [{"chat_id": -1001234567890, "message_id": 4712}]
    restrict = [c for c in api.named("restrictChatMember") if c["user_id"] == 5550009]
    assert restrict and restrict[0]["permissions"]["can_send_messages"] is False
    assert restrict[0]["until_date"] - int(utcnow().timestamp()) in range(590, 601)
    # The end of the mute is a row due in ten minutes, not a timer.
    end = OutboxItem.objects.get(kind="unmute", reason="mute ended")
    assert end.status == "pending" and 590 <= (end.due_at - utcnow()).total_seconds() <= 600


def test_rate_limits_are_retried_after_the_time_telegram_asks():
    answers = {"sendMessage": (429, {"ok": False, "error_code": 429,
                                     "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})}
    with Recorder(answers=answers) as server:
        adapter = TelegramAdapter(BotApi(TOKEN, api_base=server.url))
        from qunyun.core.decisions import SendMessage

        with pytest.raises(TemporaryFailure) as caught:
            adapter.execute(SendMessage(chat=CHAT, text="hi"), idempotency_key="k")
    assert caught.value.retry_after == 7
    assert TOKEN not in str(caught.value)


def test_a_screening_button_press_cancels_the_removal(client, community, telegram, api):
    from qunyun.onboarding.services import screening_set

    screening_set(community=community, enabled=True, question="What do we drink here?", answers=["tea", "coffee"],
                  buttons=True, timeout_seconds=60)
    post(client, fixture("chat_member_join_link"))
    kick = OutboxItem.objects.get(kind="kick")
    assert kick.status == "pending"
    post(client, fixture("callback_query"))
    kick.refresh_from_db()
    assert kick.status == "cancelled"
    run_outbox(telegram)
    question = [c for c in api.named("sendMessage") if "What do we drink" in c["text"]][0]
    assert question["reply_markup"] == {"inline_keyboard": [[{"text": "tea", "callback_data": "tea"},
                                                             {"text": "coffee", "callback_data": "coffee"}]]}


def test_long_polling_stores_updates_and_keeps_its_offset(community, api):
    batches = [[fixture("message_text"), fixture("chat_member_join_link")]]

    def updates(body):
        if batches:
            return {"ok": True, "result": batches.pop(0)}
        return (500, {"ok": False, "description": "stop"})

    api.answers["getUpdates"] = updates
    conn, _ = connection_configure(community=community, platform="telegram",
                                   settings={"api_base": api.url, "mode": "polling"}, secrets={"token": TOKEN})
    loop = asyncio.new_event_loop()
    try:
        host = Host(loop)
        connector = TelegramConnector(connection_info(conn), host=host)
        with pytest.raises(Exception):
            loop.run_until_complete(asyncio.wait_for(connector.run(lambda: None), 20))
    finally:
        loop.close()
    conn.refresh_from_db()
    assert conn.state["offset"] == 811000002 + 1
    assert Event.objects.filter(type="message").count() == 1 and Event.objects.filter(type="join").count() == 1
    assert api.named("deleteWebhook") and api.named("getUpdates")[0]["allowed_updates"][0] == "message"


def test_invite_links_are_created_per_channel_route_and_attribute_joins(community, telegram, api, capsys):
    from qunyun.cli.main import main
    from qunyun.communities.models import Channel
    from qunyun.communities.services import group_create

    api.answers["createChatInviteLink"] = lambda body: {"ok": True, "result": {
        "invite_link": LINK, "name": body["name"], "creates_join_request": False, "is_primary": False,
        "is_revoked": False, "creator": {"id": 7000001, "is_bot": True, "first_name": "Qunyun"}}}
    group_create(community=community, chat_id=CHAT, name="Tea Lounge")
    channel_route_set(community=community, channel="wechat", channel_name="WeChat article", group=CHAT)
    assert main(["connections", "invite-links", "--community", "tea"]) == 0
    assert api.named("createChatInviteLink") == [{"chat_id": -1001234567890, "name": "WeChat article"}]
    assert Channel.objects.get(code="wechat").invite_link == LINK
    assert "1 invite link(s) created" in capsys.readouterr().out

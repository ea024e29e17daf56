"""OneBot v11: events shaped as the v11 spec shows them, through the HTTP POST endpoint (with
X-Signature) and both WebSocket directions; the actions checked on the implementation's side."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
import uvicorn
import websockets
from websockets.sync.client import connect
from websockets.sync.server import serve

from qunyun.bus.outbox import outbox_run_due
from qunyun.bus.registry import adapter_get, adapter_unregister
from qunyun.communities.models import Event, Membership
from qunyun.connections import supervisor as sup
from qunyun.connections.ingest import runtimes_forget
from qunyun.connections.services import connection_configure
from qunyun.core import events as ev
from qunyun.core.timeutil import utcnow
from qunyun.onboarding.config import config_forget
from qunyun.onboarding.services import welcome_set
from qunyun.platforms.onebot.auth import signature
from qunyun.platforms.onebot.normalize import event_to_events
from tests.e2e.synapse import free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "onebot-access-token"
SECRET = "onebot-post-secret"
CHAT = "onebot:group:876543210"


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture(name: str) -> dict:
    return json.loads(raw(name))


@pytest.fixture(autouse=True)
def clean():
    runtimes_forget()
    config_forget()
    yield
    runtimes_forget()
    config_forget()
    adapter_unregister("onebot")


@pytest.fixture
def guarded(community):
    community.settings = {"guard": {"enabled": True, "mute_seconds": 600}}
    community.save()
    welcome_set(community=community, text="欢迎 {name}！")
    return community


def test_normalizes_segments_cq_strings_and_notices():
    message = event_to_events(fixture("group_message_segments"))[0]
    assert (message.chat, message.event_id, message.text, message.reply_to, message.mentions) == (
        CHAT, "1283475", "今天喝什么茶？", "1283400", ("onebot:qq:23456789",))
    assert message.author == ev.Account(id="onebot:qq:12345678", name="林-茶艺")
    cq = event_to_events(fixture("group_message_cq_string"))[0]
    assert (cq.text, cq.mentions) == ("龙井,明前的", ("onebot:qq:12345678",))
    joined = event_to_events(fixture("group_increase_invite"))[0]
    assert (joined.via, joined.inviter.id) == (ev.JoinMethod.INVITED, "onebot:qq:23456789")
    kicked = event_to_events(fixture("group_decrease_kick"))[0]
    assert (kicked.reason, kicked.by.id) == (ev.LeaveReason.REMOVED, "onebot:qq:23456789")
    left = event_to_events(fixture("group_decrease_leave"))[0]
    assert (left.reason, left.by) == (ev.LeaveReason.LEFT, None)
    assert event_to_events(fixture("heartbeat")) == []


def post(client, body: bytes, **headers):
    return client.post("/hooks/onebot/tea/", data=body, content_type="application/json", **headers)


def test_http_post_checks_the_signature_and_stores_a_retried_event_once(client, community, caplog):
    connection_configure(community=community, platform="onebot", settings={"mode": "reverse"},
                         secrets={"secret": SECRET, "access_token": TOKEN})
    caplog.set_level(logging.WARNING, logger="qunyun")
    body = raw("group_message_ad")
    assert post(client, body).status_code == 401
    assert post(client, body, HTTP_X_SIGNATURE="sha1=" + "0" * 40).status_code == 401
    assert post(client, body, HTTP_X_SIGNATURE=signature(SECRET, body),
                HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert not Event.objects.exists()
    assert "abc12345" not in caplog.text and "refused a onebot webhook" in caplog.text
    good = {"HTTP_X_SIGNATURE": signature(SECRET, body), "HTTP_X_SELF_ID": "10001000"}
    assert post(client, body, **good).status_code == 204
    assert post(client, body, **good).status_code == 204  # delivered again
    assert Event.objects.filter(type="message").count() == 1


class Server(uvicorn.Server):
    def install_signal_handlers(self):  # runs in a thread
        pass


@pytest.fixture
def web():
    port = free_port()
    server = Server(uvicorn.Config("qunyun.asgi:application", host="127.0.0.1", port=port, log_level="warning",
                                   lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=15, what="uvicorn")
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


class Implementation:
    """Plays NapCat on a WebSocket: sends events, answers actions, records them."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.actions: list[tuple[str, dict]] = []
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        try:
            for message in self.ws:
                frame = json.loads(message)
                self.actions.append((frame["action"], frame["params"]))
                data = {"message_id": 7000 + len(self.actions)} if frame["action"] == "send_group_msg" else None
                self.ws.send(json.dumps({"status": "ok", "retcode": 0, "data": data, "echo": frame["echo"]}))
        except websockets.ConnectionClosed:
            pass

    def named(self, action: str) -> list[dict]:
        return [p for a, p in self.actions if a == action]


def drain_outbox(until, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outbox_run_due(adapters=adapter_get, now=utcnow())
        if until():
            return
        time.sleep(0.1)
    raise AssertionError("the outbox did not get there")


def test_reverse_websocket_refuses_a_wrong_token_then_carries_events_and_actions(web, guarded):
    connection_configure(community=guarded, platform="onebot", settings={"mode": "reverse"},
                         secrets={"access_token": TOKEN})
    with pytest.raises(websockets.InvalidStatus) as refused:
        connect(f"{web}/hooks/onebot/tea/ws", additional_headers={"Authorization": "Bearer nope"})
    assert refused.value.response.status_code in (401, 403)
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Self-ID": "10001000", "X-Client-Role": "Universal"}
    with connect(f"{web}/hooks/onebot/tea/ws", additional_headers=headers) as ws:
        impl = Implementation(ws)
        ws.send(raw("heartbeat").decode())
        ws.send(raw("group_increase_invite").decode())
        ws.send(raw("group_message_ad").decode())
        ws.send(raw("group_message_ad").decode())  # a repeat is stored once
        wait_for(lambda: Event.objects.filter(type__in=("join", "message")).count() == 2, what="events stored")
        drain_outbox(lambda: impl.named("set_group_ban"))
    assert impl.named("send_group_msg")[0] == {"group_id": 876543210, "message": [
        {"type": "at", "data": {"qq": "34567890"}}, {"type": "text", "data": {"text": " "}},
        {"type": "text", "data": {"text": "欢迎 34567890！"}}]}
    assert impl.named("delete_msg") == [{"message_id": 1283476}]
    ban = impl.named("set_group_ban")[0]
    assert (ban["group_id"], ban["user_id"]) == (876543210, 99990001) and 590 <= ban["duration"] <= 600
    assert Membership.objects.filter(member__identities__account_id="onebot:qq:34567890", is_member=True).exists()


def test_forward_websocket_connects_with_the_token_and_carries_events_and_actions(guarded, monkeypatch):
    received_headers = []
    impls: list[Implementation] = []

    def handler(ws):
        received_headers.append(ws.request.headers.get("Authorization"))
        impl = Implementation(ws)
        impls.append(impl)
        ws.send(raw("group_message_ad").decode())
        impl.thread.join()

    port = free_port()
    with serve(handler, "127.0.0.1", port) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        conn, _ = connection_configure(community=guarded, platform="onebot",
                                       settings={"mode": "forward", "ws_url": f"ws://127.0.0.1:{port}"},
                                       secrets={"access_token": TOKEN})
        supervisor = sup.Supervisor()
        supervisor._thread.start()
        try:
            supervisor.add(type(conn).objects.select_related("community").get(pk=conn.pk))
            wait_for(lambda: Event.objects.filter(type="message").exists(), what="the event from the implementation")
            conn.refresh_from_db()
            assert conn.status == "connected"
            drain_outbox(lambda: impls and impls[0].named("set_group_ban"))
        finally:
            supervisor.stop()
    assert received_headers == [f"Bearer {TOKEN}"]
    assert impls[0].named("delete_msg") == [{"message_id": 1283476}]

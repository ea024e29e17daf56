"""Generic signed events through the HTTP endpoint: signature, replay window, idempotency, errors."""

from __future__ import annotations

import json
import logging
import time

import pytest

from qunyun.communities.models import Event
from qunyun.connections.ingest import runtimes_forget
from qunyun.connections.services import connection_configure
from qunyun.platforms.generic.signing import sign

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "generic-secret-0123456789"
EVENTS = [
    {"type": "join", "chat": "shop:group-1", "event_id": "j1", "at": "2026-03-02T09:00:00Z",
     "member": {"id": "shop:u1", "name": "Mei"}, "via": "invite_link"},
    {"type": "message", "chat": "shop:group-1", "event_id": "m1", "at": "2026-03-02T09:01:00Z",
     "author": {"id": "shop:u1", "name": "Mei"}, "text": "你好"},
]


@pytest.fixture(autouse=True)
def generic(community):
    runtimes_forget()
    connection_configure(community=community, platform="generic", settings={"window": 300}, secrets={"secret": SECRET})
    yield
    runtimes_forget()


def post(client, payload, *, ts=None, secret=SECRET, signature=None):
    body = json.dumps(payload).encode()
    ts = int(time.time()) if ts is None else ts
    return client.post("/hooks/generic/tea/", data=body, content_type="application/json",
                       HTTP_X_QUNYUN_TIMESTAMP=str(ts), HTTP_X_QUNYUN_SIGNATURE=signature or sign(secret, ts, body))


def test_signed_events_are_stored_once(client):
    first = post(client, EVENTS)
    assert first.status_code == 200 and first.json()["stored"] == 2
    again = post(client, EVENTS)
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 2
    assert post(client, EVENTS[1]).json()["duplicates"] == 1  # one event alone works too
    assert Event.objects.count() == 2


def test_wrong_signatures_and_stale_timestamps_are_refused_without_logging_the_body(client, caplog):
    caplog.set_level(logging.WARNING, logger="qunyun")
    assert post(client, EVENTS, secret="someone-else-secret").status_code == 401
    assert post(client, EVENTS, ts=int(time.time()) - 3600).status_code == 401  # a replay an hour later
    assert post(client, EVENTS, signature="sha256=" + "0" * 64).status_code == 401
    assert not Event.objects.exists()
    assert "你好" not in caplog.text and "wrong signature" in caplog.text


def test_bad_events_are_named_and_the_good_ones_kept(client):
    bad = {**EVENTS[1], "event_id": "m2", "at": "2026-03-02 09:01"}
    answer = post(client, [EVENTS[0], bad, {"type": "nope"}])
    body = answer.json()
    assert answer.status_code == 200 and body["stored"] == 1
    assert body["errors"] == [{"index": 1, "error": "at: '2026-03-02 09:01' has no time zone (add 'Z' or an offset)"},
                              {"index": 2, "error": body["errors"][1]["error"]}]
    assert body["errors"][1]["error"].startswith("type: 'nope' is not one of")
    assert post(client, [bad]).status_code == 400

"""The pure core: ids, time, and the JSON shape of events and decisions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qunyun.core import events as ev
from qunyun.core.codec import DecodeError, decision_from_dict, decision_to_dict, event_from_dict, event_to_dict
from qunyun.core.decisions import DECISION_TYPES, Ban, Kick, Mute, NotifyOperator, OpenCase, SendMessage
from qunyun.core.ids import InvalidId, qualify, split
from qunyun.core.timeutil import InvalidTimeZone, local_day, localize

T = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
ANN = ev.Account(id="telegram:user1", name="Ann 🍵")
BOT = ev.Account(id="telegram:user9", name="helper", is_bot=True)

EVERY_EVENT = [
    ev.MessagePosted(chat="telegram:-100", event_id="7", at=T, author=ANN, text="hi @bob", kind=ev.MessageKind.LINK,
                     reply_to="6", thread="1", mentions=("telegram:user2",), forwarded=True, edited_at=T,
                     source_tz="Europe/Berlin"),
    ev.MessageEdited(chat="telegram:-100", event_id="7@1", at=T, message_id="7", author=ANN, text="hi"),
    ev.MessageDeleted(chat="telegram:-100", event_id="d7", at=T, message_id="7", by=BOT),
    ev.ReactionAdded(chat="telegram:-100", event_id="r1", at=T, message_id="7", author=ANN, emoji="❤"),
    ev.ReactionRemoved(chat="telegram:-100", event_id="r2", at=T, message_id="7", author=ANN, emoji="❤"),
    ev.MemberJoined(chat="telegram:-100", event_id="j1", at=T, member=ANN, via=ev.JoinMethod.INVITED, inviter=BOT,
                    invite_link="https://t.me/+x", channel="poster"),
    ev.MemberLeft(chat="telegram:-100", event_id="l1", at=T, member=ANN, reason=ev.LeaveReason.REMOVED, by=BOT),
    ev.MemberRenamed(chat="telegram:-100", event_id="n1", at=T, member=ANN, old_name="Annie"),
    ev.PaymentMade(chat="telegram:-100", event_id="p1", at=T, member=ANN, amount="99.00", reference="order-1"),
]


def test_every_event_type_is_in_the_table_and_round_trips():
    assert {type(e) for e in EVERY_EVENT} == set(ev.EVENT_TYPES.values())
    for event in EVERY_EVENT:
        data = event_to_dict(event)
        assert data["type"] == event.type
        assert event_from_dict(data) == event


def test_raw_is_kept_only_when_asked_and_is_not_part_of_equality():
    event = ev.MessagePosted(chat="x:1", event_id="1", at=T, author=ANN, raw={"update_id": 5})
    assert "raw" not in event_to_dict(event)
    back = event_from_dict(event_to_dict(event, with_raw=True))
    assert back.raw == {"update_id": 5} and back == ev.MessagePosted(chat="x:1", event_id="1", at=T, author=ANN)


def test_the_key_identifies_one_platform_event():
    a = ev.MessagePosted(chat="x:1", event_id="1", at=T, author=ANN, text="one")
    b = ev.MessagePosted(chat="x:1", event_id="1", at=T + timedelta(seconds=1), author=ANN, text="edited later")
    assert a.key == b.key == "x:1|message|1"
    assert a.key != ev.ReactionAdded(chat="x:1", event_id="1", at=T, message_id="1", author=ANN, emoji="x").key
    assert a.platform == "x"


@pytest.mark.parametrize("data, message", [
    ({"type": "nope"}, "type: 'nope' is not one of"),
    ({"type": "message", "chat": "x:1", "event_id": "1", "at": "2026-01-01T00:00:00"}, "has no time zone"),
    ({"type": "message", "chat": "x:1", "event_id": "1", "at": "yesterday"}, "not an ISO 8601 time"),
    ({"type": "message", "chat": "x:1", "event_id": "1", "at": "2026-01-01T00:00:00Z"}, "author: required"),
    ({"type": "message", "chat": "x:1", "event_id": "1", "at": "2026-01-01T00:00:00Z", "author": {"id": "x:2"},
      "kind": "hologram"}, "kind: 'hologram' is not one of"),
    ({"type": "join", "chat": "x:1", "event_id": "1", "at": "2026-01-01T00:00:00Z", "member": {"name": "no id"}},
     "member: expected an account object"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_event_json_names_the_field(data, message):
    with pytest.raises(DecodeError, match=message):
        event_from_dict(data)


def test_numbers_as_ids_are_accepted_as_text_and_offsets_become_utc():
    event = event_from_dict({"type": "message", "chat": "x:1", "event_id": 42, "at": "2026-01-01T08:00:00+08:00",
                             "author": "x:2"})
    assert event.event_id == "42" and event.at == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert event.author == ev.Account(id="x:2")


def test_decisions_round_trip():
    for decision in [SendMessage(chat="x:1", text="welcome", reply_to="3", buttons=("yes", "no")),
                     Mute(chat="x:1", member="x:2", until=T), Mute(chat="x:1", member="x:2"),
                     Ban(chat="x:1", member="x:2", until=None, reason="spam.repeated_ad"),
                     Kick(chat="x:1", member="x:2"), NotifyOperator(chat="x:1", text="alert", severity="critical"),
                     OpenCase(chat="x:1", member="x:2", message_id="9", action="delete",
                              details={"categories": ["spam.repeated_ad"], "score": 0.97})]:
        assert decision_from_dict(decision_to_dict(decision)) == decision
    assert set(DECISION_TYPES) >= {"send", "delete", "mute", "unmute", "ban", "unban", "kick", "notify", "cancel"}


def test_qualified_ids():
    assert qualify("onebot", "qq:123") == "onebot:qq:123"
    assert split("matrix:@ann:example.org") == ("matrix", "@ann:example.org")
    with pytest.raises(InvalidId):
        split("no-platform")
    with pytest.raises(InvalidId):
        qualify("Tele gram", 1)


def test_local_days_and_dst():
    # Europe/Berlin springs forward on 2026-03-29 at 02:00 local (01:00 UTC).
    assert local_day(T, "Asia/Shanghai").isoformat() == "2026-03-29"
    assert local_day(datetime(2026, 3, 28, 23, 30, tzinfo=timezone.utc), "Europe/Berlin").isoformat() == "2026-03-29"
    before = localize(datetime(2026, 3, 29, 1, 30), "Europe/Berlin")
    after = localize(datetime(2026, 3, 29, 3, 30), "Europe/Berlin")
    assert (before.hour, after.hour) == (0, 1)  # +01:00 before, +02:00 after
    with pytest.raises(InvalidTimeZone, match="unknown time zone"):
        local_day(T, "Nowhere/Land")


def test_the_core_imports_no_django_and_no_platform():
    import subprocess
    import sys

    code = ("import sys, qunyun.core.events, qunyun.core.decisions, qunyun.core.codec, qunyun.core.timeutil; "
            "bad = [m for m in sys.modules if m.startswith(('django', 'qunyun.platforms', 'qunyun.communities'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

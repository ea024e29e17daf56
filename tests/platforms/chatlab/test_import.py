"""ChatLab standard format, JSON and JSONL (written from the published v0.0.2 spec)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qunyun.communities.models import Event, Group, Identity
from qunyun.platforms.importing import FormatMismatch
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
JSON = fixture("chatlab", "tech_group.json")
JSONL = fixture("chatlab", "tech_group.jsonl")
CHAT = "chatlab:qq:38988428513"


def test_json_file(community):
    summary = run(community, "chatlab", JSON)
    raw = json.loads(Path(JSON).read_text(encoding="utf-8"))["messages"]
    member_messages = [m for m in raw if m.get("sender") and isinstance(m["timestamp"], int) and m["type"] < 80]
    counts = db_counts(community)
    assert counts["messages"] == len(member_messages) == 6
    assert summary.report.skipped == 2  # a bad timestamp, no sender
    assert summary.report.ignored == {"system messages (type 80: joins, leaves and notices as free text)": 1,
                                      "recalled messages (type 81)": 1}
    assert Group.objects.get().chat_id == CHAT and Group.objects.get().name == "技术交流群"
    reply = event(community, message_id="m2")
    assert reply.reply_to == "m1" and reply.reply_to_member.display_name == "群主-张三"
    assert reply.at == datetime(2024, 3, 13, 1, 0, 10, tzinfo=timezone.utc)
    kinds = sorted(Event.objects.filter(type="message").values_list("kind", flat=True))
    assert kinds == ["image", "image", "link", "text", "text", "text"]
    assert Event.objects.filter(type="message", text="转发的消息").get().data == {"forwarded": True}
    assert Identity.objects.get(account_id="chatlab:qq:10003").member.display_name == "王五"


def test_jsonl_merges_with_json(community):
    run(community, "chatlab", JSON)
    summary = run(community, "chatlab", JSONL)
    # m1 and the picture at the same second are the same messages as in the JSON file: only 赵六's is new.
    assert summary.stored["message"] == 1
    assert summary.report.skipped == 1 and summary.report.skips[0].location.endswith("tech_group.jsonl:7")
    assert db_counts(community)["messages"] == 7


def test_reimport_adds_nothing(community):
    run(community, "chatlab", JSON)
    before = db_counts(community)
    assert sum(run(community, "chatlab", JSON).stored.values()) == 0 and db_counts(community) == before


def test_not_chatlab(community, tmp_path):
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"_type": "message", "sender": "1"}\n')
    with pytest.raises(FormatMismatch, match="not ChatLab JSONL: the first line .* is not a .*header"):
        run(community, "chatlab", jsonl)
    other = tmp_path / "x.json"
    other.write_text('{"name": "g", "messages": []}')
    with pytest.raises(FormatMismatch, match="not a ChatLab JSON file: .* no 'chatlab' header"):
        run(community, "chatlab", other)

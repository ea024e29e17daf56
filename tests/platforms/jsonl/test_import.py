"""qunyun JSONL: export → import gives the same counts; bad lines are reported; interruptions are safe."""

from __future__ import annotations

import io
import json

import pytest
from django.db.models import Sum

from qunyun.analytics.models import GroupDay, MemberDay
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Event, Group, Member
from qunyun.communities.services import community_create
from qunyun.platforms.importing import FormatMismatch
from qunyun.platforms.jsonl.exporter import export_jsonl
from tests.platforms.import_helpers import db_counts, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
SOURCES = [
    ("telegram", fixture("telegram", "single_chat.json"), {"bots": {"Tea Bot"}}),
    ("whatsapp", fixture("whatsapp", "android_24h_dayfirst.txt"), {"group": "Tea lovers"}),
    ("slack", fixture("slack", "export"), {}),
    ("discord", fixture("discord", ""), {}),
    ("wechat", fixture("wechat", "茶友群_utf8.csv"), {}),
]


def _daily(community) -> dict:
    rows = GroupDay.objects.filter(community=community).values("group__chat_id", "day").annotate(
        m=Sum("messages"), r=Sum("reactions"), a=Sum("active_members"), j=Sum("joins"), l=Sum("leaves"))
    return {(r["group__chat_id"], r["day"]): (r["m"], r["r"], r["a"], r["j"], r["l"]) for r in rows}


def _names(community) -> set:
    return set(Member.objects.filter(community=community).values_list("display_name", "is_bot"))


def test_export_then_import_gives_the_same_counts(community, tmp_path):
    for fmt, path, options in SOURCES:
        run(community, fmt, path, **options)
    out = tmp_path / "tea.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        written = export_jsonl(community=community, out=f)
    assert written == Event.objects.filter(community=community).count()
    copy = community_create(slug="copy", name="Copy", time_zone=community.time_zone)
    summary = run(copy, "jsonl", out)
    assert summary.report.skipped == 0
    assert db_counts(copy) == db_counts(community)
    assert _daily(copy) == _daily(community)
    assert _names(copy) == _names(community)
    assert set(Group.objects.filter(community=copy).values_list("chat_id", "name")) == \
        set(Group.objects.filter(community=community).values_list("chat_id", "name"))
    replies = MemberDay.objects.filter(community=copy).aggregate(Sum("replies"), Sum("mentions"))
    assert replies == MemberDay.objects.filter(community=community).aggregate(Sum("replies"), Sum("mentions"))
    # And the file re-imported into the first community adds nothing.
    assert sum(run(community, "jsonl", out).stored.values()) == 0


def test_each_line_is_a_codec_event(community):
    run(community, "telegram", fixture("telegram", "single_chat.json"))
    buffer = io.StringIO()
    export_jsonl(community=community, out=buffer)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert lines[0] == {"type": "chat", "chat": "telegram:-1001234567890", "name": "Tea lovers"}
    first = lines[1]
    assert first == {"type": "message", "chat": "telegram:-1001234567890", "event_id": "1",
                     "at": "2024-03-01T12:00:00Z", "author": {"id": "telegram:1001", "name": "Ann Lee"},
                     "text": "migrate_from_group: Tea lovers", "kind": "system"}
    # A renamed member carries the name of the time: "Bob" before, "Bobby" after.
    names = [line["author"]["name"] for line in lines if line.get("author", {}).get("id") == "telegram:1002"]
    assert names == ["Bob", "Bobby"]


def test_bad_lines_are_reported_with_their_line_number(community, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        '{"type": "message", "chat": "fake:room", "event_id": "1", "at": "2024-03-01T00:00:00Z", '
        '"author": {"id": "fake:ann"}, "text": "hi"}',
        '# a comment',
        '{"type": "message", "chat": "fake:room", "event_id": "2", "at": "2024-03-01T00:00:00", '
        '"author": {"id": "fake:ann"}}',
        '{"type": "join", "chat": "fake:room", "event_id": "3", "at": "2024-03-01T00:01:00Z"}',
        '{"type": "message", "chat": "room", "event_id": "4", "at": "2024-03-01T00:02:00Z", "author": "fake:bob"}',
        'not json',
        '{"type": "leave", "chat": "fake:room", "event_id": "5", "at": "2024-03-01T00:03:00Z", '
        '"member": "fake:ann", "reason": "quit"}',
    ]) + "\n", encoding="utf-8")
    summary = run(community, "jsonl", path)
    assert db_counts(community)["messages"] == 1
    reasons = {s.location.rsplit(":", 1)[1]: s.reason for s in summary.report.skips}
    assert set(reasons) == {"3", "4", "5", "6", "7"}
    assert "has no time zone" in reasons["3"] and reasons["4"] == "member: required"
    assert "not of the form 'platform:id'" in reasons["5"] and "not JSON" in reasons["6"]
    assert "reason: 'quit' is not one of left, removed, banned" == reasons["7"]


def test_not_qunyun_jsonl(community, tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"_type": "header"}\n')
    with pytest.raises(FormatMismatch, match="not qunyun JSONL: line 1 .* has no event 'type'"):
        run(community, "jsonl", path)


def test_an_interrupted_import_leaves_whole_batches_and_a_rerun_completes_it(community, monkeypatch):
    source = fixture("telegram", "single_chat.json")
    calls = {"n": 0}
    original = Runtime.ingest_batch

    def flaky(self, events):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, events)

    monkeypatch.setattr(Runtime, "ingest_batch", flaky)
    summary = run(community, "telegram", source, batch_size=4)
    assert summary.interrupted
    assert Event.objects.filter(community=community).count() == sum(summary.stored.values()) == 8
    monkeypatch.setattr(Runtime, "ingest_batch", original)
    run(community, "telegram", source, batch_size=4)
    fresh = community_create(slug="fresh", name="Fresh", time_zone=community.time_zone)
    run(fresh, "telegram", source)
    assert db_counts(community) == db_counts(fresh)


def test_a_crash_inside_a_batch_rolls_that_batch_back(community, monkeypatch):
    from qunyun.bus import store

    source = fixture("telegram", "single_chat.json")
    calls = {"n": 0}
    original = store.EventStore._apply_rollups

    def crash(self, fresh):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self, fresh)

    monkeypatch.setattr(store.EventStore, "_apply_rollups", crash)
    with pytest.raises(RuntimeError):
        run(community, "telegram", source, batch_size=5)
    assert Event.objects.filter(community=community).count() == 5  # the first batch only
    assert GroupDay.objects.filter(community=community).aggregate(Sum("messages"))["messages__sum"] == \
        Event.objects.filter(community=community, type="message").exclude(kind="system").count()
    monkeypatch.setattr(store.EventStore, "_apply_rollups", original)
    run(community, "telegram", source, batch_size=5)
    fresh = community_create(slug="fresh", name="Fresh", time_zone=community.time_zone)
    run(fresh, "telegram", source)
    assert db_counts(community) == db_counts(fresh)

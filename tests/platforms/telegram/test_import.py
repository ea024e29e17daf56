"""Telegram Desktop export: every quirk of the format, checked in the database."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qunyun.analytics.models import GroupDay
from qunyun.communities.models import Event, Group, Identity, IdentityName, Member, Membership
from qunyun.platforms.importing import FormatMismatch
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
SINGLE = fixture("telegram", "single_chat.json")
FULL = fixture("telegram", "full_account.json")
CHAT = "telegram:-1001234567890"


def _raw_counts(path: str) -> dict[str, int]:
    """Counted from the file itself, independently of the importer."""
    messages = json.loads(Path(path).read_text(encoding="utf-8"))["messages"]
    ok = [m for m in messages if m.get("type") == "message" and m.get("from_id")
          and (m.get("date_unixtime") or m.get("date"))]
    service = [m for m in messages if m.get("type") == "service"]
    joins = sum(len(m.get("members", [])) if m["action"] == "invite_members" else 1
                for m in service if m["action"] in ("invite_members", "join_group_by_link", "join_group_by_request"))
    leaves = sum(len(m["members"]) for m in service if m["action"] == "remove_members")
    system = sum(1 for m in service if m["action"] in ("migrate_from_group", "pin_message"))
    reactions = sum(len(r.get("recent", [])) for m in ok for r in m.get("reactions", []))
    return {"messages": len(ok) + system, "joins": joins, "leaves": leaves, "reactions": reactions}


def test_single_chat_imports_with_exact_counts(community):
    summary = run(community, "telegram", SINGLE, bots={"Tea Bot"})
    raw = _raw_counts(SINGLE)
    counts = db_counts(community)
    assert counts["messages"] == raw["messages"] == 12
    assert counts["joins"] == raw["joins"] == 5
    assert counts["leaves"] == raw["leaves"] == 2
    assert counts["reactions"] == raw["reactions"] == 2
    # 12 messages: 2 are service messages (system), 1 is the bot's: 9 count as member messages.
    assert counts["member_messages"] == counts["day_messages"] == 9
    assert (counts["day_joins"], counts["day_leaves"]) == (5, 2)
    # Ann, Bob(by), Cat, Dan (named only in a service message), Eve, Fay (reacted), user1009, Hal.
    assert counts["members"] == 8 and counts["bots"] == 1
    assert summary.report.skipped == 2
    assert {s.location.rsplit(": ", 1)[1] for s in summary.report.skips} == {"messages[15]", "messages[16]"}
    assert "no 'date_unixtime' or 'date'" in summary.report.skipped_by_reason
    assert "no 'from_id' (who sent it)" in summary.report.skipped_by_reason
    group = Group.objects.get(community=community)
    assert (group.chat_id, group.name) == (CHAT, "Tea lovers")


def test_ids_follow_the_bot_api(community):
    run(community, "telegram", SINGLE)
    assert Identity.objects.filter(community=community, account_id="telegram:1001").exists()
    assert not Identity.objects.filter(account_id__startswith="telegram:user").exists()
    run(community, "telegram", FULL)
    chats = set(Group.objects.filter(community=community).values_list("chat_id", flat=True))
    assert chats == {CHAT, "telegram:-55", "telegram:-100777"}  # basic group, left supergroup


def test_date_unixtime_is_the_truth_and_plain_dates_use_the_zone(community):
    run(community, "telegram", SINGLE, tz="Europe/Berlin")
    # "date" says 20:02 (the exporter's clock at UTC+8); date_unixtime says 12:02 UTC.
    welcome = event(community, type="message", message_id="3")
    assert welcome.at == datetime(2024, 3, 1, 12, 2, tzinfo=timezone.utc)
    assert welcome.source_tz == ""
    # An old line with only "date" is read in --tz (Berlin, UTC+1 in March).
    old = event(community, type="message", message_id="22")
    assert old.at == datetime(2024, 3, 2, 8, 30, tzinfo=timezone.utc)
    assert old.source_tz == "Europe/Berlin"


def test_text_arrays_entities_replies_and_kinds(community):
    run(community, "telegram", SINGLE)
    reply = event(community, type="message", message_id="4")
    assert reply.text == "Green, always. Ann see https://tea.example/green"
    assert reply.reply_to == "3" and reply.reply_to_member.display_name == "Ann Lee"
    ann = Identity.objects.get(community=community, account_id="telegram:1001").member_id
    assert reply.mentions == [ann]
    kinds = dict(Event.objects.filter(community=community, type="message").values_list("message_id", "kind"))
    assert kinds["6"] == "image" and kinds["7"] == "link" and kinds["13"] == "sticker"
    assert kinds["1"] == "system" and kinds["14"] == "system"
    forwarded = event(community, type="message", message_id="20")
    assert forwarded.data["forwarded"] is True
    edited = event(community, type="message", message_id="15")
    assert edited.data["edited_at"].startswith("2024-03-01T12:20:00")


def test_a_renamed_person_is_one_member_with_both_names(community):
    run(community, "telegram", SINGLE)
    bob = Identity.objects.get(community=community, account_id="telegram:1002")
    assert bob.member.display_name == "Bobby"
    assert set(IdentityName.objects.filter(identity=bob).values_list("name", flat=True)) == {"Bob", "Bobby"}
    # The invite named "Bob" before Bob ever spoke: resolved to the same member, not a new one.
    join = event(community, type="join", member=bob.member)
    assert join.detail == "invited" and join.actor.display_name == "Ann Lee"


def test_service_messages_become_joins_and_leaves(community):
    run(community, "telegram", SINGLE)
    by_name = {e.member.display_name: e for e in Event.objects.filter(community=community, type="join")
               .select_related("member", "actor")}
    assert by_name["Cat"].detail == "invite_link" and by_name["Cat"].actor.display_name == "Ann Lee"
    assert by_name["Eve"].detail == "request"
    assert by_name["Hal"].detail == "unknown"  # added themselves: a public group
    assert by_name["Dan Park"].detail == "invited"
    assert Identity.objects.get(community=community, member=by_name["Dan Park"].member).account_id == \
        "telegram:name:Dan Park"
    leaves = {e.member.display_name: e for e in Event.objects.filter(community=community, type="leave")
              .select_related("member", "actor")}
    assert leaves["Bobby"].detail == "left" and leaves["Bobby"].actor is None  # removed themselves = left
    assert leaves["Cat"].detail == "removed" and leaves["Cat"].actor.display_name == "Ann Lee"
    cat = Membership.objects.get(member__display_name="Cat")
    assert not cat.is_member and cat.leave_reason == "removed"


def test_bots_are_flagged_and_kept_out_of_rollups(community):
    run(community, "telegram", SINGLE, bots={"Tea Bot"})
    bot = Member.objects.get(community=community, display_name="Tea Bot")
    assert bot.is_bot
    day = GroupDay.objects.get(community=community, day="2024-03-01")
    assert day.messages == 8  # 9 member messages, one of them (Hal's old line) on 2024-03-02 local time


def test_reimport_adds_nothing(community):
    run(community, "telegram", SINGLE)
    before = db_counts(community)
    again = run(community, "telegram", SINGLE)
    assert sum(again.stored.values()) == 0 and again.duplicates == before["events"]
    assert db_counts(community) == before


def test_overlapping_exports_merge(community, tmp_path):
    data = json.loads(Path(SINGLE).read_text(encoding="utf-8"))
    first, second = dict(data), dict(data)
    first["messages"] = data["messages"][:12]
    second["messages"] = data["messages"][6:]
    (tmp_path / "a.json").write_text(json.dumps(first), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(second), encoding="utf-8")
    run(community, "telegram", tmp_path / "a.json")
    run(community, "telegram", tmp_path / "b.json")
    merged = db_counts(community)
    assert merged["messages"] == 12 and merged["joins"] == 5 and merged["leaves"] == 2
    assert merged["day_messages"] == 10  # no --bot here: Tea Bot counts; a double would show


def test_full_account_export_imports_groups_not_private_chats(community):
    summary = run(community, "telegram", FULL)
    assert db_counts(community)["messages"] == 3
    assert summary.report.ignored["private chats in a full account export (only groups and channels are imported)"] == 1
    names = dict(Group.objects.filter(community=community).values_list("chat_id", "name"))
    assert names == {"telegram:-55": "Oolong club", "telegram:-100777": "Old tea market"}
    creator = event(community, type="join", detail="creator")
    assert creator.member.display_name == "Ann Lee"
    assert event(community, type="join", detail="invited").member.display_name == "Bob"
    mention = event(community, type="message", message_id="902")
    assert mention.data == {"mentions_unresolved": ["telegram:@bobtea"]}


def test_folder_and_zip_inputs(community, tmp_path):
    folder = tmp_path / "ChatExport_2024-03-02"
    folder.mkdir()
    shutil.copy(SINGLE, folder / "result.json")
    run(community, "telegram", folder)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(SINGLE, "ChatExport_2024-03-02/result.json")
    again = run(community, "telegram", archive)
    assert again.parsed["message"] == 12 and sum(again.stored.values()) == 0


def test_a_file_that_is_not_a_telegram_export_fails_at_once(community, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"guild": {"id": "1"}, "chats_total": 3}', encoding="utf-8")
    with pytest.raises(FormatMismatch, match="not a Telegram Desktop export: .* has no 'messages' list"):
        run(community, "telegram", other)
    broken = tmp_path / "broken.json"
    broken.write_text("this is not json", encoding="utf-8")
    with pytest.raises(FormatMismatch, match="not a Telegram Desktop export.*not valid JSON"):
        run(community, "telegram", broken)
    assert db_counts(community)["events"] == 0


def test_a_truncated_file_keeps_what_came_before(community, tmp_path):
    text = Path(SINGLE).read_text(encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"id": 9,')], encoding="utf-8")
    summary = run(community, "telegram", cut)
    assert summary.report.skipped == 1 and "breaks off" in summary.report.skips[0].reason
    assert db_counts(community)["messages"] == 5


def test_strict_mode_fails_and_writes_nothing(community):
    summary = run(community, "telegram", SINGLE, strict=True, batch_size=3)
    assert summary.failure is not None and "messages[15]" in str(summary.failure.skip)
    assert db_counts(community)["events"] == 0 and Member.objects.count() == 0


def test_dry_run_reads_everything_and_writes_nothing(community):
    summary = run(community, "telegram", SINGLE, dry_run=True, bots={"Tea Bot"})
    assert summary.parsed["message"] == 12 and summary.parsed["join"] == 5
    assert len(summary.people) == 8 and len(summary.bots) == 1
    assert db_counts(community)["events"] == 0

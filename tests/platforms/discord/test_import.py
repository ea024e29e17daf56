"""DiscordChatExporter JSON: message types, bots, replies, reactions, offsets, deleted users."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qunyun.communities.models import Group, Identity, Member
from qunyun.platforms.importing import FormatMismatch
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
GENERAL = fixture("discord", "Tea House - Text Channels - general [500].json")
GROUP_DM = fixture("discord", "Direct Messages - Group - tea friends [600].json")
FOLDER = fixture("discord", "")


def _raw(path):
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data["messages"]


def test_channels_import_with_exact_counts(community):
    summary = run(community, "discord", FOLDER)
    raw = _raw(GENERAL) + _raw(GROUP_DM)
    valid = [m for m in raw if m["timestamp"] != "yesterday" and m["author"].get("id")]
    messages = [m for m in valid if not m["type"].startswith(("GuildMemberJoin", "Recipient"))]
    counts = db_counts(community)
    assert counts["messages"] == len(messages) == 10
    assert counts["joins"] == sum(m["type"] in ("GuildMemberJoin", "RecipientAdd") for m in valid) == 3
    assert counts["leaves"] == sum(m["type"] == "RecipientRemove" for m in valid) == 2
    assert counts["reactions"] == 2  # the users listed; a third reaction is counted but anonymous
    assert summary.report.ignored["reactions the export counts without saying who reacted"] == 1
    assert summary.report.skipped == 2
    assert {s.location.rsplit(": ", 1)[1] for s in summary.report.skips} == {"messages[9]", "messages[10]"}
    names = dict(Group.objects.filter(community=community).values_list("chat_id", "name"))
    assert names == {"discord:500": "Tea House #general", "discord:600": "tea friends"}


def test_bots_are_flagged_from_is_bot(community):
    run(community, "discord", GENERAL)
    bot = Identity.objects.get(community=community, account_id="discord:999").member
    assert bot.is_bot
    counts = db_counts(community)
    # 9 messages: 2 system (pin, thread), 1 bot's: 6 count.
    assert counts["messages"] == 9 and counts["day_messages"] == counts["member_messages"] == 6


def test_timestamps_with_offsets_are_stored_in_utc(community):
    run(community, "discord", GENERAL)
    assert event(community, type="join").at == datetime(2024, 3, 1, 1, 0, 0, 123000, tzinfo=timezone.utc)
    # -05:00 on the evening of Feb 29 is 01:03 UTC on March 1.
    assert event(community, type="message", message_id="1004").at == datetime(2024, 3, 1, 1, 3, tzinfo=timezone.utc)
    # Seven fraction digits (.NET's format) are read too.
    assert event(community, type="message", message_id="1005").at.microsecond == 123456


def test_replies_mentions_kinds_and_deleted_users(community):
    run(community, "discord", GENERAL)
    reply = event(community, type="message", message_id="1003")
    assert reply.reply_to == "1002" and reply.reply_to_member.display_name == "Ann"
    assert event(community, type="message", message_id="1009").reply_to == ""  # another channel's message
    cat = Identity.objects.get(account_id="discord:333").member_id
    assert event(community, type="message", message_id="1002").mentions == [cat]
    assert event(community, type="message", message_id="1004").kind == "image"
    assert event(community, type="message", message_id="1008").kind == "link"
    assert event(community, type="message", message_id="1006").kind == "system"
    ghost = Identity.objects.get(account_id="discord:456226577798135808")
    assert ghost.display_name == "" and not Member.objects.filter(display_name="Deleted User").exists()


def test_group_dm_recipients_join_and_leave(community):
    run(community, "discord", GROUP_DM)
    bob_left = event(community, type="leave", member__identities__account_id="discord:222")
    assert bob_left.detail == "left" and bob_left.actor is None
    cat_removed = event(community, type="leave", member__identities__account_id="discord:333")
    assert cat_removed.detail == "removed" and cat_removed.actor.display_name == "Ann"
    assert event(community, type="join", member__identities__account_id="discord:222").detail == "invited"


def test_reimport_adds_nothing(community):
    run(community, "discord", GENERAL, GROUP_DM)
    before = db_counts(community)
    again = run(community, "discord", FOLDER)
    assert sum(again.stored.values()) == 0
    assert db_counts(community) == before


def test_group_option_needs_a_single_channel(community):
    with pytest.raises(FormatMismatch, match="hold 2 channels"):
        run(community, "discord", FOLDER, group="Tea")
    run(community, "discord", GENERAL, group="Tea talk")
    assert Group.objects.get(community=community).name == "Tea talk"


def test_not_a_discord_export(community, tmp_path):
    other = tmp_path / "result.json"
    other.write_text(json.dumps({"name": "x", "type": "private_group", "id": 1, "messages": []}))
    with pytest.raises(FormatMismatch, match="has no 'channel' with an 'id'"):
        run(community, "discord", other)
    empty = tmp_path / "list.json"
    empty.write_text("[]")
    with pytest.raises(FormatMismatch, match="not a DiscordChatExporter JSON export"):
        run(community, "discord", empty)

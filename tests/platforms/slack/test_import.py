"""Slack: the export layout (folder and zip), the event-stream variant, and real Clojurians events."""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from qunyun.communities.models import Group, Identity
from qunyun.platforms.importing import FormatMismatch
from tests.conftest import shared_data
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
EXPORT = fixture("slack", "export")


def test_export_folder_imports_with_exact_counts(community):
    summary = run(community, "slack", EXPORT)
    counts = db_counts(community)
    # general day 1: 14 records = 1 join, 10 messages (2 bots', 1 topic), 1 message_replied, 2 malformed;
    # day 2: leave, message, tombstone; random: 1 message.
    assert counts["messages"] == 12 and counts["joins"] == 1 and counts["leaves"] == 1
    assert counts["reactions"] == 2
    assert counts["member_messages"] == counts["day_messages"] == 9  # minus 2 bots' and the topic change
    assert summary.report.skipped == 2
    assert summary.report.ignored["thread parents updated with a new reply count ('message_replied')"] == 1
    assert summary.report.ignored["placeholders of deleted thread parents ('tombstone')"] == 1
    assert dict(Group.objects.values_list("chat_id", "name")) == {"slack:C01GEN": "#general",
                                                                   "slack:C02RND": "#random"}


def test_export_details(community):
    run(community, "slack", EXPORT)
    join = event(community, type="join")
    assert join.detail == "invited" and join.actor.display_name == "Ann"
    reply = event(community, type="message", message_id="1709280120.000300")
    assert reply.data["thread"] == "1709280060.000200"
    assert reply.reply_to == "1709280060.000200" and reply.reply_to_member.display_name == "Ann"
    bob = Identity.objects.get(account_id="slack:U02BOB").member
    assert event(community, type="message", message_id="1709280060.000200").mentions == [bob.pk]
    assert bob.display_name == "Bob Chen"  # no display name: the real name
    assert Identity.objects.get(account_id="slack:B09").member.is_bot  # bot_message
    assert Identity.objects.get(account_id="slack:U09BOT").member.is_bot  # users.json is_bot
    assert event(community, type="message", message_id="1709280320.000700").kind == "image"
    assert event(community, type="message", message_id="1709280340.000800").kind == "link"
    assert event(community, type="message", message_id="1709280240.000500").kind == "system"
    assert event(community, type="message", message_id="1709280260.000600").data["edited_at"].startswith(
        "2024-03-01T08:05:00")


def test_zip_export_and_reimport(community, tmp_path):
    archive = tmp_path / "Tea Slack export Mar 1 2024.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for root, _dirs, files in os.walk(EXPORT):
            for name in files:
                full = os.path.join(root, name)
                z.write(full, os.path.join("Tea Slack export", os.path.relpath(full, EXPORT)))
    first = run(community, "slack", archive)
    before = db_counts(community)
    assert first.parsed["message"] == 12 and before["messages"] == 12
    again = run(community, "slack", EXPORT)  # the same export unzipped: nothing new
    assert sum(again.stored.values()) == 0 and db_counts(community) == before


def test_not_a_slack_export(community, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.md").write_text("tea")
    with pytest.raises(FormatMismatch, match="not a Slack export"):
        run(community, "slack", tmp_path / "notes")
    channel = tmp_path / "x" / "general"
    channel.mkdir(parents=True)
    shutil.copy(os.path.join(EXPORT, "general", "2024-03-01.json"), channel)
    with pytest.raises(FormatMismatch, match="has no users.json or channels.json"):
        run(community, "slack", tmp_path / "x")


# --------------------------------------------------------------------------- real data


def _edn_to_json(source: str, target: str, kind: str) -> None:
    """Turn the Clojurians EDN metadata into Slack's users.json / channels.json (test-side conversion)."""
    text = Path(source).read_text(encoding="utf-8")
    records = []
    for block in re.split(r"\n \{|\n \#:channel\{|^\(\{|^\(#:channel\{", text):
        fields: dict[str, str] = {}
        for key, value in re.findall(r':(?:[a-z-]+/)?([a-z-]+\??)\s+"((?:[^"\\]|\\.)*)"', block):
            fields.setdefault(key, value)  # the first: a channel's ":creator [:user/slack-id …]" comes later
        if "slack-id" not in fields:
            continue
        if kind == "users":
            records.append({"id": fields["slack-id"], "name": fields.get("name"),
                            "profile": {"display_name": fields.get("display-name", ""),
                                        "real_name": fields.get("real-name", "")}})
        else:
            records.append({"id": fields["slack-id"], "name": fields.get("name")})
    with open(target, "w", encoding="utf-8") as f:
        json.dump(records, f)


def test_real_clojurians_events_import_with_exact_counts(community, tmp_path):
    data = shared_data("chat-clojurians-slack")
    _edn_to_json(os.path.join(data, "users.edn"), tmp_path / "users.json", "users")
    _edn_to_json(os.path.join(data, "channels.edn"), tmp_path / "channels.json", "channels")
    (tmp_path / "logs").mkdir()
    for name in sorted(os.listdir(os.path.join(data, "logs"))):
        os.symlink(os.path.join(data, "logs", name), tmp_path / "logs" / name)

    # Counted straight from the raw event lines.
    by_subtype: Counter = Counter()
    messages: set = set()
    people: set = set()
    bots: set = set()
    for name in sorted(os.listdir(os.path.join(data, "logs"))):
        for line in Path(data, "logs", name).read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            record = json.loads(line)
            subtype = record.get("subtype")
            by_subtype[subtype] += 1
            if subtype in ("message_changed", "message_deleted", "message_replied", "channel_join",
                           "channel_leave"):
                changed = record.get("message") or {}
                who = record.get("user") if subtype in ("channel_join", "channel_leave") else (
                    changed.get("user") or (changed.get("comment") or {}).get("user"))
                if subtype in ("channel_join", "channel_leave") or (subtype == "message_changed" and who):
                    people.add(who)
                elif subtype == "message_changed":
                    bots.add(changed["bot_id"])
                continue
            messages.add((record["channel"], record["ts"]))
            if subtype == "bot_message":
                bots.add(record["bot_id"])
            else:
                people.add(record.get("user") or record["comment"]["user"])  # old file comments
            for reaction in record.get("reactions") or ():
                people.update(reaction["users"])

    summary = run(community, "slack", tmp_path)
    counts = db_counts(community)
    assert summary.report.skipped == 0
    assert counts["messages"] == len(messages) == 8047
    assert counts["edits"] == by_subtype["message_changed"] == 1220
    assert counts["deletes"] == by_subtype["message_deleted"] == 103
    assert counts["joins"] == counts["day_joins"] == by_subtype["channel_join"] == 1142
    assert counts["leaves"] == counts["day_leaves"] == by_subtype["channel_leave"] == 113
    assert summary.report.ignored["thread parents updated with a new reply count ('message_replied')"] == \
        by_subtype["message_replied"] == 656
    assert counts["members"] == len(people) and counts["bots"] == len(bots)
    system = by_subtype["channel_topic"] + by_subtype["pinned_item"]
    assert counts["member_messages"] == counts["day_messages"] == len(messages) - by_subtype["bot_message"] - system
    assert Group.objects.get(chat_id="slack:C03S1KBA2").name == "#clojure"
    users = {u["id"]: u["profile"]["display_name"] or u["profile"]["real_name"]
             for u in json.loads((tmp_path / "users.json").read_text(encoding="utf-8"))}
    named = Identity.objects.filter(community=community, account_id__in=[f"slack:{u}" for u in people])
    assert named.count() == len(people)
    assert all(i.member.display_name == users[i.account_id[6:]] for i in named.select_related("member")
               if i.account_id[6:] in users)
    # Importing it again stores nothing new.
    again = run(community, "slack", tmp_path)
    assert sum(again.stored.values()) == 0 and db_counts(community) == counts

"""Matrix room events (client-server API JSON) → normalized events, and the history cut on join."""

from __future__ import annotations

from qunyun.core import events as ev
from qunyun.platforms.matrix.live import sources_after_bot_join
from qunyun.platforms.matrix.normalize import room_event_to_events

ROOM = "!tea:example.org"
BOT = "@qunyun:example.org"


def member(event_id, sender, target, membership, before=None, name=None):
    source = {"type": "m.room.member", "event_id": event_id, "sender": sender, "state_key": target,
              "origin_server_ts": 1772442000000, "content": {"membership": membership}}
    if name:
        source["content"]["displayname"] = name
    if before:
        source["unsigned"] = {"prev_content": {"membership": before}}
    return source


def test_a_reply_with_a_mention_loses_its_quoted_fallback():
    source = {"type": "m.room.message", "event_id": "$m2", "sender": "@mei:example.org",
              "origin_server_ts": 1772442060000,
              "content": {"msgtype": "m.text", "body": "> <@ann:example.org> 早上好\n\n大家好，今天喝什么？",
                          "m.relates_to": {"m.in_reply_to": {"event_id": "$m1"}},
                          "m.mentions": {"user_ids": ["@ann:example.org"]}}}
    [message] = room_event_to_events(ROOM, source, bot_user=BOT, name_of=lambda u: "Mei")
    assert (message.chat, message.text, message.reply_to, message.mentions, message.author.name) == (
        "matrix:!tea:example.org", "大家好，今天喝什么？", "$m1", ("matrix:@ann:example.org",), "Mei")
    assert message.at.isoformat() == "2026-03-02T09:01:00+00:00"


def test_membership_changes_tell_joins_leaves_kicks_bans_and_renames_apart():
    joined = room_event_to_events(ROOM, member("$j", "@mei:example.org", "@mei:example.org", "join", "invite", "Mei"),
                                  bot_user=BOT)[0]
    assert isinstance(joined, ev.MemberJoined) and joined.via is ev.JoinMethod.INVITED and joined.member.name == "Mei"
    left = room_event_to_events(ROOM, member("$l", "@mei:example.org", "@mei:example.org", "leave", "join"),
                                bot_user=BOT)[0]
    assert (left.reason, left.by) == (ev.LeaveReason.LEFT, None)
    kicked = room_event_to_events(ROOM, member("$k", BOT, "@spam:example.org", "leave", "join"), bot_user=BOT)[0]
    assert (kicked.reason, kicked.by.id, kicked.by.is_bot) == (ev.LeaveReason.REMOVED, f"matrix:{BOT}", True)
    banned = room_event_to_events(ROOM, member("$b", "@ann:example.org", "@spam:example.org", "ban", "join"),
                                  bot_user=BOT)[0]
    assert banned.reason is ev.LeaveReason.BANNED
    renamed = room_event_to_events(ROOM, member("$r", "@mei:example.org", "@mei:example.org", "join", "join", "Mei L"),
                                   bot_user=BOT)
    assert isinstance(renamed[0], ev.MemberRenamed) and renamed[0].member.name == "Mei L"
    assert room_event_to_events(ROOM, member("$i", "@ann:example.org", "@x:example.org", "invite"), bot_user=BOT) == []


def test_redactions_reactions_and_edits():
    redaction = {"type": "m.room.redaction", "event_id": "$x", "sender": BOT, "redacts": "$m2",
                 "origin_server_ts": 1, "content": {}}
    assert room_event_to_events(ROOM, redaction, bot_user=BOT)[0].message_id == "$m2"
    reaction = {"type": "m.reaction", "event_id": "$r", "sender": "@ann:example.org", "origin_server_ts": 1,
                "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$m2", "key": "👍"}}}
    assert room_event_to_events(ROOM, reaction, bot_user=BOT)[0].emoji == "👍"
    edit = {"type": "m.room.message", "event_id": "$e", "sender": "@mei:example.org", "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": "* 改了", "m.new_content": {"msgtype": "m.text", "body": "改了"},
                        "m.relates_to": {"rel_type": "m.replace", "event_id": "$m2"}}}
    [edited] = room_event_to_events(ROOM, edit, bot_user=BOT)
    assert isinstance(edited, ev.MessageEdited) and (edited.message_id, edited.text) == ("$m2", "改了")


def test_history_from_before_the_bot_joined_is_skipped():
    history = [member("$o", "@owner:example.org", "@owner:example.org", "join"),
               {"type": "m.room.message", "event_id": "$old", "sender": "@owner:example.org", "content": {}}]
    bot_join = member("$bj", BOT, BOT, "join", "invite")
    after = [member("$mj", "@mei:example.org", "@mei:example.org", "join")]
    assert sources_after_bot_join(history + [bot_join] + after, BOT) == after
    assert sources_after_bot_join(after, BOT) == after

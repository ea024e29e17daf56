"""Matrix room events (client-server API JSON) → normalized events. Pure: no network, no Django.

Ids: a room is the chat ``matrix:!room:server``, a user ``matrix:@user:server``, a message id
the Matrix event id. Membership changes read ``unsigned.prev_content`` to tell a join from a
profile change, and the sender to tell leaving from being kicked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from qunyun.core import events as ev

PLATFORM = "matrix"

_KINDS = {
    "m.text": ev.MessageKind.TEXT, "m.notice": ev.MessageKind.TEXT, "m.emote": ev.MessageKind.TEXT,
    "m.image": ev.MessageKind.IMAGE, "m.file": ev.MessageKind.FILE, "m.audio": ev.MessageKind.VOICE,
    "m.video": ev.MessageKind.VIDEO, "m.sticker": ev.MessageKind.STICKER, "m.location": ev.MessageKind.OTHER,
}


def chat_id(room_id: str) -> str:
    return f"{PLATFORM}:{room_id}"


def account_id(user_id: str) -> str:
    return f"{PLATFORM}:{user_id}"


def local_id(qualified: str) -> str:
    """``matrix:!room:server`` → ``!room:server``."""
    return qualified.partition(":")[2]


def _at(source: dict[str, Any]) -> datetime:
    ts = source.get("origin_server_ts") or 0
    return datetime.fromtimestamp(ts / 1000, tz=timezone.utc)


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted "> <@user> …" lines clients put before a reply's own text."""
    if not body.startswith("> "):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def room_event_to_events(
    room_id: str,
    source: dict[str, Any],
    *,
    bot_user: str,
    name_of: Callable[[str], str | None] = lambda user: None,
) -> list[ev.Event]:
    """Normalized events for one Matrix room event (usually one; none for what we do not track)."""
    etype = source.get("type")
    event_id = source.get("event_id")
    sender = source.get("sender")
    if not event_id or not sender or not isinstance(source.get("content"), dict):
        return []
    content = source["content"]
    chat = chat_id(room_id)
    at = _at(source)

    def account(user: str, name: str | None = None) -> ev.Account:
        return ev.Account(id=account_id(user), name=name or name_of(user), is_bot=user == bot_user)

    if etype in ("m.room.message", "m.sticker"):
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace" and relates.get("event_id"):
            new = content.get("m.new_content") or {}
            return [ev.MessageEdited(chat=chat, event_id=event_id, at=at, message_id=relates["event_id"],
                                     author=account(sender), text=str(new.get("body", content.get("body", ""))),
                                     raw=source)]
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
        body = str(content.get("body", ""))
        if reply_to:
            body = strip_reply_fallback(body)
        kind = ev.MessageKind.STICKER if etype == "m.sticker" else _KINDS.get(content.get("msgtype"),
                                                                             ev.MessageKind.OTHER)
        if kind is ev.MessageKind.TEXT and ("http://" in body or "https://" in body) and len(body.split()) == 1:
            kind = ev.MessageKind.LINK
        mentions = tuple(account_id(u) for u in (content.get("m.mentions") or {}).get("user_ids", ())
                         if isinstance(u, str))
        return [ev.MessagePosted(chat=chat, event_id=event_id, at=at, author=account(sender), text=body, kind=kind,
                                 reply_to=reply_to, thread=thread, mentions=mentions, raw=source)]

    if etype == "m.room.member":
        target = source.get("state_key")
        if not target:
            return []
        membership = content.get("membership")
        prev = ((source.get("unsigned") or {}).get("prev_content") or {})
        before = prev.get("membership")
        name = content.get("displayname")
        if membership == "join" and before != "join":
            via = ev.JoinMethod.INVITED if before == "invite" else ev.JoinMethod.UNKNOWN
            return [ev.MemberJoined(chat=chat, event_id=event_id, at=at, member=account(target, name), via=via,
                                    raw=source)]
        if membership == "join" and before == "join":
            old = prev.get("displayname")
            if name and name != old:
                return [ev.MemberRenamed(chat=chat, event_id=event_id, at=at, member=account(target, name),
                                         old_name=old, raw=source)]
            return []
        if membership in ("leave", "ban") and before in ("join", "ban", "leave"):
            if membership == "ban":
                reason, by = ev.LeaveReason.BANNED, account(sender)
            elif sender != target:
                reason, by = ev.LeaveReason.REMOVED, account(sender)
            else:
                reason, by = ev.LeaveReason.LEFT, None
            if before != "join" and membership == "leave":
                return []  # an unban, or a leave of someone who was not in: no change of members
            return [ev.MemberLeft(chat=chat, event_id=event_id, at=at, member=account(target, prev.get("displayname")),
                                  reason=reason, by=by, raw=source)]
        return []

    if etype == "m.room.redaction":
        redacts = source.get("redacts") or content.get("redacts")
        if not redacts:
            return []
        return [ev.MessageDeleted(chat=chat, event_id=event_id, at=at, message_id=redacts, by=account(sender),
                                  raw=source)]

    if etype == "m.reaction":
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.annotation" and relates.get("event_id") and relates.get("key"):
            return [ev.ReactionAdded(chat=chat, event_id=event_id, at=at, message_id=relates["event_id"],
                                     author=account(sender), emoji=str(relates["key"]), raw=source)]
    return []

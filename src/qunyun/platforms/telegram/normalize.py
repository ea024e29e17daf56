"""Telegram Bot API updates → normalized events. Pure: no network, no Django.

Ids: a chat is ``telegram:<chat id>`` (supergroups are negative, ``-100…``), a user
``telegram:<user id>``, a message id Telegram's ``message_id`` (unique within its chat).

Membership comes from ``chat_member`` updates (the bot must be an administrator and ask for
them): they say who joined through which invite link, who left, who was removed or banned and
by whom. The ``new_chat_members`` / ``left_chat_member`` service messages say less (no link)
and arrive as well; they are used only when ``member_updates="messages"`` (a bot that is not an
administrator). Both kinds give the same event id for one change (user and second), so a change
seen both ways would still be stored once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from qunyun.core import events as ev

PLATFORM = "telegram"

#: Updates the bot asks for (``allowed_updates`` of getUpdates and setWebhook).
ALLOWED_UPDATES = ["message", "edited_message", "chat_member", "my_chat_member", "callback_query",
                   "message_reaction"]

_IN = {"member", "administrator", "creator"}


def chat_id(chat: Any) -> str:
    return f"{PLATFORM}:{chat}"


def account(user: dict[str, Any]) -> ev.Account:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or user.get("username")
    return ev.Account(id=f"{PLATFORM}:{user['id']}", name=name, is_bot=bool(user.get("is_bot")))


def _at(ts: Any) -> datetime:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc)


def _is_member(member: dict[str, Any]) -> bool:
    status = member.get("status")
    return status in _IN or (status == "restricted" and bool(member.get("is_member")))


def _kind(message: dict[str, Any]) -> ev.MessageKind:
    for key, kind in (("photo", ev.MessageKind.IMAGE), ("sticker", ev.MessageKind.STICKER),
                      ("voice", ev.MessageKind.VOICE), ("audio", ev.MessageKind.VOICE),
                      ("video", ev.MessageKind.VIDEO), ("video_note", ev.MessageKind.VIDEO),
                      ("animation", ev.MessageKind.VIDEO), ("document", ev.MessageKind.FILE)):
        if key in message:
            return kind
    if "text" in message:
        entities = message.get("entities") or []
        if len(entities) == 1 and entities[0].get("type") == "url" and entities[0].get("length") == len(message["text"]):
            return ev.MessageKind.LINK
        return ev.MessageKind.TEXT
    return ev.MessageKind.OTHER


def group_name(update: dict[str, Any]) -> tuple[str, str] | None:
    """``(chat id, title)`` of the group an update is about, for naming groups on first sight."""
    for key in ("message", "edited_message", "chat_member", "my_chat_member", "message_reaction"):
        body = update.get(key)
        if isinstance(body, dict) and isinstance(body.get("chat"), dict) and body["chat"].get("title"):
            return chat_id(body["chat"]["id"]), body["chat"]["title"]
    return None


def member_change_id(user_id: Any, date: Any) -> str:
    return f"member:{user_id}@{date}"


def message_events(message: dict[str, Any], *, member_updates: str = "chat_member") -> list[ev.Event]:
    chat = chat_id(message["chat"]["id"])
    at = _at(message["date"])
    if "new_chat_members" in message or "left_chat_member" in message:
        if member_updates != "messages":
            return []
        out: list[ev.Event] = []
        actor = account(message["from"]) if "from" in message else None
        for user in message.get("new_chat_members") or ():
            joiner = account(user)
            invited = actor is not None and actor.id != joiner.id
            out.append(ev.MemberJoined(chat=chat, event_id=member_change_id(user["id"], message["date"]), at=at,
                                       member=joiner, via=ev.JoinMethod.INVITED if invited else ev.JoinMethod.UNKNOWN,
                                       inviter=actor if invited else None, raw=message))
        left = message.get("left_chat_member")
        if left:
            leaver = account(left)
            removed = actor is not None and actor.id != leaver.id
            out.append(ev.MemberLeft(chat=chat, event_id=member_change_id(left["id"], message["date"]), at=at,
                                     member=leaver, reason=ev.LeaveReason.REMOVED if removed else ev.LeaveReason.LEFT,
                                     by=actor if removed else None, raw=message))
        return out
    if "from" not in message:
        return []  # a channel post in a linked discussion group: no member behind it
    mentions = tuple(f"{PLATFORM}:{e['user']['id']}" for e in message.get("entities") or ()
                     if e.get("type") == "text_mention" and isinstance(e.get("user"), dict))
    reply = message.get("reply_to_message") or {}
    thread = message.get("message_thread_id") if message.get("is_topic_message") else None
    reply_to = reply.get("message_id")
    if thread is not None and reply_to == thread:
        reply_to = None  # in a forum topic every message "replies" to the topic's first message
    return [ev.MessagePosted(
        chat=chat, event_id=str(message["message_id"]), at=at, author=account(message["from"]),
        text=message.get("text") or message.get("caption") or "", kind=_kind(message),
        reply_to=str(reply_to) if reply_to is not None else None, thread=str(thread) if thread is not None else None,
        mentions=mentions, forwarded="forward_origin" in message or "forward_from" in message, raw=message)]


def chat_member_events(update: dict[str, Any]) -> list[ev.Event]:
    chat = chat_id(update["chat"]["id"])
    old, new = update["old_chat_member"], update["new_chat_member"]
    user = new["user"]
    member = account(user)
    actor = account(update["from"])
    event_id = member_change_id(user["id"], update["date"])
    at = _at(update["date"])
    if not _is_member(old) and _is_member(new):
        link = (update.get("invite_link") or {}).get("invite_link")
        if link:
            via, inviter = ev.JoinMethod.INVITE_LINK, None
        elif update.get("via_join_request"):
            via, inviter = ev.JoinMethod.REQUEST, None
        elif actor.id != member.id:
            via, inviter = ev.JoinMethod.INVITED, actor
        else:
            via, inviter = ev.JoinMethod.UNKNOWN, None
        return [ev.MemberJoined(chat=chat, event_id=event_id, at=at, member=member, via=via, inviter=inviter,
                                invite_link=link, raw=update)]
    if _is_member(old) and not _is_member(new):
        if new.get("status") == "kicked":
            reason, by = ev.LeaveReason.BANNED, actor
        elif actor.id != member.id:
            reason, by = ev.LeaveReason.REMOVED, actor
        else:
            reason, by = ev.LeaveReason.LEFT, None
        return [ev.MemberLeft(chat=chat, event_id=event_id, at=at, member=member, reason=reason, by=by, raw=update)]
    return []


def update_to_events(update: dict[str, Any], *, member_updates: str = "chat_member",
                     received_at: datetime | None = None) -> list[ev.Event]:
    """Normalized events for one Update object (an empty list for what qunyun does not track).

    ``received_at`` dates what Telegram does not date (a button press)."""
    if not isinstance(update, dict):
        raise ValueError("an update must be a JSON object")
    if isinstance(update.get("message"), dict):
        return message_events(update["message"], member_updates=member_updates)
    if isinstance(update.get("edited_message"), dict):
        m = update["edited_message"]
        if "from" not in m:
            return []
        return [ev.MessageEdited(chat=chat_id(m["chat"]["id"]), event_id=f"{m['message_id']}@{m.get('edit_date', m['date'])}",
                                 at=_at(m.get("edit_date", m["date"])), message_id=str(m["message_id"]),
                                 author=account(m["from"]), text=m.get("text") or m.get("caption") or "", raw=m)]
    if isinstance(update.get("chat_member"), dict):
        return chat_member_events(update["chat_member"])
    if isinstance(update.get("callback_query"), dict):
        q = update["callback_query"]
        message = q.get("message") or {}
        if not message.get("chat"):
            return []
        # A button press is an answer (a screening button): a system-kind message, not counted as talk.
        return [ev.MessagePosted(chat=chat_id(message["chat"]["id"]), event_id=f"callback:{q['id']}",
                                 at=received_at or _at(message.get("date", 0)),
                                 author=account(q["from"]), text=str(q.get("data", "")), kind=ev.MessageKind.SYSTEM,
                                 reply_to=str(message["message_id"]) if "message_id" in message else None, raw=q)]
    if isinstance(update.get("message_reaction"), dict):
        r = update["message_reaction"]
        if "user" not in r:
            return []
        old = {x.get("emoji") for x in r.get("old_reaction") or () if x.get("type") == "emoji"}
        out: list[ev.Event] = []
        for x in r.get("new_reaction") or ():
            if x.get("type") == "emoji" and x.get("emoji") not in old:
                out.append(ev.ReactionAdded(chat=chat_id(r["chat"]["id"]),
                                            event_id=f"reaction:{r['message_id']}:{r['user']['id']}:{x['emoji']}@{r['date']}",
                                            at=_at(r["date"]), message_id=str(r["message_id"]), author=account(r["user"]),
                                            emoji=x["emoji"], raw=r))
        return out
    return []

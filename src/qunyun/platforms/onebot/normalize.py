"""OneBot v11 events (as NapCat, Lagrange… post them) → normalized events. Pure.

Ids: a QQ group is the chat ``onebot:group:<group_id>``, a QQ account ``onebot:qq:<user_id>``,
a message id the implementation's ``message_id``. Messages are arrays of segments (``text``,
``at``, ``reply``, ``image``, ``face``, ``record``, ``video``, ``file``…); the string form
(CQ codes) is read too, for implementations configured with ``message_post_format: string``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from qunyun.core import events as ev

PLATFORM = "onebot"
_CQ = re.compile(r"\[CQ:([a-z_]+)((?:,[^,\]]*)*)\]")


def chat_id(group_id: Any) -> str:
    return f"{PLATFORM}:group:{group_id}"


def account_id(user_id: Any) -> str:
    return f"{PLATFORM}:qq:{user_id}"


def local_group(chat: str) -> int:
    return int(chat.rsplit(":", 1)[1])


def local_user(account: str) -> int:
    return int(account.rsplit(":", 1)[1])


def _unescape(text: str) -> str:
    return text.replace("&#91;", "[").replace("&#93;", "]").replace("&#44;", ",").replace("&amp;", "&")


def segments_of(message: Any) -> list[dict[str, Any]]:
    """The message as segments, whether it came as an array or as a CQ-code string."""
    if isinstance(message, list):
        return [s for s in message if isinstance(s, dict)]
    if not isinstance(message, str):
        return []
    out: list[dict[str, Any]] = []
    pos = 0
    for m in _CQ.finditer(message):
        if m.start() > pos:
            out.append({"type": "text", "data": {"text": _unescape(message[pos:m.start()])}})
        data = {}
        for part in m.group(2).split(",")[1:]:
            key, _, value = part.partition("=")
            data[key] = _unescape(value)
        out.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(message):
        out.append({"type": "text", "data": {"text": _unescape(message[pos:])}})
    return out


_KINDS = {"image": ev.MessageKind.IMAGE, "record": ev.MessageKind.VOICE, "video": ev.MessageKind.VIDEO,
          "file": ev.MessageKind.FILE, "face": ev.MessageKind.STICKER, "mface": ev.MessageKind.STICKER}


def _at(payload: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(payload.get("time") or 0), tz=timezone.utc)


def _sender(payload: dict[str, Any]) -> ev.Account:
    sender = payload.get("sender") or {}
    name = sender.get("card") or sender.get("nickname") or None
    return ev.Account(id=account_id(payload["user_id"]), name=name,
                      is_bot=str(payload.get("user_id")) == str(payload.get("self_id")))


def event_to_events(payload: dict[str, Any]) -> list[ev.Event]:
    """Normalized events for one OneBot event (empty for private chats, meta events, requests)."""
    if not isinstance(payload, dict):
        raise ValueError("a OneBot event must be a JSON object")
    post = payload.get("post_type")
    if post in ("message", "message_sent") and payload.get("message_type") == "group":
        segments = segments_of(payload.get("message"))
        text = "".join(str(s.get("data", {}).get("text", "")) for s in segments if s.get("type") == "text").strip()
        mentions = tuple(account_id(s["data"]["qq"]) for s in segments
                         if s.get("type") == "at" and str(s.get("data", {}).get("qq", "")).isdigit())
        reply = next((str(s["data"]["id"]) for s in segments if s.get("type") == "reply" and s.get("data", {}).get("id")),
                     None)
        kinds = [_KINDS[s["type"]] for s in segments if s.get("type") in _KINDS]
        kind = ev.MessageKind.TEXT if text or not kinds else kinds[0]
        if not text and not kinds:
            kind = ev.MessageKind.OTHER
        forwarded = any(s.get("type") == "forward" for s in segments)
        return [ev.MessagePosted(chat=chat_id(payload["group_id"]), event_id=str(payload["message_id"]), at=_at(payload),
                                 author=_sender(payload), text=text, kind=kind, reply_to=reply, mentions=mentions,
                                 forwarded=forwarded, raw=payload)]
    if post != "notice":
        return []
    notice = payload.get("notice_type")
    if notice not in ("group_increase", "group_decrease", "group_recall"):
        return []
    chat, at = chat_id(payload["group_id"]), _at(payload)
    user = ev.Account(id=account_id(payload["user_id"]), is_bot=str(payload["user_id"]) == str(payload.get("self_id")))
    operator = payload.get("operator_id")
    actor = ev.Account(id=account_id(operator)) if operator and str(operator) != str(payload["user_id"]) else None
    if notice == "group_recall":
        return [ev.MessageDeleted(chat=chat, event_id=f"recall:{payload['message_id']}", at=at,
                                  message_id=str(payload["message_id"]),
                                  by=ev.Account(id=account_id(operator or payload["user_id"])), raw=payload)]
    event_id = f"{notice}:{payload['user_id']}@{payload.get('time')}"
    if notice == "group_increase":
        via = ev.JoinMethod.INVITED if payload.get("sub_type") == "invite" else ev.JoinMethod.REQUEST
        return [ev.MemberJoined(chat=chat, event_id=event_id, at=at, member=user, via=via,
                                inviter=actor if via is ev.JoinMethod.INVITED else None, raw=payload)]
    sub = payload.get("sub_type")
    reason = ev.LeaveReason.LEFT if sub == "leave" else ev.LeaveReason.REMOVED
    return [ev.MemberLeft(chat=chat, event_id=event_id, at=at, member=user, reason=reason,
                          by=actor if reason is ev.LeaveReason.REMOVED else None, raw=payload)]

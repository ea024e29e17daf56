"""Small builders of normalized events for tests."""

from __future__ import annotations

from qunyun.core import events as ev

CHAT = "fake:room1"


def account(n: int | str, name: str | None = None, *, bot: bool = False) -> ev.Account:
    return ev.Account(id=f"fake:u{n}", name=name if name is not None else f"user{n}", is_bot=bot)


def message(mid, who, when, text="hello", *, chat=CHAT, reply_to=None, mentions=(), kind=ev.MessageKind.TEXT,
            name=None, bot=False) -> ev.MessagePosted:
    return ev.MessagePosted(chat=chat, event_id=str(mid), at=when, author=account(who, name, bot=bot), text=text,
                            reply_to=reply_to, mentions=tuple(mentions), kind=kind)


def join(eid, who, when, *, chat=CHAT, via=ev.JoinMethod.INVITE_LINK, link=None, inviter=None, name=None):
    return ev.MemberJoined(chat=chat, event_id=str(eid), at=when, member=account(who, name), via=via,
                           invite_link=link, inviter=account(inviter) if inviter is not None else None)


def leave(eid, who, when, *, chat=CHAT, reason=ev.LeaveReason.LEFT, by=None):
    return ev.MemberLeft(chat=chat, event_id=str(eid), at=when, member=account(who), reason=reason,
                         by=account(by) if by is not None else None)


def reaction(eid, who, mid, when, emoji="👍", *, chat=CHAT):
    return ev.ReactionAdded(chat=chat, event_id=str(eid), at=when, message_id=str(mid), author=account(who),
                            emoji=emoji)

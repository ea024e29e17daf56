"""Normalized events: what happened in a chat, in past tense, independent of the platform.

An adapter (live bot or history importer) turns a platform payload into these; everything
downstream (storage, moderation, onboarding, analytics) sees only these.

Conventions:

* ids are platform-qualified (see :mod:`qunyun.core.ids`): ``chat`` is the group's id,
  ``Account.id`` a person's id; message ids are the platform's own, unique within ``chat``;
* ``at`` is an aware UTC datetime; ``source_tz`` names the zone the source wrote local times
  in, when it is known (a WhatsApp export, a WeChat CSV), else ``None``;
* ``raw`` keeps the platform payload for audit and is not part of equality;
* :attr:`Event.key` is the idempotency key: the same platform event, delivered twice or
  imported from two overlapping exports, has the same key and is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Mapping


class MessageKind(StrEnum):
    """What a message carries. ``link`` is a text whose point is a URL."""

    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    STICKER = "sticker"
    VOICE = "voice"
    VIDEO = "video"
    LINK = "link"
    SYSTEM = "system"
    OTHER = "other"


class JoinMethod(StrEnum):
    """How a member came into a group."""

    INVITE_LINK = "invite_link"  # through an invite link (possibly a channel's own link)
    INVITED = "invited"  # added by another member (the inviter)
    REQUEST = "request"  # asked to join and was approved
    CHANNEL = "channel"  # attributed to an acquisition channel by other means (QR code, form)
    CREATOR = "creator"  # created the group
    UNKNOWN = "unknown"


class LeaveReason(StrEnum):
    """Why a member is no longer in a group."""

    LEFT = "left"  # left by themselves
    REMOVED = "removed"  # removed (kicked) by someone else
    BANNED = "banned"  # removed and barred from coming back


@dataclass(frozen=True, slots=True)
class Account:
    """A person's (or bot's) account on one platform, as an event saw it."""

    id: str
    name: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every normalized event."""

    type: ClassVar[str] = "event"

    chat: str
    event_id: str
    at: datetime
    source_tz: str | None = None
    raw: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def platform(self) -> str:
        """The platform this event came from (the prefix of ``chat``)."""
        return self.chat.partition(":")[0]

    @property
    def key(self) -> str:
        """Idempotency key: unique for one platform event in one chat."""
        return f"{self.chat}|{self.type}|{self.event_id}"

    @property
    def subject(self) -> Account | None:
        """The account the event is mainly about (author, joiner, leaver...)."""
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted(Event):
    """A message was posted. ``event_id`` is the platform's message id."""

    type: ClassVar[str] = "message"

    author: Account
    text: str = ""
    kind: MessageKind = MessageKind.TEXT
    reply_to: str | None = None  # platform message id this answers
    thread: str | None = None  # thread / topic root message id, where the platform has threads
    mentions: tuple[str, ...] = ()  # qualified account ids
    forwarded: bool = False
    edited_at: datetime | None = None  # when an export shows the message was later edited

    @property
    def message_id(self) -> str:
        return self.event_id

    @property
    def subject(self) -> Account:
        return self.author


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdited(Event):
    """A message's text changed. ``event_id`` identifies this edit; ``message_id`` the message."""

    type: ClassVar[str] = "edit"

    message_id: str
    author: Account
    text: str = ""

    @property
    def subject(self) -> Account:
        return self.author


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDeleted(Event):
    """A message was deleted (by its author, a moderator or a bot)."""

    type: ClassVar[str] = "delete"

    message_id: str
    by: Account | None = None

    @property
    def subject(self) -> Account | None:
        return self.by


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionAdded(Event):
    """A member reacted to a message."""

    type: ClassVar[str] = "reaction"

    message_id: str
    author: Account
    emoji: str

    @property
    def subject(self) -> Account:
        return self.author


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactionRemoved(Event):
    """A member took back a reaction."""

    type: ClassVar[str] = "unreaction"

    message_id: str
    author: Account
    emoji: str

    @property
    def subject(self) -> Account:
        return self.author


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined(Event):
    """A member came into the group, with how they came.

    ``invite_link`` is the link used (a channel's own link attributes the join to that
    channel); ``channel`` is an acquisition-channel code when the adapter knows it directly.
    """

    type: ClassVar[str] = "join"

    member: Account
    via: JoinMethod = JoinMethod.UNKNOWN
    inviter: Account | None = None
    invite_link: str | None = None
    channel: str | None = None

    @property
    def subject(self) -> Account:
        return self.member


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft(Event):
    """A member is no longer in the group, and why."""

    type: ClassVar[str] = "leave"

    member: Account
    reason: LeaveReason = LeaveReason.LEFT
    by: Account | None = None

    @property
    def subject(self) -> Account:
        return self.member


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRenamed(Event):
    """A member's display name changed (``member.name`` is the new name)."""

    type: ClassVar[str] = "rename"

    member: Account
    old_name: str | None = None

    @property
    def subject(self) -> Account:
        return self.member


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMade(Event):
    """A member paid (a membership, a deposit, a shop order): the "revenue" step of AARRR."""

    type: ClassVar[str] = "payment"

    member: Account
    amount: str  # decimal as text, never a float
    currency: str = "CNY"
    reference: str = ""

    @property
    def subject(self) -> Account:
        return self.member


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        MessagePosted,
        MessageEdited,
        MessageDeleted,
        ReactionAdded,
        ReactionRemoved,
        MemberJoined,
        MemberLeft,
        MemberRenamed,
        PaymentMade,
    )
}
"""Every event class by its stable ``type`` string (used in storage and in JSONL)."""

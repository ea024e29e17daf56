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

from dataclasses import MISSING, dataclass, field, fields
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


def _fast_construction(cls: type) -> None:
    """Make building a frozen, slotted event cheap: a faster ``__init__`` and a ``make`` function.

    A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``
    (some 0.25 µs per field: 4 µs for a message), and importers build one event per record.
    Here the new instance briefly gets a twin class with the same slots and ordinary attribute
    setting, the fields are stored, and the class is given back: ``__init__`` costs half.
    ``cls.make(**fields)`` does the same without going through the class call (which packs the
    keywords into a dict): about five times cheaper than the dataclass's own ``__init__``, for
    per-record loops. Both take the constructor's parameters and defaults and return the same
    frozen object.
    """
    init_fields = [f for f in fields(cls) if f.init]
    if any(f.default_factory is not MISSING for f in init_fields) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: default factories and __post_init__ are not supported here")
    twin = type(f"_{cls.__name__}Builder", (cls.__mro__[1],), {"__slots__": cls.__dict__.get("__slots__", ()),
                                                                "__setattr__": object.__setattr__,
                                                                "__delattr__": object.__delattr__})
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls, "_set": object.__setattr__, "_new": object.__new__,
                                 "_dataclass_init": cls.__init__}
    params = []
    keyword_only = False
    for f in init_fields:
        if f.kw_only and not keyword_only:
            params.append("*")
            keyword_only = True
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    signature = ", ".join(params)
    stores = "".join(f"    self.{f.name} = {f.name}\n" for f in init_fields)
    by_name = ", ".join(f"{f.name}={f.name}" for f in init_fields)
    source = (f"def __init__(self, {signature}):\n"
              f"    if type(self) is not _cls:  # a subclass may add slots: the twin would not fit\n"
              f"        return _dataclass_init(self, {by_name})\n"
              f"    _set(self, '__class__', _twin)\n{stores}"
              f"    _set(self, '__class__', _cls)\n"
              f"def make({signature}):\n"
              f"    self = _new(_twin)\n{stores}"
              f"    _set(self, '__class__', _cls)\n"
              f"    return self\n")
    exec(source, namespace)  # noqa: S102 - source built above from the dataclass's own field names
    init, make = namespace["__init__"], namespace["make"]
    init.__qualname__, make.__qualname__ = f"{cls.__qualname__}.__init__", f"{cls.__qualname__}.make"
    init.__module__ = make.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    make.__doc__ = f"A new {cls.__name__}: the constructor's parameters, built without the class call."
    cls.__init__ = init
    cls.make = staticmethod(make)


for _cls in (Account, Event, *EVENT_TYPES.values()):
    _fast_construction(_cls)
del _cls

"""Decisions: what a handler wants done, as data.

Handlers return decisions; they never call a platform. The bus writes decisions to the outbox
in the same transaction as the state change that caused them, and an executor carries them out
after commit (or only records them, in dry-run). ``chat`` is the qualified group id the action
applies to; ``reason`` says which rule or person decided, for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Base of every decision."""

    kind: ClassVar[str] = "decision"
    #: True when the decision is carried out on a chat platform (through an adapter);
    #: False when qunyun carries it out itself (a notification, a case).
    on_platform: ClassVar[bool] = True

    chat: str
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMessage(Decision):
    """Post ``text`` in the chat, optionally as a reply; ``to_member`` addresses one person."""

    kind: ClassVar[str] = "send"

    text: str
    reply_to: str | None = None
    to_member: str | None = None
    buttons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteMessage(Decision):
    """Remove a message from the chat."""

    kind: ClassVar[str] = "delete"

    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Mute(Decision):
    """Stop a member from speaking until ``until`` (UTC); ``None`` means until lifted."""

    kind: ClassVar[str] = "mute"

    member: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unmute(Decision):
    """Let a muted member speak again."""

    kind: ClassVar[str] = "unmute"

    member: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ban(Decision):
    """Remove a member and bar them until ``until``; ``None`` is permanent."""

    kind: ClassVar[str] = "ban"

    member: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Unban(Decision):
    """Lift a ban."""

    kind: ClassVar[str] = "unban"

    member: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Kick(Decision):
    """Remove a member; they may come back."""

    kind: ClassVar[str] = "kick"

    member: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMemberTitle(Decision):
    """Give a member a visible title (admin title, badge), where the platform has one."""

    kind: ClassVar[str] = "set_title"

    member: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyOperator(Decision):
    """Tell the community's operators something (console notice; e-mail/IM where set up)."""

    kind: ClassVar[str] = "notify"
    on_platform: ClassVar[bool] = False

    text: str
    severity: str = "info"  # info | warning | critical


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCase(Decision):
    """Record a moderation case (numbered per community) with its evidence and the action taken.

    ``member`` is the qualified account id; ``details`` holds the verdict (categories, score,
    evidence spans, rule or moderator) as plain JSON data.
    """

    kind: ClassVar[str] = "open_case"
    on_platform: ClassVar[bool] = False

    member: str
    message_id: str | None = None
    action: str = ""
    details: dict[str, Any] | None = None

    def __hash__(self) -> int:  # details is a dict: hash what identifies the case
        return hash((self.chat, self.member, self.message_id, self.action))


DECISION_TYPES: dict[str, type[Decision]] = {
    cls.kind: cls
    for cls in (SendMessage, DeleteMessage, Mute, Unmute, Ban, Unban, Kick, SetMemberTitle, NotifyOperator, OpenCase)
}
"""Every decision class by its stable ``kind`` string (stored in the outbox)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelLater(Decision):
    """Cancel a pending :class:`Later` by its key (a screening answered in time)."""

    kind: ClassVar[str] = "cancel"
    on_platform: ClassVar[bool] = False

    key: str


DECISION_TYPES[CancelLater.kind] = CancelLater


@dataclass(frozen=True, slots=True)
class Later:
    """Carry out ``decision`` at ``at`` (aware UTC) instead of at once.

    ``key`` names the delayed action so a later :class:`CancelLater` can withdraw it. The
    delay is a database row with a due time, never a timer in memory, so it survives restarts.
    """

    decision: Decision
    at: datetime
    key: str | None = None

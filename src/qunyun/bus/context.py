"""What a handler may know about the world when it sees an event: plain data, no ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class CommunityInfo:
    id: int
    slug: str
    name: str
    time_zone: str
    rules_text: str = ""
    theme: str = ""
    dry_run: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    chat_id: str
    name: str
    size_cap: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: int
    display_name: str
    is_bot: bool = False
    is_new: bool = False  # first time this account was seen in the community


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """The context of one event: its community, group, subject member and the time now."""

    community: CommunityInfo
    group: GroupInfo
    member: MemberInfo | None
    now: datetime
    channel_code: str | None = None  # the acquisition channel a join was attributed to

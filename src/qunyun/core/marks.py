"""What a message is, for counting: chat-only ("water"), carrying a link, how many mentions.

The analytics count these for every message (docs/metrics.md "Water, links and deletions"). The store
works them out once, as it writes the message, into the event's ``marks`` (one small integer);
the rollups read that instead of testing every message's text again at every rebuild. The SQL
forms of the same tests (:mod:`qunyun.analytics.rollups`) remain for rows stored before the
column existed, and must agree with these.
"""

from __future__ import annotations

from collections.abc import Sequence

from .events import MessageKind

#: Characters trimmed before measuring a message's length ("water" = at most 3 left).
WATER_TRIM = " \t\r\n"
WATER_MAX_CHARS = 3
LINK_MARKERS = ("http://", "https://", "www.")

#: Bits of ``marks``: bit 0 water, bit 1 link, the mention count from bit 2 up.
WATER = 1
LINK = 2
MENTIONS_SHIFT = 2

_STICKER, _TEXT, _LINK = MessageKind.STICKER.value, MessageKind.TEXT.value, MessageKind.LINK.value


def message_is_water(kind: str, text: str) -> bool:
    """A sticker, or a text message of at most three characters after trimming spaces."""
    if kind == _STICKER:
        return True
    return kind == _TEXT and len(text.strip(WATER_TRIM)) <= WATER_MAX_CHARS


def message_has_link(kind: str, text: str) -> bool:
    """A link message, or a text that carries a URL (ASCII letters' case ignored, as SQL's LIKE)."""
    if kind == _LINK:
        return True
    if "." not in text and ":" not in text:  # every marker holds one of these
        return False
    lowered = _ascii_lower(text)
    return any(marker in lowered for marker in LINK_MARKERS)


def message_marks(kind: str, text: str, mentions: Sequence[object] | None) -> int:
    """``marks`` of a message: :data:`WATER` | :data:`LINK` | mention count << :data:`MENTIONS_SHIFT`."""
    marks = len(mentions) << MENTIONS_SHIFT if mentions else 0
    if message_is_water(kind, text):
        marks |= WATER
    if message_has_link(kind, text):
        marks |= LINK
    return marks


_UPPER_TO_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _ascii_lower(text: str) -> str:
    """``text`` with only A–Z lowered: SQLite's LIKE folds no other letter (``str.lower`` folds many)."""
    return text.translate(_UPPER_TO_LOWER) if not text.isascii() else text.lower()

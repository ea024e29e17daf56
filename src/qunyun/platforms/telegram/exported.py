"""The shape of a message in a Telegram Desktop export, and how its text and kind are read.

:class:`ExportedMessage` holds the fields the importer reads, decoded straight from the
export's bytes by msgspec (see :mod:`.importer`); :func:`flatten_text` and :func:`message_kind`
turn its ``text`` and media keys into the plain text, mentions and kind of a message.
"""

from __future__ import annotations

from typing import Any

import msgspec

from qunyun.core import events as ev

PLATFORM = "telegram"

_MEDIA_KINDS = {
    "sticker": ev.MessageKind.STICKER,
    "voice_message": ev.MessageKind.VOICE,
    "video_message": ev.MessageKind.VIDEO,
    "video_file": ev.MessageKind.VIDEO,
    "animation": ev.MessageKind.VIDEO,
    "audio_file": ev.MessageKind.FILE,
}
_OTHER_MEDIA = ("poll", "location_information", "contact_information", "game_title",
                "invoice_information", "place_name", "todo_list", "giveaway_information")

UNSET = msgspec.UNSET  # the default of fields whose presence matters, whatever their value


class ExportedMessage(msgspec.Struct, gc=False):
    """The fields of an exported message that the importer reads; the others are not decoded.

    Decoded straight from the export's bytes by msgspec (or converted from a parsed dict), so
    reading a field is an attribute lookup. Values are untyped (``Any``): a field of the wrong
    type is reported by the conversion, record by record, not by the decoder. Fields whose mere
    presence matters default to ``UNSET``.
    """

    id: Any = None
    type: Any = None
    date: Any = None
    date_unixtime: Any = None
    from_: Any = msgspec.field(default=None, name="from")
    from_id: Any = None
    text: Any = ""
    reply_to_message_id: Any = None
    reply_to_peer_id: Any = UNSET
    forwarded_from: Any = UNSET
    edited: Any = UNSET
    edited_unixtime: Any = UNSET
    reactions: Any = None
    photo: Any = UNSET
    media_type: Any = UNSET
    file: Any = UNSET
    mime_type: Any = None
    poll: Any = UNSET
    location_information: Any = UNSET
    contact_information: Any = UNSET
    game_title: Any = UNSET
    invoice_information: Any = UNSET
    place_name: Any = UNSET
    todo_list: Any = UNSET
    giveaway_information: Any = UNSET
    action: Any = None
    actor: Any = None
    actor_id: Any = None
    members: Any = None
    inviter: Any = None
    title: Any = None
    new_title: Any = None


def flatten_text(text: Any) -> tuple[str, tuple[str, ...], int]:
    """``(plain text, mentioned account ids, link count)`` of an exported ``text`` value."""
    if isinstance(text, str):
        return text, (), 0
    if not isinstance(text, list):
        return "", (), 0
    parts: list[str] = []
    mentions: list[str] = []
    links = 0
    link_chars = 0
    for part in text:
        if isinstance(part, str):
            parts.append(part)
            continue
        if not isinstance(part, dict):
            continue
        piece = part.get("text")
        piece = piece if isinstance(piece, str) else ""
        parts.append(piece)
        kind = part.get("type")
        if kind == "mention_name" and part.get("user_id") is not None:
            mentions.append(f"{PLATFORM}:{part['user_id']}")
        elif kind == "mention" and piece:
            mentions.append(f"{PLATFORM}:{piece}")  # an @username: no id in the export
        elif kind in ("link", "text_link"):
            links += 1
            link_chars += len(piece)
    joined = "".join(parts)
    # A text that is nothing but its links is a link message.
    only_links = links if links and link_chars >= len(joined.strip()) else 0
    return joined, tuple(dict.fromkeys(mentions)), only_links


def message_kind(m: ExportedMessage, only_links: int) -> ev.MessageKind:
    """The kind of a message from its media keys (``only_links``: its text is nothing but links)."""
    if m.photo is not UNSET:
        return ev.MessageKind.IMAGE
    media = m.media_type
    if media is not UNSET and media is not None:
        return _MEDIA_KINDS.get(media, ev.MessageKind.FILE) if media.__class__ is str else ev.MessageKind.FILE
    if m.file is not UNSET:
        mime = m.mime_type or ""
        return ev.MessageKind.IMAGE if str(mime).startswith("image/") else ev.MessageKind.FILE
    for key in _OTHER_MEDIA:
        if getattr(m, key) is not UNSET:
            return ev.MessageKind.OTHER
    if only_links:
        return ev.MessageKind.LINK
    return ev.MessageKind.TEXT

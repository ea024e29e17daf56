"""DiscordChatExporter JSON: one file per channel (several files, folders or zips per run).

Ids are Discord's snowflakes: the chat is ``discord:<channel id>``, people ``discord:<user id>``,
messages keep their ids, so overlapping exports of one channel merge.

Quirks handled (see docs/import.md): message ``type`` (``Default`` and ``Reply`` are messages;
``GuildMemberJoin`` is a join; ``RecipientAdd``/``RecipientRemove`` in group DMs are joins and
leaves; pins, thread creations, calls and renames are system messages); ``author.isBot``;
``mentions``; replies through ``reference.messageId`` (only when the referenced message is in
this channel); reactions with their ``users``; timestamps with UTC offsets; deleted users,
who keep their id but are exported as "Deleted User" — that placeholder is not recorded as
their name, so it never replaces a real one learned from an older export.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ijson

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC

from ..importing import FormatMismatch, ImportContext, ImportFormat
from ..inputs import JSON_ERRORS, Input, expand_inputs, json_error_text, json_top_keys

PLATFORM = "discord"
_MESSAGE_TYPES = {"Default", "Reply", "ChatInputCommand", "ContextMenuCommand", "ThreadStarterMessage"}
_IMAGE = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".heic")
_VIDEO = (".mp4", ".mov", ".webm", ".mkv", ".avi")
_AUDIO = (".mp3", ".ogg", ".wav", ".m4a", ".flac", ".opus")


def _head(item: Input) -> dict[str, Any]:
    with item.open() as stream:
        try:
            head = json_top_keys(stream, wanted={"messages"}, keep={"guild", "channel"})
        except FormatMismatch as exc:
            raise FormatMismatch(f"not a DiscordChatExporter JSON export: {item.label}: {exc}") from None
    if "__found__" not in head:
        raise FormatMismatch(f"not a DiscordChatExporter JSON export: {item.label} has no 'messages' list")
    channel = head.get("channel")
    if not isinstance(channel, dict) or not channel.get("id"):
        raise FormatMismatch(f"not a DiscordChatExporter JSON export: {item.label} has no 'channel' with an "
                             "'id' before its messages")
    return head


def check(paths: list[str], ctx: ImportContext) -> None:
    channels = {str(_head(item)["channel"]["id"]) for item in expand_inputs(paths, (".json",))}
    if ctx.options.group and len(channels) > 1:
        raise FormatMismatch(f"--group names one group, but these files hold {len(channels)} channels; "
                             "leave --group out (each channel keeps its own name)")


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for item in expand_inputs(paths, (".json",)):
        head = _head(item)
        channel, guild = head["channel"], head.get("guild") or {}
        chat = f"{PLATFORM}:{channel['id']}"
        name = channel.get("name") or chat
        if guild.get("name") and guild.get("name") != "Direct Messages":
            name = f"{guild['name']} #{name}"
        ctx.name_chat(chat, name)
        converter = _Channel(chat, str(channel["id"]), ctx)
        with item.open(ctx.progress) as stream:
            try:
                for index, message in enumerate(ijson.items(stream, "messages.item")):
                    yield from converter.convert(message, f"{item.label}: messages[{index}]")
            except JSON_ERRORS as exc:
                ctx.report.skip(item.label, f"the JSON breaks off here ({json_error_text(exc)}); "
                                            "everything before was imported")


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time with an offset (or Z) as UTC; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("not text")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    return moment.astimezone(UTC)


class _Channel:
    def __init__(self, chat: str, channel_id: str, ctx: ImportContext) -> None:
        self.chat = chat
        self.channel_id = channel_id
        self.ctx = ctx
        self.report = ctx.report

    def person(self, user: Any) -> ev.Account | None:
        if not isinstance(user, dict) or not user.get("id"):
            return None
        name = user.get("nickname") or user.get("name")
        if user.get("name") == "Deleted User" or (isinstance(name, str) and name.startswith("Deleted User")):
            name = None  # a placeholder, not a name
        return self.ctx.account(f"{PLATFORM}:{user['id']}", name if isinstance(name, str) else None,
                                is_bot=bool(user.get("isBot")))

    def convert(self, m: Any, location: str) -> Iterator[ev.Event]:
        if not isinstance(m, dict):
            self.report.skip(location, "not a JSON object")
            return
        mid = m.get("id")
        if not mid:
            self.report.skip(location, "no message 'id'")
            return
        mid = str(mid)
        try:
            at = parse_time(m.get("timestamp"))
        except ValueError:
            self.report.skip(location, f"'timestamp' {m.get('timestamp')!r} is not a time with a UTC offset")
            return
        author = self.person(m.get("author"))
        if author is None:
            self.report.skip(location, "no 'author' with an 'id'")
            return
        kind = m.get("type") or "Default"
        raw = m if self.ctx.keep_raw else None
        common = {"chat": self.chat, "at": at, "raw": raw}
        mentioned = [a for a in (self.person(u) for u in m.get("mentions") or ()) if a is not None]
        if kind == "GuildMemberJoin":
            yield ev.MemberJoined(event_id=mid, member=author, **common)
            return
        if kind in ("RecipientAdd", "RecipientRemove"):
            if not mentioned:
                self.report.skip(location, f"'{kind}' without the added or removed user in 'mentions'")
                return
            target = mentioned[0]
            if kind == "RecipientAdd":
                yield ev.MemberJoined(event_id=mid, member=target, via=ev.JoinMethod.INVITED, inviter=author, **common)
            elif target.id == author.id:
                yield ev.MemberLeft(event_id=mid, member=target, reason=ev.LeaveReason.LEFT, **common)
            else:
                yield ev.MemberLeft(event_id=mid, member=target, reason=ev.LeaveReason.REMOVED, by=author, **common)
            return
        text = m.get("content") if isinstance(m.get("content"), str) else ""
        if kind not in _MESSAGE_TYPES:
            yield ev.MessagePosted(event_id=mid, author=author, text=text or kind, kind=ev.MessageKind.SYSTEM,
                                   **common)
            return
        reference = m.get("reference") or {}
        reply_to = None
        if isinstance(reference, dict) and reference.get("messageId"):
            if str(reference.get("channelId") or self.channel_id) == self.channel_id:
                reply_to = str(reference["messageId"])
        edited_at = None
        if m.get("timestampEdited"):
            try:
                edited_at = parse_time(m["timestampEdited"])
            except ValueError:
                edited_at = None
        yield ev.MessagePosted(
            event_id=mid, author=author, text=text, kind=_kind(m, text), reply_to=reply_to,
            mentions=tuple(dict.fromkeys(a.id for a in mentioned)),
            forwarded=bool(m.get("forwardedMessage")) or (isinstance(reference, dict)
                                                            and reference.get("type") == "Forward"),
            edited_at=edited_at, **common,
        )
        for reaction in m.get("reactions") or ():
            yield from self._reactions(reaction, mid, at, location)

    def _reactions(self, reaction: Any, mid: str, at: datetime, location: str) -> Iterator[ev.Event]:
        if not isinstance(reaction, dict):
            return
        emoji = reaction.get("emoji") or {}
        label = (emoji.get("name") or emoji.get("code") or str(emoji.get("id") or "?")) if isinstance(emoji, dict) \
            else str(emoji)
        users = reaction.get("users") or []
        named = 0
        for user in users:
            who = self.person(user)
            if who is None:
                continue
            named += 1
            # The export has no reaction times: the message's time stands in for them.
            yield ev.ReactionAdded(chat=self.chat, event_id=f"{mid}:{label}:{who.id.partition(':')[2]}", at=at,
                                   message_id=mid, author=who, emoji=label)
        try:
            unnamed = int(reaction.get("count", 0)) - named
        except (TypeError, ValueError):
            unnamed = 0
        if unnamed > 0:
            self.report.ignore("reactions the export counts without saying who reacted", unnamed)


def _kind(m: dict[str, Any], text: str) -> ev.MessageKind:
    if m.get("stickers"):
        return ev.MessageKind.STICKER
    attachments = m.get("attachments") or ()
    if attachments:
        first = attachments[0] if isinstance(attachments[0], dict) else {}
        name = str(first.get("fileName") or first.get("url") or "").lower().split("?")[0]
        if name.endswith(_IMAGE):
            return ev.MessageKind.IMAGE
        if name.endswith(_VIDEO):
            return ev.MessageKind.VIDEO
        if name.endswith(_AUDIO):
            return ev.MessageKind.VOICE if "voice-message" in name else ev.MessageKind.FILE
        return ev.MessageKind.FILE
    stripped = text.strip()
    if stripped.startswith(("http://", "https://")) and " " not in stripped:
        return ev.MessageKind.LINK
    return ev.MessageKind.TEXT


FORMAT = ImportFormat(name="discord", title="DiscordChatExporter JSON (files, folders or zips)",
                      check=check, read=read)

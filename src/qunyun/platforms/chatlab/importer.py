"""ChatLab standard format (v0.0.1 / v0.0.2), JSON and JSONL.

JSON: ``{"chatlab": {version, exportedAt}, "meta": {name, platform, type, groupId?},
"members": [{platformId, accountName, groupNickname?}], "messages": [{sender, accountName,
groupNickname?, timestamp, type, content, platformMessageId?, replyToMessageId?}]}``. JSONL:
one object per line with ``_type`` ``header`` (first line: ``chatlab`` and ``meta``),
``member`` or ``message``; lines starting with ``#`` are comments.

**Ids**: the chat is ``chatlab:<platform>:<groupId or name>``, a person
``chatlab:<platform>:<platformId>``. They are not mapped onto qunyun's live platform ids,
because a converter may have written anything into ``platformId``. A message keeps its
``platformMessageId``; without one it is named by its timestamp, a hash of sender, type and
content, and its rank among identical messages in that second.

Message types: 0 text, 1 image, 2 voice, 3 video, 4 file, 5 sticker, 7 link; 25 (reply) is a
text answering ``replyToMessageId``; 26 (forward) a forwarded text; 8 and 20–27 others;
80 (system) and 81 (recall) are not member messages and are counted as not imported;
99 other. Timestamps are Unix seconds (UTC).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ijson

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC

from ..importing import FormatMismatch, ImportContext, ImportFormat, Occurrences, stable_id
from ..inputs import JSON_ERRORS, Input, expand_inputs, json_error_text, json_top_keys, text_lines

PLATFORM = "chatlab"
_KINDS = {
    0: ev.MessageKind.TEXT, 1: ev.MessageKind.IMAGE, 2: ev.MessageKind.VOICE, 3: ev.MessageKind.VIDEO,
    4: ev.MessageKind.FILE, 5: ev.MessageKind.STICKER, 7: ev.MessageKind.LINK, 25: ev.MessageKind.TEXT,
    26: ev.MessageKind.TEXT,
}
_NOT_MESSAGES = {80: "system messages (type 80: joins, leaves and notices as free text)",
                 81: "recalled messages (type 81)"}


def _is_jsonl(item: Input) -> bool:
    return item.name.lower().endswith((".jsonl", ".ndjson"))


def _first_record(item: Input) -> dict[str, Any]:
    with item.open() as stream:
        for line in text_lines(stream):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    record = json.loads(line)
                except ValueError:
                    raise FormatMismatch(f"not ChatLab JSONL: the first line of {item.label} is not JSON") from None
                return record if isinstance(record, dict) else {}
    return {}


def _head(item: Input) -> dict[str, Any]:
    if _is_jsonl(item):
        first = _first_record(item)
        if first.get("_type") != "header" or not isinstance(first.get("meta"), dict):
            raise FormatMismatch(f"not ChatLab JSONL: the first line of {item.label} is not a "
                                 "{\"_type\": \"header\", \"chatlab\": …, \"meta\": …} header")
        return first
    with item.open() as stream:
        try:
            head = json_top_keys(stream, wanted={"messages"}, keep={"chatlab", "meta", "members"})
        except FormatMismatch as exc:
            raise FormatMismatch(f"not a ChatLab JSON file: {item.label}: {exc}") from None
    if "__found__" not in head:
        raise FormatMismatch(f"not a ChatLab JSON file: {item.label} has no 'messages' list")
    if not isinstance(head.get("meta"), dict) or not isinstance(head.get("chatlab"), dict):
        raise FormatMismatch(f"not a ChatLab JSON file: {item.label} has no 'chatlab' header and 'meta' "
                             "before its messages")
    return head


def check(paths: list[str], ctx: ImportContext) -> None:
    chats = set()
    for item in expand_inputs(paths, (".json", ".jsonl", ".ndjson")):
        meta = _head(item)["meta"]
        chats.add((meta.get("platform"), meta.get("groupId") or meta.get("name")))
    if ctx.options.group and len(chats) > 1:
        raise FormatMismatch(f"--group names one group, but these files hold {len(chats)} chats; leave --group out")


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for item in expand_inputs(paths, (".json", ".jsonl", ".ndjson")):
        head = _head(item)
        chat = _Chat(head["meta"], ctx)
        for member in head.get("members") or ():
            chat.learn_member(member)
        with item.open(ctx.progress) as stream:
            if _is_jsonl(item):
                yield from _read_jsonl(stream, item, chat, ctx)
                continue
            try:
                for index, message in enumerate(ijson.items(stream, "messages.item")):
                    yield from chat.convert(message, f"{item.label}: messages[{index}]")
            except JSON_ERRORS as exc:
                ctx.report.skip(item.label, f"the JSON breaks off here ({json_error_text(exc)}); "
                                            "everything before was imported")


def _read_jsonl(stream, item: Input, chat: "_Chat", ctx: ImportContext) -> Iterator[ev.Event]:
    for number, line in enumerate(text_lines(stream), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        location = f"{item.label}:{number}"
        try:
            record = json.loads(text)
        except ValueError as exc:
            ctx.report.skip(location, f"not JSON ({exc.args[0][:80]})")
            continue
        if not isinstance(record, dict):
            ctx.report.skip(location, "not a JSON object")
            continue
        kind = record.get("_type")
        if kind == "message":
            yield from chat.convert(record, location)
        elif kind == "member":
            chat.learn_member(record)
        elif kind != "header":
            ctx.report.skip(location, f"unknown '_type' {kind!r} (header, member or message)")


class _Chat:
    def __init__(self, meta: dict[str, Any], ctx: ImportContext) -> None:
        self.ctx = ctx
        self.platform = str(meta.get("platform") or "unknown")
        local = meta.get("groupId") or meta.get("name") or "chat"
        self.chat = f"{PLATFORM}:{self.platform}:{local}"
        ctx.name_chat(self.chat, meta.get("name"))
        self.names: dict[str, str] = {}
        self.ranks = Occurrences()

    def learn_member(self, member: Any) -> None:
        if isinstance(member, dict) and member.get("platformId"):
            name = member.get("groupNickname") or member.get("accountName")
            if name:
                self.names[str(member["platformId"])] = str(name)

    def convert(self, m: Any, location: str) -> Iterator[ev.Event]:
        report = self.ctx.report
        if not isinstance(m, dict):
            report.skip(location, "not a JSON object")
            return
        sender = m.get("sender")
        if sender is None or sender == "":
            report.skip(location, "no 'sender'")
            return
        sender = str(sender)
        try:
            timestamp = int(m["timestamp"])
            at = datetime.fromtimestamp(timestamp, UTC)
        except (KeyError, TypeError, ValueError, OverflowError):
            report.skip(location, f"'timestamp' {m.get('timestamp')!r} is not Unix seconds")
            return
        try:
            code = int(m.get("type", 0))
        except (TypeError, ValueError):
            report.skip(location, f"'type' {m.get('type')!r} is not a ChatLab message type")
            return
        if code in _NOT_MESSAGES:
            report.ignore(_NOT_MESSAGES[code])
            return
        content = m.get("content")
        text = content if isinstance(content, str) else ""
        # The group nickname is what members see; without one on the message, the members list's.
        name = m.get("groupNickname") or self.names.get(sender) or m.get("accountName")
        author = self.ctx.account(f"{PLATFORM}:{self.platform}:{sender}", str(name) if name else None)
        message_id = m.get("platformMessageId")
        if message_id in (None, ""):
            key = stable_id(sender, code, text)
            message_id = f"{timestamp}/{key}/{self.ranks.rank(timestamp, key)}"
        reply = m.get("replyToMessageId")
        yield ev.MessagePosted(
            chat=self.chat, event_id=str(message_id), at=at, author=author, text=text,
            kind=_KINDS.get(code, ev.MessageKind.OTHER), reply_to=str(reply) if reply not in (None, "") else None,
            forwarded=code == 26, raw=m if self.ctx.keep_raw else None,
        )


FORMAT = ImportFormat(name="chatlab", title="ChatLab standard format (JSON or JSONL)", check=check, read=read)

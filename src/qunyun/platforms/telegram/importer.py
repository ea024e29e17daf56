"""Telegram Desktop export (``result.json``): one chat, or a whole account (``chats.list``).

The export is read as it streams. Where it is laid out as Telegram Desktop writes it (one
message per indented block), a chat's messages are cut at their closing lines and decoded by
msgspec a chunk at a time, into structs of the fields read here; anything else, and whatever
follows the first doubt (another layout, bad JSON), goes through ijson's streaming parser, which
also says where the JSON breaks. An account export's structure (which chat, its header) is
walked by ijson's push parser, given everything but the messages read fast. docs/import.md
tells the whole story.

Ids are those of the Bot API, so that history imported here and events from the live bot land
on the same group and the same members: ``from_id`` ``user123`` is ``telegram:123``,
``channel123`` is ``telegram:-100123``; a supergroup or channel export with ``id`` 123 is the
chat ``telegram:-100123``, a basic group ``telegram:-123``. Message ids are Telegram's
(messages migrated from a basic group carry the negative ids the export gives them).

Quirks handled (see docs/import.md): ``text`` as a string or an array of strings and entity
objects; ``date_unixtime`` is the truth (``date`` is the exporting computer's wall clock and is
used, in ``--tz``, only when ``date_unixtime`` is missing); service messages become joins
(``create_group``, ``invite_members``, ``join_group_by_link``, ``join_group_by_request``) and
leaves (``remove_members``: removing oneself is leaving); service messages name the people
added or removed, not their ids, so names are resolved to the ids seen in the same chat
(:class:`~qunyun.platforms.importing.NameBook`); reactions with their recent reactors.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import ijson
import msgspec

from qunyun.core import events as ev

from ..importing import FormatMismatch, ImportContext, ImportFormat
from ..inputs import (JSON_ERRORS, CountingReader, Replay, json_error_text, json_top_keys, laid_out_batches,
                      require_file)
from .export_chat import ChatState, account_id, chat_id
from .exported import ExportedMessage

_PRIVATE_TYPES = {"personal_chat", "bot_chat", "saved_messages", "replies", "verification_codes"}
_MESSAGE_SINGLE = "messages.item"
_MESSAGE_FULL = "chats.list.item.messages.item"
_MESSAGE_LEFT = "left_chats.list.item.messages.item"
# Telegram Desktop indents by one space: the messages list is a top-level key, and each message
# (two levels deep) ends with a line that is exactly two spaces and "}".
_MESSAGES_KEY = b'\n "messages": ['
_MESSAGE_CLOSER = b"\n  }"
# In an account export a chat (an element of chats.list) is three levels deep: its keys are
# indented by four spaces and its messages, five levels deep, end with five spaces and "}".
_CHAT_MESSAGES_KEY = b'\n    "messages": ['
_CHAT_MESSAGE_CLOSER = b"\n     }"
_decode = msgspec.json.Decoder().decode  # any JSON
_decode_list = msgspec.json.Decoder(list).decode
_decode_message = msgspec.json.Decoder(ExportedMessage).decode  # just the fields the importer reads
_decode_messages = msgspec.json.Decoder(list[ExportedMessage]).decode


# --------------------------------------------------------------------------- inputs


def _locate(path: str) -> tuple[str, str | None]:
    """``(file or zip, member)`` of the result.json for an input path (file, folder or zip)."""
    require_file(path)
    if os.path.isdir(path):
        candidate = os.path.join(path, "result.json")
        if not os.path.exists(candidate):
            raise FormatMismatch(f"not a Telegram Desktop export: {path} has no result.json")
        return candidate, None
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "result.json"]
        if not names:
            raise FormatMismatch(f"not a Telegram Desktop export: {path} holds no result.json")
        return path, min(names, key=len)
    return path, None


def _open(path: str, member: str | None, ctx: ImportContext | None = None):
    raw = zipfile.ZipFile(path).open(member) if member else open(path, "rb")
    if ctx is None:
        return raw
    return io.BufferedReader(CountingReader(raw, ctx.progress), buffer_size=1 << 16)


def _label(path: str, member: str | None) -> str:
    return f"{path}:{member}" if member else path


def _sniff(path: str) -> tuple[str, str | None, dict[str, Any]]:
    file, member = _locate(path)
    with _open(file, member) as stream:
        try:
            head = json_top_keys(stream, wanted={"messages", "chats", "left_chats"})
        except FormatMismatch as exc:
            raise FormatMismatch(f"not a Telegram Desktop export: {_label(file, member)}: {exc}") from None
    if "__found__" not in head:
        raise FormatMismatch(f"not a Telegram Desktop export: {_label(file, member)} has no 'messages' list "
                             "(and no 'chats' list of a full account export)")
    return file, member, head


def check(paths: list[str], ctx: ImportContext) -> None:
    for path in paths:
        _file, _member, head = _sniff(path)
        if head["__found__"] != "messages" and ctx.options.group:
            raise FormatMismatch(f"{path} is a full account export with many chats: leave --group out "
                                 "(each chat keeps its own name)")


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event | list[ev.Event]]:
    for path in paths:
        file, member, head = _sniff(path)
        label = _label(file, member)
        with _open(file, member, ctx) as stream:
            try:
                if head["__found__"] == "messages":
                    yield from _single_chat(stream, label, head, ctx)
                else:
                    yield from _full_export(stream, label, ctx)
            except JSON_ERRORS as exc:
                ctx.report.skip(label, f"the JSON breaks off here ({json_error_text(exc)}); "
                                       "everything before was imported")


def _single_chat(stream, label: str, head: dict[str, Any], ctx: ImportContext) -> Iterator[ev.Event | list[ev.Event]]:
    if head.get("id") is None:
        raise FormatMismatch(f"not a Telegram Desktop export: {label} has no chat 'id'")
    chat = ChatState(head.get("id"), head.get("type"), head.get("name"), ctx)
    index = -1
    convert = chat.convert
    decoders = (_decode, _decode_list) if ctx.keep_raw else (_decode_message, _decode_messages)
    for batch in _message_batches(stream, head, *decoders):
        out: list[ev.Event] = []
        for message in batch:
            index += 1
            produced = convert(message, label, index)
            if produced.__class__ is list:
                out += produced
            elif produced is not None:
                out.append(produced)
        if out:
            yield out
    yield from chat.finish()


def _message_batches(stream, head: dict[str, Any], decode, decode_list) -> Iterator[list[Any]]:
    """The elements of a single-chat export's ``messages`` list, in order, in batches, streamed:
    as :class:`ExportedMessage` or parsed JSON, whichever the decoders and the parser give."""
    buffer = stream.read(1 << 18)
    start = _messages_start(buffer, head)
    if start is None:  # not laid out as Telegram Desktop writes it: the general parser does it all
        yield from _batched(ijson.items(Replay(buffer, stream), _MESSAGE_SINGLE))
        return
    rest, after_element = yield from laid_out_batches(stream, buffer, start, _MESSAGE_CLOSER, decode, decode_list)
    # The general parser goes on from there (and reports any break in the JSON as before); a
    # placeholder element stands for the messages already read, so the rest parses as it was.
    items = ijson.items(Replay(b'{"messages":[' + (b"0" if after_element else b"") + rest, stream),
                        _MESSAGE_SINGLE)
    if after_element:
        next(items, None)
    yield from _batched(items)


def _batched(items: Iterator[Any], size: int = 1000) -> Iterator[list[Any]]:
    """``items`` in lists; what was read before a parse error is handed on before the error."""
    batch: list[Any] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _messages_start(buffer: bytes, head: dict[str, Any]) -> int | None:
    """Where the messages list's elements start in ``buffer``, if the file is laid out as
    Telegram Desktop writes it: the text before the key must be exactly the header ijson saw."""
    at = buffer.find(_MESSAGES_KEY)
    if at < 0:
        return None
    try:
        header = _decode(buffer[:at].rstrip().rstrip(b",") + b"}")
    except msgspec.DecodeError:
        return None
    if header != {key: value for key, value in head.items() if key != "__found__"}:
        return None
    return at + len(_MESSAGES_KEY)


def _full_export(stream, label: str, ctx: ImportContext) -> Iterator[ev.Event]:
    """Walk ``chats.list`` and ``left_chats.list`` chat by chat.

    ijson's push parser reads the structure; where a chat's ``messages`` list starts as
    Telegram Desktop lays it out, the messages are decoded a chunk at a time (as in a single-chat
    export) and the parser is given the rest from the end of the list, or from the first doubt.
    """
    walk = _AccountWalk(label, ctx)
    events = ijson.sendable_list()
    parser = ijson.parse_coro(events)

    def feed(data: bytes) -> Iterator[ev.Event]:
        """Give the parser ``data`` (b"" is the end of the input) and act on its events, also on
        those that came before a break in the JSON."""
        try:
            parser.send(data)
        except StopIteration:  # the document is complete
            pass
        except JSON_ERRORS:
            yield from walk.events(events)
            raise
        yield from walk.events(events)

    decoders = (_decode, _decode_list) if ctx.keep_raw else (_decode_message, _decode_messages)
    keep = len(_CHAT_MESSAGES_KEY) - 1  # a key may be cut by the end of a chunk
    buffer = b""
    while True:
        at = buffer.find(_CHAT_MESSAGES_KEY)
        if at < 0:
            more = stream.read(1 << 18)
            if not more:
                if buffer:
                    yield from feed(buffer)
                yield from feed(b"")  # the end of the input: a document that breaks off raises here
                return
            if len(buffer) > keep:  # (never an empty send before the end: that means the end)
                yield from feed(buffer[:-keep])
                buffer = buffer[-keep:]
            buffer += more
            continue
        end = at + len(_CHAT_MESSAGES_KEY)
        yield from feed(buffer[:end])
        buffer = buffer[end:]
        if walk.opened:  # the parser agrees: a chat's messages list starts here
            rest, after_element = yield from walk.laid_out(stream, buffer, *decoders)
            if after_element:
                walk.placeholder = True
                yield from feed(b"0")  # stands for the messages read: the parser goes on after them
            buffer = rest


class _AccountWalk:
    """The state of a full-account export's walk: which chat, its header, its messages."""

    def __init__(self, label: str, ctx: ImportContext) -> None:
        self.label = label
        self.ctx = ctx
        self.header: dict[str, Any] = {}
        self.chat: ChatState | None = None
        self.builder: ijson.ObjectBuilder | None = None
        self.depth = 0
        self.index = 0
        self.chat_numbers = {"chats": -1, "left_chats": -1}
        self.where = label
        self.opened = False  # the last event opened a chat's messages list
        self.placeholder = False  # the next message element stands for messages read fast

    def events(self, events: list) -> Iterator[ev.Event]:
        """Act on the parser's events (and empty the list)."""
        for prefix, event, value in events:
            self.opened = False
            if self.builder is not None:
                self.builder.event(event, value)
                if event in ("start_map", "start_array"):
                    self.depth += 1
                elif event in ("end_map", "end_array"):
                    self.depth -= 1
                    if self.depth == 0:
                        yield from self._convert(self.builder.value)
                        self.builder = None
                continue
            if prefix in (_MESSAGE_FULL, _MESSAGE_LEFT):
                if self.placeholder:
                    self.placeholder = False
                elif event == "start_map":
                    self.builder = ijson.ObjectBuilder()
                    self.builder.event(event, value)
                    self.depth = 1
                elif event != "end_array":  # a value that is not an object
                    yield from self._convert(value)
            elif prefix in ("chats.list.item", "left_chats.list.item") and event == "start_map":
                which = prefix.split(".", 1)[0]
                self.chat_numbers[which] += 1
                self.where = f"{self.label}: {which}.list[{self.chat_numbers[which]}]"
                self.header = {}
            elif prefix in ("chats.list.item.messages", "left_chats.list.item.messages"):
                if event == "start_array":
                    self.index = 0
                    self.chat = _chat_for(self.header, self.ctx, self.where)
                    self.opened = True
                elif event == "end_array" and self.chat is not None:
                    yield from self.chat.finish()
                    self.chat = None
            elif (event in ("string", "number", "null") and prefix.count(".") == 3
                  and prefix.startswith(("chats.list.item.", "left_chats.list.item."))):
                self.header[prefix.rsplit(".", 1)[1]] = value
        del events[:]

    def laid_out(self, stream, buffer: bytes, decode, decode_list):
        """Read the open messages list fast (see :func:`~..inputs.laid_out_batches`); returns its
        ``(rest, after_element)``. A private chat's messages are decoded (checked) and dropped."""
        batches = laid_out_batches(stream, buffer, 0, _CHAT_MESSAGE_CLOSER, decode, decode_list)
        while True:
            try:
                batch = next(batches)
            except StopIteration as done:
                return done.value
            if self.chat is None:
                self.index += len(batch)
                continue
            for message in batch:
                yield from self._convert(message)

    def _convert(self, message: Any) -> Iterator[ev.Event]:
        if self.chat is not None:
            produced = self.chat.convert(message, self.where, self.index)
            if produced.__class__ is list:
                yield from produced
            elif produced is not None:
                yield produced
        self.index += 1


def _chat_for(header: dict[str, Any], ctx: ImportContext, where: str) -> ChatState | None:
    chat_type = header.get("type")
    if chat_type in _PRIVATE_TYPES:
        ctx.report.ignore("private chats in a full account export (only groups and channels are imported)")
        return None
    if header.get("id") is None:
        ctx.report.skip(where, "a chat without an 'id'")
        return None
    return ChatState(header["id"], chat_type, header.get("name"), ctx)


FORMAT = ImportFormat(name="telegram", title="Telegram Desktop export (result.json, a folder or a zip)",
                      check=check, read=read)

__all__ = ["FORMAT", "account_id", "chat_id"]  # the ids are part of this module's public surface


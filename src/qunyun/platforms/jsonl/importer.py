"""qunyun JSONL: one normalized event per line, in :mod:`qunyun.core.codec`'s shape.

This is what ``qunyun export --format jsonl`` writes, and the way to bring any other source in
(write the events, import the file). Besides event lines (``"type"`` one of ``message``,
``edit``, ``delete``, ``reaction``, ``unreaction``, ``join``, ``leave``, ``rename``,
``payment``) a line ``{"type": "chat", "chat": "<qualified id>", "name": "<group name>"}``
names a group. Blank lines and lines starting with ``#`` are ignored. The full schema is in
docs/import.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from qunyun.core import events as ev
from qunyun.core.codec import DecodeError, event_from_dict
from qunyun.core.events import EVENT_TYPES
from qunyun.core.ids import InvalidId, split

from ..importing import FormatMismatch, ImportContext, ImportFormat
from ..inputs import Input, expand_inputs, text_lines

SUFFIXES = (".jsonl", ".ndjson", ".json")
CHAT_LINE = "chat"


def _first(item: Input) -> None:
    with item.open() as stream:
        for number, line in enumerate(text_lines(stream), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise FormatMismatch(f"not qunyun JSONL: line {number} of {item.label} is not JSON") from None
            kind = record.get("type") if isinstance(record, dict) else None
            if kind not in EVENT_TYPES and kind != CHAT_LINE:
                raise FormatMismatch(f"not qunyun JSONL: line {number} of {item.label} has no event 'type' "
                                     f"({', '.join(EVENT_TYPES)} or {CHAT_LINE})")
            return


def check(paths: list[str], ctx: ImportContext) -> None:
    for item in expand_inputs(paths, SUFFIXES):
        _first(item)


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    report = ctx.report
    for item in expand_inputs(paths, SUFFIXES):
        with item.open(ctx.progress) as stream:
            for number, line in enumerate(text_lines(stream), 1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                location = f"{item.label}:{number}"
                try:
                    record = json.loads(text)
                except ValueError as exc:
                    report.skip(location, f"not JSON ({exc.args[0][:80]})")
                    continue
                if isinstance(record, dict) and record.get("type") == CHAT_LINE:
                    chat, name = record.get("chat"), record.get("name")
                    if isinstance(chat, str) and isinstance(name, str):
                        ctx.name_chat(chat, name)
                    else:
                        report.skip(location, "a 'chat' line needs 'chat' and 'name' strings")
                    continue
                try:
                    event = event_from_dict(record)
                    split(event.chat)
                    for account in _accounts(event):
                        split(account)
                except (DecodeError, InvalidId, TypeError) as exc:
                    report.skip(location, str(exc))
                    continue
                if event.chat not in ctx.chats:
                    ctx.name_chat(event.chat, None)
                if not ctx.keep_raw and event.raw is not None:
                    object.__setattr__(event, "raw", None)
                bots = ctx.options.bots
                if bots:
                    event = _flag_bots(event, ctx)
                yield event


def _accounts(event: ev.Event) -> Iterator[str]:
    for name in ("author", "member", "by", "inviter"):
        account = getattr(event, name, None)
        if account is not None:
            yield account.id


def _flag_bots(event: ev.Event, ctx: ImportContext) -> ev.Event:
    import dataclasses

    changes = {}
    for name in ("author", "member", "by", "inviter"):
        account = getattr(event, name, None)
        if account is not None and not account.is_bot:
            flagged = ctx.account(account.id, account.name)
            if flagged.is_bot:
                changes[name] = flagged
    return dataclasses.replace(event, **changes) if changes else event


FORMAT = ImportFormat(name="jsonl", title="qunyun JSONL (one event per line; what `qunyun export` writes)",
                      check=check, read=read)

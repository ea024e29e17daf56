"""Slack: a workspace export (zip or folder), or a stream of message events (JSON Lines).

**Export** (Slack's "Export data"): ``users.json``, ``channels.json`` (and ``groups.json``,
``mpims.json``, ``dms.json`` when present), and a folder per channel holding one
``YYYY-MM-DD.json`` array of messages per day. Read member by member, zip members decompressed
as they are read.

**Event stream** (a documented variant): files of JSON Lines, one Slack ``message`` event per
line with its ``channel`` — what a bot logging the Events or RTM API writes (the Clojurians
log is one). ``users.json`` / ``channels.json`` beside the files (or one folder up) give names.
Here edits (``message_changed``) and deletions (``message_deleted``) are events of their own.

Ids are Slack's: the chat is ``slack:<channel id>``, people ``slack:<user id>``, bots
``slack:<bot id>``; a message's id is its ``ts``, unique in its channel, so overlapping
exports merge.

Quirks handled (see docs/import.md): subtypes ``channel_join``/``channel_leave`` (joins and
leaves, with the ``inviter``), ``bot_message`` and users flagged ``is_bot`` (bots),
``me_message``, ``file_share``, ``thread_broadcast``; topic, purpose, name and pin changes as
system messages; ``message_replied`` (a thread parent's reply count changing) and
``tombstone`` placeholders are not messages; threads (``thread_ts``: a reply answers the
thread's root); reactions with their users; ``<@U…>`` mentions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ijson

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC

from ..importing import FormatMismatch, ImportContext, ImportFormat
from ..inputs import JSON_ERRORS, Tree, json_error_text, require_file, text_lines

PLATFORM = "slack"
_DAY_FILE = re.compile(r"^(?:.*/)?([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_STREAM_SUFFIXES = (".jsonl", ".ndjson", ".txt", ".log")
_JOIN = {"channel_join", "group_join"}
_LEAVE = {"channel_leave", "group_leave"}
_SYSTEM = {"channel_topic", "channel_purpose", "channel_name", "channel_archive", "channel_unarchive",
           "group_topic", "group_purpose", "group_name", "group_archive", "group_unarchive", "pinned_item",
           "unpinned_item", "bot_add", "bot_remove", "reminder_add", "channel_convert_to_private",
           "channel_convert_to_public", "channel_posting_permissions", "sh_room_created", "huddle_thread"}
_NOT_MESSAGES = {
    "message_replied": "thread parents updated with a new reply count ('message_replied')",
    "tombstone": "placeholders of deleted thread parents ('tombstone')",
    "joiner_notification_for_inviter": "invitation notices",
}


def _meta_names(tree: Tree) -> dict[str, str]:
    """``{"users.json": member path, …}`` for the metadata files at the root or one folder down."""
    found: dict[str, str] = {}
    for name in tree.names():
        parts = name.split("/")
        if len(parts) <= 2 and parts[-1] in ("users.json", "channels.json", "groups.json", "mpims.json",
                                                 "dms.json", "integration_logs.json"):
            found.setdefault(parts[-1], name)
    return found


class _Layout:
    """What an input path holds: an export's day files, or event-stream files, plus metadata."""

    def __init__(self, path: str) -> None:
        require_file(path)
        self.path = path
        self.tree: Tree | None = None
        self.meta: dict[str, str] = {}
        self.day_files: list[tuple[str, str, str]] = []  # (folder, day, member)
        self.stream_files: list[str] = []
        if path.lower().endswith(_STREAM_SUFFIXES) and not _is_tree(path):
            self.stream_files = [path]
            self._sibling_meta()
            return
        self.tree = Tree(path)
        self.meta = _meta_names(self.tree)
        for name in self.tree.names():
            match = _DAY_FILE.match(name)
            if match and match.group(1) not in ("", "."):
                self.day_files.append((match.group(1), match.group(2), name))
            elif name.lower().endswith(_STREAM_SUFFIXES) and "/" not in name.strip("/").split("/", 1)[-1]:
                self.stream_files.append(name)
        self.day_files.sort(key=lambda item: (item[0], item[1]))
        self.stream_files.sort()
        if self.day_files:
            self.stream_files = []
        if not self.day_files and not self.stream_files:
            raise FormatMismatch(f"not a Slack export: {path} has no channel folders of YYYY-MM-DD.json files "
                                 "(and no JSON Lines files of message events)")
        if self.day_files and "channels.json" not in self.meta and "users.json" not in self.meta:
            raise FormatMismatch(f"not a Slack export: {path} has no users.json or channels.json")

    def _sibling_meta(self) -> None:
        import os

        folder = os.path.dirname(os.path.abspath(self.path))
        for candidate in (folder, os.path.dirname(folder)):
            if any(os.path.exists(os.path.join(candidate, n)) for n in ("users.json", "channels.json")):
                self.tree = Tree(candidate)
                self.meta = {k: v for k, v in _meta_names(self.tree).items() if "/" not in v}
                return

    def load(self, name: str) -> Any:
        assert self.tree is not None
        with self.tree.open(self.meta[name]) as stream:
            try:
                return json.load(stream)
            except (ValueError, UnicodeDecodeError) as exc:
                raise FormatMismatch(f"{self.tree.label(self.meta[name])}: not valid JSON ({exc})") from None


def _is_tree(path: str) -> bool:
    import os
    import zipfile

    return os.path.isdir(path) or zipfile.is_zipfile(path)


def check(paths: list[str], ctx: ImportContext) -> None:
    for path in paths:
        layout = _Layout(path)
        if layout.stream_files:
            _check_stream(layout)
        channels = {folder for folder, _day, _name in layout.day_files}
        if ctx.options.group and len(channels) > 1:
            raise FormatMismatch(f"--group names one group, but {path} holds {len(channels)} channels; "
                                 "leave --group out (each channel keeps its own name)")


def _check_stream(layout: _Layout) -> None:
    first = layout.stream_files[0]
    stream = layout.tree.open(first) if layout.tree is not None and first in set(layout.tree.names()) \
        else open(first, "rb")
    with stream:
        for line in text_lines(stream):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise FormatMismatch(f"not a Slack event stream: the first line of {first} is not JSON") from None
            if not isinstance(record, dict) or "ts" not in record or "channel" not in record:
                raise FormatMismatch(f"not a Slack event stream: the first line of {first} is not a message "
                                     "event with 'channel' and 'ts'")
            return


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for path in paths:
        layout = _Layout(path)
        workspace = _Workspace(layout, ctx)
        if layout.day_files:
            yield from workspace.read_export()
        else:
            yield from workspace.read_stream()


def slack_time(ts: Any) -> datetime:
    """A Slack ``ts`` ("1517436010.000936") as an aware UTC datetime; ValueError otherwise."""
    text = str(ts)
    seconds, _dot, fraction = text.partition(".")
    moment = datetime.fromtimestamp(int(seconds), UTC)
    if fraction:
        if not fraction.isdigit():
            raise ValueError(text)
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return moment


class _Workspace:
    def __init__(self, layout: _Layout, ctx: ImportContext) -> None:
        self.layout = layout
        self.ctx = ctx
        self.report = ctx.report
        self.names: dict[str, str] = {}
        self.bots: set[str] = set()
        self.channel_ids: dict[str, str] = {}  # folder name -> channel id
        self.channel_names: dict[str, str] = {}  # channel id -> name
        if "users.json" in layout.meta:
            for user in _as_list(layout.load("users.json")):
                if not isinstance(user, dict) or not user.get("id"):
                    continue
                profile = user.get("profile") or {}
                name = (profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                        or user.get("name"))
                if name:
                    self.names[user["id"]] = name
                if user.get("is_bot") or user.get("is_app_user") or user.get("id") == "USLACKBOT":
                    self.bots.add(user["id"])
        for meta in ("channels.json", "groups.json", "mpims.json", "dms.json"):
            if meta not in layout.meta:
                continue
            for channel in _as_list(layout.load(meta)):
                if isinstance(channel, dict) and channel.get("id"):
                    folder = channel.get("name") or channel["id"]
                    self.channel_ids[folder] = channel["id"]
                    self.channel_names[channel["id"]] = channel.get("name") or channel["id"]

    # ---- people

    def person(self, user_id: str, profile: Any = None) -> ev.Account:
        name = self.names.get(user_id)
        if name is None and isinstance(profile, dict):
            name = profile.get("display_name") or profile.get("real_name") or profile.get("name")
        return self.ctx.account(f"{PLATFORM}:{user_id}", name, is_bot=user_id in self.bots)

    def author(self, m: dict[str, Any]) -> ev.Account | None:
        if m.get("subtype") == "bot_message" or (not m.get("user") and m.get("bot_id")):
            bot = m.get("bot_id") or m.get("user") or m.get("username")
            if not bot:
                return None
            name = m.get("username") or (m.get("bot_profile") or {}).get("name")
            return self.ctx.account(f"{PLATFORM}:{bot}", name, is_bot=True)
        user = m.get("user")
        if not user and isinstance(m.get("comment"), dict):  # old 'file_comment': the comment's author
            user = m["comment"].get("user")
        if not isinstance(user, str) or not user:
            return None
        return self.person(user, m.get("user_profile"))

    # ---- reading

    def read_export(self) -> Iterator[ev.Event]:
        tree = self.layout.tree
        assert tree is not None
        for folder, _day, name in self.layout.day_files:
            channel_id = self.channel_ids.get(folder)
            chat = f"{PLATFORM}:{channel_id}" if channel_id else f"{PLATFORM}:#{folder}"
            self.ctx.name_chat(chat, f"#{folder}")
            label = tree.label(name)
            with tree.open(name, self.ctx.progress) as stream:
                try:
                    for index, message in enumerate(ijson.items(stream, "item")):
                        yield from self.convert(message, chat, f"{label}[{index}]")
                except JSON_ERRORS as exc:
                    self.report.skip(label, f"not a JSON array of messages ({json_error_text(exc)})")

    def read_stream(self) -> Iterator[ev.Event]:
        layout = self.layout
        for name in layout.stream_files:
            in_tree = layout.tree is not None and layout.path != name
            stream = layout.tree.open(name, self.ctx.progress) if in_tree else _open_counted(name, self.ctx)
            label = layout.tree.label(name) if in_tree else name
            with stream:
                for number, line in enumerate(text_lines(stream), 1):
                    if not line.strip():
                        continue
                    try:
                        message = json.loads(line)
                    except ValueError as exc:
                        self.report.skip(f"{label}:{number}", f"not JSON ({exc.args[0][:80]})")
                        continue
                    if not isinstance(message, dict) or not message.get("channel"):
                        self.report.skip(f"{label}:{number}", "a message event without its 'channel'")
                        continue
                    channel_id = str(message["channel"])
                    chat = f"{PLATFORM}:{channel_id}"
                    if chat not in self.ctx.chats:
                        self.ctx.name_chat(chat, "#" + self.channel_names.get(channel_id, channel_id))
                    yield from self.convert(message, chat, f"{label}:{number}")

    def convert(self, m: Any, chat: str, location: str) -> Iterator[ev.Event]:
        if not isinstance(m, dict):
            self.report.skip(location, "not a JSON object")
            return
        if m.get("type", "message") != "message":
            self.report.ignore(f"non-message events ('{m.get('type')}')")
            return
        subtype = m.get("subtype")
        if subtype in _NOT_MESSAGES:
            self.report.ignore(_NOT_MESSAGES[subtype])
            return
        ts = m.get("ts")
        try:
            at = slack_time(ts)
        except (TypeError, ValueError, OverflowError):
            self.report.skip(location, f"'ts' {ts!r} is not a Slack time stamp")
            return
        raw = m if self.ctx.keep_raw else None
        common = {"chat": chat, "at": at, "raw": raw}
        if subtype == "message_changed":
            yield from self._changed(m, str(ts), common, location)
            return
        if subtype == "message_deleted":
            deleted = m.get("deleted_ts") or (m.get("previous_message") or {}).get("ts")
            if not deleted:
                self.report.skip(location, "'message_deleted' without 'deleted_ts'")
                return
            yield ev.MessageDeleted(event_id=str(ts), message_id=str(deleted), **common)
            return
        author = self.author(m)
        if author is None:
            self.report.skip(location, "no 'user' (or 'bot_id') saying who sent it")
            return
        if subtype in _JOIN:
            inviter = m.get("inviter")
            yield ev.MemberJoined(event_id=str(ts), member=author,
                                  via=ev.JoinMethod.INVITED if inviter else ev.JoinMethod.UNKNOWN,
                                  inviter=self.person(inviter) if isinstance(inviter, str) and inviter else None,
                                  **common)
            return
        if subtype in _LEAVE:
            yield ev.MemberLeft(event_id=str(ts), member=author, reason=ev.LeaveReason.LEFT, **common)
            return
        text = m.get("text") if isinstance(m.get("text"), str) else ""
        if not text and isinstance(m.get("comment"), dict):
            text = str(m["comment"].get("comment") or "")
        if subtype in _SYSTEM:
            yield ev.MessagePosted(event_id=str(ts), author=author, text=text or subtype,
                                   kind=ev.MessageKind.SYSTEM, **common)
            return
        thread = m.get("thread_ts")
        thread = str(thread) if thread and str(thread) != str(ts) else None
        edited = m.get("edited")
        edited_at = None
        if isinstance(edited, dict) and edited.get("ts"):
            try:
                edited_at = slack_time(edited["ts"])
            except (ValueError, OverflowError):
                edited_at = None
        mentions = tuple(dict.fromkeys(f"{PLATFORM}:{u}" for u in _MENTION.findall(text))) if "<@" in text else ()
        yield ev.MessagePosted(event_id=str(ts), author=author, text=text, kind=_kind(m, text), reply_to=thread,
                               thread=thread, mentions=mentions, edited_at=edited_at, **common)
        for reaction in m.get("reactions") or ():
            if not isinstance(reaction, dict):
                continue
            emoji = str(reaction.get("name") or "?")
            for user in reaction.get("users") or ():
                if isinstance(user, str) and user:
                    yield ev.ReactionAdded(chat=chat, event_id=f"{ts}:{emoji}:{user}", at=at, message_id=str(ts),
                                           author=self.person(user), emoji=emoji)
            extra = (reaction.get("count") or 0) - len(reaction.get("users") or ())
            if isinstance(extra, int) and extra > 0:
                self.report.ignore("reactions the export counts without saying who reacted", extra)

    def _changed(self, m: dict[str, Any], ts: str, common: dict[str, Any], location: str) -> Iterator[ev.Event]:
        new = m.get("message")
        if not isinstance(new, dict) or not new.get("ts"):
            self.report.skip(location, "'message_changed' without the changed 'message'")
            return
        author = self.author(new)
        if author is None:
            self.report.skip(location, "'message_changed' without the author of the message")
            return
        text = new.get("text") if isinstance(new.get("text"), str) else ""
        yield ev.MessageEdited(event_id=ts, message_id=str(new["ts"]), author=author, text=text, **common)


def _open_counted(path: str, ctx: ImportContext):
    from ..inputs import open_binary

    return open_binary(path, ctx.progress)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kind(m: dict[str, Any], text: str) -> ev.MessageKind:
    files = m.get("files") or ([m["file"]] if isinstance(m.get("file"), dict) else [])
    if files:
        first = files[0] if isinstance(files[0], dict) else {}
        mime = str(first.get("mimetype") or "")
        if mime.startswith("image/"):
            return ev.MessageKind.IMAGE
        if mime.startswith("video/"):
            return ev.MessageKind.VIDEO
        if mime.startswith("audio/"):
            return ev.MessageKind.VOICE if first.get("subtype") == "slack_audio" else ev.MessageKind.FILE
        return ev.MessageKind.FILE
    stripped = text.strip()
    if stripped.startswith("<http") and stripped.endswith(">") and " " not in stripped:
        return ev.MessageKind.LINK
    return ev.MessageKind.TEXT


FORMAT = ImportFormat(name="slack", title="Slack export (zip or folder) or JSON Lines of message events",
                      check=check, read=read)

"""WeChat chat CSV, as the common export tools write it (WeChatMsg / MemoTrace and their forks).

Columns: ``localId, TalkerId, Type, SubType, IsSender, CreateTime, Status, StrContent, StrTime,
Remark, NickName, Sender``. In group chats the last three name the speaker (the exporter's
remark for them, their nickname, their wxid); ``IsSender`` is 1 on the exporter's own
messages. ``Type``: 1 text, 3 image, 34 voice, 43 video, 47 sticker, 49 app message (links,
files, quotes, transfers: ``SubType`` tells which), 10000 and 10002 system lines.

**Ids**: the chat is ``wechat:<TalkerId>`` (``TalkerId`` is the exporting device's number
for the chat; with no ``TalkerId`` column, ``--group`` or the file name stands in); a person is
``wechat:<wxid>`` from ``Sender``, or ``wechat:<chat>/me`` for the exporter's own rows without
one. ``localId`` is the device's row number, so a message is named by its ``CreateTime``, a
hash of sender, type and content, and its rank among identical rows in that second: exports
of the same chat from two devices, or overlapping ones, merge.

System lines (Chinese) that report people joining ("邀请…加入了群聊", "通过扫描…分享的二维码加入群聊")
or being removed ("移出了群聊") become joins and leaves; they name people by display name, which
is resolved to the wxid seen on their messages in the same file. Times: ``CreateTime`` (Unix
seconds) is the truth; ``StrTime`` is read in ``--tz`` only when ``CreateTime`` is missing.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import datetime

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC

from ..importing import FormatMismatch, ImportContext, ImportFormat, NameBook, Occurrences, stable_id
from ..inputs import Input, expand_inputs

PLATFORM = "wechat"
REQUIRED = ("Type", "IsSender", "StrContent")
_TYPES = {
    "1": ev.MessageKind.TEXT, "3": ev.MessageKind.IMAGE, "34": ev.MessageKind.VOICE, "43": ev.MessageKind.VIDEO,
    "47": ev.MessageKind.STICKER, "42": ev.MessageKind.OTHER, "48": ev.MessageKind.OTHER,
    "50": ev.MessageKind.OTHER, "62": ev.MessageKind.VIDEO,
}
_APP_SUBTYPES = {"5": ev.MessageKind.LINK, "6": ev.MessageKind.FILE, "57": ev.MessageKind.TEXT,
                 "4": ev.MessageKind.LINK, "3": ev.MessageKind.LINK}
_SYSTEM_TYPES = {"10000", "10002"}
_Q = "[\"“”']"
_INVITED = re.compile(rf"^{_Q}?(?P<who>.+?){_Q}?\s*邀请\s*{_Q}(?P<whom>.+?){_Q}\s*加入了群聊")
_SCANNED = re.compile(rf"^{_Q}(?P<whom>.+?){_Q}\s*通过扫描\s*{_Q}?(?P<who>.+?){_Q}?\s*分享的二维码加入群聊")
_JOINED = re.compile(rf"^{_Q}(?P<whom>.+?){_Q}\s*(?:加入了群聊|通过邀请链接加入群聊)")
_REMOVED = re.compile(rf"^{_Q}?(?P<who>.+?){_Q}?\s*将\s*{_Q}(?P<whom>.+?){_Q}\s*移出了群聊")
_YOU_REMOVED = re.compile(rf"^你被\s*{_Q}(?P<who>.+?){_Q}\s*移出群聊")
_LEFT = re.compile(rf"^{_Q}(?P<whom>.+?){_Q}\s*(?:已)?退出了群聊")
_ME = ("你", "您")


def _header(item: Input) -> list[str]:
    with item.open() as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        try:
            header = next(csv.reader(text))
        except (StopIteration, csv.Error):
            raise FormatMismatch(f"not a WeChat export CSV: {item.label} is empty or not CSV") from None
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing or ("CreateTime" not in header and "StrTime" not in header):
        missing += [] if ("CreateTime" in header or "StrTime" in header) else ["CreateTime"]
        raise FormatMismatch(f"not a WeChat export CSV: {item.label} has no column(s) {', '.join(missing)} "
                             "(expected localId, TalkerId, Type, SubType, IsSender, CreateTime, Status, "
                             "StrContent, StrTime, Remark, NickName, Sender)")
    return header


def check(paths: list[str], ctx: ImportContext) -> None:
    for item in expand_inputs(paths, (".csv",)):
        _header(item)


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for item in expand_inputs(paths, (".csv",)):
        header = _header(item)
        with item.open(ctx.progress) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            rows = csv.reader(text)
            next(rows, None)
            reader = _ChatReader(item, header, ctx)
            try:
                for row in rows:
                    yield from reader.row(row, rows.line_num)
            except csv.Error as exc:
                ctx.report.skip(f"{item.label}:{rows.line_num}", f"the CSV breaks off here ({exc})")
            yield from reader.names.flush()


def _stem(name: str) -> str:
    stem = os.path.splitext(name)[0]
    return stem[:-5] if stem.endswith("_utf8") else stem


class _ChatReader:
    def __init__(self, item: Input, header: list[str], ctx: ImportContext) -> None:
        self.item = item
        self.ctx = ctx
        self.col = {name: i for i, name in enumerate(header)}
        self.width = len(header)
        self.chat: str | None = None
        self.chat_name = ctx.options.group or _stem(item.name)
        self.ranks = Occurrences()
        self.names = NameBook(fallback=self._name_fallback)

    def _name_fallback(self, name: str) -> str:
        return f"{self.chat}/{name}"

    def _get(self, row: list[str], name: str) -> str:
        index = self.col.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    def _chat_for(self, row: list[str]) -> str:
        if self.chat is None:
            talker = self._get(row, "TalkerId")
            self.chat = f"{PLATFORM}:{talker}" if talker else f"{PLATFORM}:{self.chat_name}"
            self.ctx.name_chat(self.chat, self.chat_name)
        return self.chat

    def row(self, row: list[str], line: int) -> Iterator[ev.Event]:
        location = f"{self.item.label}:{line}"
        if not row or not any(cell.strip() for cell in row):
            return
        if len(row) < self.col.get("StrContent", 0) + 1:
            self.ctx.report.skip(location, f"{len(row)} columns, fewer than the header's {self.width}")
            return
        chat = self._chat_for(row)
        at, source_tz = self._time(row, location)
        if at is None:
            return
        kind_code = self._get(row, "Type")
        content = row[self.col["StrContent"]]
        created = self._get(row, "CreateTime") or self._get(row, "StrTime")
        if kind_code in _SYSTEM_TYPES:
            yield from self._system(content, created, at, source_tz, chat, location)
            return
        sender = self._get(row, "Sender")
        name = self._get(row, "NickName") or self._get(row, "Remark") or None
        if sender:
            account = f"{PLATFORM}:{sender}"
        elif self._get(row, "IsSender") == "1":
            account = f"{chat}/me"
            name = name or "me"
        else:
            account = f"{chat}/{self._get(row, 'TalkerId') or 'other'}"
        self.names.learn(self._get(row, "NickName"), account)
        self.names.learn(self._get(row, "Remark"), account)
        if not kind_code.isdigit():
            self.ctx.report.skip(location, f"'Type' {kind_code!r} is not a WeChat message type code")
            return
        kind = _TYPES.get(kind_code)
        if kind_code == "49":
            kind = _APP_SUBTYPES.get(self._get(row, "SubType"), ev.MessageKind.OTHER)
        key = stable_id(account, kind_code, content)
        rank = self.ranks.rank(created, key)
        yield ev.MessagePosted(
            chat=chat, event_id=f"{created}/{key}/{rank}", at=at, source_tz=source_tz,
            author=self.ctx.account(account, name), text=content, kind=kind or ev.MessageKind.OTHER,
            raw=dict(zip(self.col, row)) if self.ctx.keep_raw else None,
        )

    def _time(self, row: list[str], location: str) -> tuple[datetime | None, str | None]:
        created = self._get(row, "CreateTime")
        if created:
            try:
                return datetime.fromtimestamp(int(float(created)), UTC), None
            except (ValueError, OverflowError):
                self.ctx.report.skip(location, f"'CreateTime' {created!r} is not a Unix time")
                return None, None
        local = self._get(row, "StrTime")
        try:
            return self.ctx.local(datetime.fromisoformat(local)), self.ctx.options.tz
        except ValueError:
            self.ctx.report.skip(location, f"no 'CreateTime', and 'StrTime' {local!r} is not a date and time")
            return None, None

    def _system(self, content: str, created: str, at: datetime, source_tz: str | None, chat: str,
                location: str) -> Iterator[ev.Event]:
        text = content.strip()
        key = stable_id("system", text)
        base = f"{created}/{key}/{self.ranks.rank(created, key)}"
        common = {"chat": chat, "at": at, "source_tz": source_tz}
        me = f"{chat}/me"

        def who(name: str) -> ev.Account:
            if name in _ME:
                return self.ctx.account(me, "me")
            known = self.names.ids_by_name.get(name)
            if known is not None:  # their messages name them; a system line's name is only a label
                return self.ctx.account(known)
            return self.ctx.account(self.names.fallback(name), name)

        for pattern, via in ((_INVITED, ev.JoinMethod.INVITED), (_SCANNED, ev.JoinMethod.INVITE_LINK),
                             (_JOINED, ev.JoinMethod.UNKNOWN)):
            match = pattern.match(text)
            if match is None:
                continue
            groups = match.groupdict()
            names = _split(groups["whom"])
            inviter = groups.get("who")

            def joins(book: NameBook, names=names, inviter=inviter, via=via) -> Iterator[ev.Event]:
                for i, name in enumerate(names):
                    yield ev.MemberJoined(event_id=f"{base}/{i}", member=who(name), via=via,
                                          inviter=who(inviter) if inviter else None, **common)

            yield from self._when_named(names + ([inviter] if inviter else []), joins)
            return
        match = _REMOVED.match(text) or _LEFT.match(text)
        if match is not None:
            groups = match.groupdict()
            names = _split(groups["whom"])
            remover = groups.get("who")

            def leaves(book: NameBook, names=names, remover=remover) -> Iterator[ev.Event]:
                for i, name in enumerate(names):
                    if remover:
                        yield ev.MemberLeft(event_id=f"{base}/{i}", member=who(name), reason=ev.LeaveReason.REMOVED,
                                            by=who(remover), **common)
                    else:
                        yield ev.MemberLeft(event_id=f"{base}/{i}", member=who(name), **common)

            yield from self._when_named(names + ([remover] if remover else []), leaves)
            return
        match = _YOU_REMOVED.match(text)
        if match is not None:
            yield ev.MemberLeft(event_id=base, member=who("你"), reason=ev.LeaveReason.REMOVED,
                                by=who(match["who"]), **common)
            return
        self.ctx.report.ignore("system lines that are not joins or leaves (recalls, pats, notices…)")

    def _when_named(self, names: list[str], build) -> Iterator[ev.Event]:
        known = [n for n in names if n not in _ME]
        if self.names.knows(known):
            yield from build(self.names)
        else:
            self.names.later(build)


def _split(listing: str) -> list[str]:
    """"张三、李四" → ["张三", "李四"] (WeChat lists names with the ideographic comma)."""
    return [n.strip(" \"“”'") for n in re.split("[、,，]", listing) if n.strip(" \"“”'")]


FORMAT = ImportFormat(name="wechat", title="WeChat export CSV (WeChatMsg / MemoTrace columns)",
                      check=check, read=read)


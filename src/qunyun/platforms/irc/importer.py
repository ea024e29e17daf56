"""IRC channel logs, in the common styles, read line by line.

Time stamps: ``[HH:MM]``, ``[HH:MM:SS]``, bare ``HH:MM[:SS]`` (irssi), ``[YYYY-MM-DD HH:MM:SS]``
and WeeChat's ``YYYY-MM-DD HH:MM:SS<TAB>nick<TAB>text``. Lines: ``<nick> text`` (with mode
prefixes ``@+%~&``), actions ``* nick text``, notices ``-nick- text`` / ``-nick:#chan- text``,
and system lines marked ``===``, ``-!-``, ``***``, ``*``, ``-->``, ``<--`` or ``--``: joins,
parts and quits (both leaves), kicks (removals), nick changes, modes and topics. In the old
irclogs style an unmarked ``=== nick does something`` line is an action.

**The date** comes from the line (WeeChat, ``[YYYY-MM-DD …]``), from irssi's ``--- Day
changed`` / ``--- Log opened`` lines, from the file name (``2024-01-31.log``,
``#chan.20240131.log``) or from ``--date``. A time earlier than the line before it means the
log crossed midnight: the date moves on by a day. Lines without a time of their own (joins in
some styles) take the time of the line before them.

**Ids**: the chat is ``irc:<name>``: ``--group``, else a ``#channel`` in the path, else the
folder the logs are in. A person is ``irc:<chat>/<nick, case-folded>`` (IRC nicks are
case-insensitive and belong to a network, not to everyone): each nick is its own member, so a
nick change is counted, not followed. A line's id is its date, a hash of the line and its rank
among identical lines of that minute (lines without a time: of that day), so overlapping logs
merge.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from qunyun.core import events as ev

from ..importing import FormatMismatch, ImportContext, ImportFormat, InputProblem, Occurrences, stable_id
from ..inputs import Input, expand_inputs, text_lines

PLATFORM = "irc"
_SUFFIXES = (".log", ".txt", ".irc")
_FILE_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")
_CHANNEL_IN_PATH = re.compile(r"([#&][^/\\.\s]+)")
_STAMP = re.compile(
    r"^(?:\[(?:(?P<d1>\d{4}-\d{2}-\d{2})[ T])?(?P<t1>\d{1,2}:\d{2}(?::\d{2})?)\]"
    r"|(?P<d2>\d{4}-\d{2}-\d{2})[ T](?P<t2>\d{1,2}:\d{2}:\d{2})(?=\t|\s)"
    r"|(?P<t3>\d{1,2}:\d{2}(?::\d{2})?)(?=\s))\s?"
)
_NICK = r"[A-Za-z0-9\[\]\\`_^{|}\-]+"
_VALID_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*$")
_MESSAGE = re.compile(r"^<[~&@%+ ]?(?P<nick>[^>]*[^>\s])\s*>(?: (?P<text>.*))?$")
_ACTION = re.compile(rf"^\*\s+(?P<nick>{_NICK}) (?P<text>.*)$")
_NOTICE = re.compile(rf"^-(?P<nick>{_NICK})(?::[#&]\S+)?-\s?(?P<text>.*)$")
_OP_NOTICE = re.compile(rf"^\((?P<nick>{_NICK})/[#&]\S+\)\s(?P<text>.*)$")
_DAY_LINE = re.compile(r"^--- (?:Day changed|Log opened) (?P<when>.+)$")
_MARKER = re.compile(r"^(?P<marker>===|-!-|\*\*\*|\*|-->|<--|--)\s+(?P<rest>.*)$")
_HOST = r"(?:\s+[\[(][^\])]*[\])])?"
# The nick runs up to the host in brackets; it may hold a space (seen in real logs, mangled nicks).
_JOIN = re.compile(rf"^(?:Joins:\s+(?P<n1>\S+)|(?P<n2>\S+?|.+?(?=\s+[\[(])){_HOST}\s+has joined\b)")
_PART = re.compile(rf"^(?:Parts:\s+(?P<n1>\S+)|(?P<n2>\S+?|.+?(?=\s+[\[(])){_HOST}\s+has left\b)")
_QUIT = re.compile(rf"^(?:Quits:\s+(?P<n1>\S+)|(?P<n2>\S+?|.+?(?=\s+[\[(])){_HOST}\s+has quit\b)")
_KICK = re.compile(r"^(?:(?P<nick>.+?) was kicked (?:off|from) [#&]\S+ by (?P<by>\S+)"
                   r"|(?P<by2>\S+) has kicked (?P<nick2>\S+) from [#&]\S+)")
_NICK_CHANGE = re.compile(r"^(?P<old>.+?) is now known as (?P<new>\S+)")
_SYSTEM_WORDS = re.compile(r"^(mode/|Mode |Topic|topic|\S+ (changed|sets|set) (the )?(topic|mode)|"
                           r"netsplit|netjoin|Netsplit|\S+: |Irssi|ServerMode|Log (opened|closed))")


def _file_day(item: Input) -> date | None:
    match = _FILE_DATE.search(item.name)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _chat_name(item: Input, options_group: str | None) -> str:
    if options_group:
        return options_group
    match = _CHANNEL_IN_PATH.search(item.label)
    if match:
        return match.group(1)
    folder = os.path.basename(os.path.dirname(item.label.replace(":", "/")))
    return folder or "irc"


def _has_dated_lines(item: Input) -> bool:
    with item.open() as stream:
        for n, line in enumerate(text_lines(stream)):
            if n > 200:
                return False
            match = _STAMP.match(line)
            if (match and (match["d1"] or match["d2"])) or _DAY_LINE.match(line):
                return True
    return False


def check(paths: list[str], ctx: ImportContext) -> None:
    for item in expand_inputs(paths, _SUFFIXES):
        seen_line = False
        with item.open() as stream:
            for n, line in enumerate(text_lines(stream)):
                if n > 200:
                    break
                if _STAMP.match(line) or _MARKER.match(line) or _DAY_LINE.match(line):
                    seen_line = True
                    break
        if not seen_line:
            raise FormatMismatch(f"not an IRC log: no line of the first 200 in {item.label} looks like "
                                 "'[12:34] <nick> text' or a join/part line")
        if ctx.options.day is None and _file_day(item) is None and not _has_dated_lines(item):
            raise InputProblem(f"{item.label}: the file name carries no date and the lines none either; "
                               "give the day with --date YYYY-MM-DD")


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for item in expand_inputs(paths, _SUFFIXES):
        name = _chat_name(item, ctx.options.group)
        chat = f"{PLATFORM}:{name}"
        ctx.name_chat(chat, name)
        log = _Log(chat, name, _file_day(item) or ctx.options.day, ctx, item.label)
        with item.open(ctx.progress) as stream:
            for number, line in enumerate(text_lines(stream), 1):
                yield from log.line(line, number)


class _Log:
    def __init__(self, chat: str, name: str, day: date | None, ctx: ImportContext, label: str) -> None:
        self.chat = chat
        self.name = name
        self.day = day
        self.ctx = ctx
        self.label = label
        self.tz = ctx.options.tz
        self.last_time: tuple[int, int, int] | None = None
        self.timed_ranks = Occurrences()
        self.untimed_ranks = Occurrences()

    def person(self, nick: str) -> ev.Account:
        nick = nick.lstrip("~&@%+")
        return self.ctx.account(f"{PLATFORM}:{self.name}/{nick.casefold()}", nick)

    def line(self, raw: str, number: int) -> Iterator[ev.Event]:
        line = raw.rstrip()
        if not line.strip():
            return
        stamp = _STAMP.match(line)
        clock = None
        if stamp is not None:
            line_day = stamp["d1"] or stamp["d2"]
            clock_text = stamp["t1"] or stamp["t2"] or stamp["t3"]
            parts = [int(p) for p in clock_text.split(":")]
            clock = (parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
            if clock[0] > 23 or clock[1] > 59 or clock[2] > 59:
                self.ctx.report.skip(f"{self.label}:{number}", f"{clock_text} is not a time of day")
                return
            if line_day:
                self.day = date.fromisoformat(line_day)
            elif self.last_time is not None and clock < self.last_time and self.day is not None:
                self.day += timedelta(days=1)  # the log crossed midnight
            self.last_time = clock
            body = line[stamp.end():]
        else:
            body = line
        day_line = _DAY_LINE.match(body.strip())
        if day_line is not None:
            self._set_day(day_line["when"])
            return
        if self.day is None:
            self.ctx.report.skip(f"{self.label}:{number}", "no date known yet (give --date YYYY-MM-DD)")
            return
        when = clock or self.last_time or (0, 0, 0)
        at = self.ctx.local(datetime(self.day.year, self.day.month, self.day.day, *when))
        content = body.strip()
        if clock is not None:
            key = stable_id(stamp.group(0).strip(), content)
            event_id = f"{self.day.isoformat()}/{key}/{self.timed_ranks.rank((self.day, clock), key)}"
        else:
            key = stable_id(content)
            event_id = f"{self.day.isoformat()}/{key}/{self.untimed_ranks.rank(self.day, key)}"
        tabbed = stamp is not None and stamp["d2"] is not None and "\t" in body  # WeeChat's layout
        yield from self._classify(body, content, event_id, at, f"{self.label}:{number}", tabbed)

    def _set_day(self, text: str) -> None:
        text = text.strip()
        for pattern in ("%a %b %d %Y", "%a %b %d %H:%M:%S %Y", "%b %d %Y", "%Y-%m-%d", "%a, %d %b %Y", "%d %b %Y"):
            try:
                self.day = datetime.strptime(text, pattern).date()
                self.last_time = None
                return
            except ValueError:
                continue

    def _message(self, nick: str, text: str, event_id: str, at: datetime) -> ev.Event:
        return ev.MessagePosted(chat=self.chat, event_id=event_id, at=at, source_tz=self.tz,
                                author=self.person(nick), text=text, kind=_kind(text))

    def _classify(self, body: str, content: str, event_id: str, at: datetime, location: str,
                  tabbed: bool) -> Iterator[ev.Event]:
        if tabbed:  # WeeChat: prefix <TAB> text
            prefix, _tab, text = body.strip("\t ").partition("\t")
            prefix = prefix.strip()
            if prefix in ("-->", "<--", "--", "=!=", "*") or not prefix:
                content = f"{prefix} {text}".strip() if prefix != "*" else f"* {text}"
            else:
                yield self._message(prefix, text, event_id, at)
                return
        match = _MESSAGE.match(content)
        if match:
            yield self._message(match["nick"], match["text"] or "", event_id, at)
            return
        common = {"chat": self.chat, "event_id": event_id, "at": at, "source_tz": self.tz}
        marked = _MARKER.match(content)
        if marked:
            rest = marked["rest"]
            for pattern, kind in ((_JOIN, "join"), (_PART, "leave"), (_QUIT, "leave")):
                found = pattern.match(rest)
                if found:
                    nick = found["n1"] or found["n2"]
                    if kind == "join":
                        yield ev.MemberJoined(member=self.person(nick), **common)
                    else:
                        yield ev.MemberLeft(member=self.person(nick), reason=ev.LeaveReason.LEFT, **common)
                    return
            found = _KICK.match(rest)
            if found:
                nick, by = found["nick"] or found["nick2"], found["by"] or found["by2"]
                yield ev.MemberLeft(member=self.person(nick), reason=ev.LeaveReason.REMOVED, by=self.person(by),
                                    **common)
                return
            if _NICK_CHANGE.match(rest):
                self.ctx.report.ignore("nick changes (each nick is its own member; merge members to join them)")
                return
            if marked["marker"] in ("===", "*") and not _SYSTEM_WORDS.match(rest):
                nick, _sp, text = rest.partition(" ")
                if _VALID_NICK.match(nick.lstrip("~&@%+")):  # "=== nick waves" / "* nick waves": an action
                    yield self._message(nick, text, event_id, at)
                    return
            self.ctx.report.ignore("system lines (modes, topics, netsplits…)")
            return
        for pattern in (_ACTION, _NOTICE, _OP_NOTICE):
            match = pattern.match(content)
            if match:
                yield self._message(match["nick"], match["text"], event_id, at)
                return
        self.ctx.report.skip(location, "not a message, action, notice or join/part line")


def _kind(text: str) -> ev.MessageKind:
    stripped = text.strip()
    if stripped.startswith(("http://", "https://")) and " " not in stripped:
        return ev.MessageKind.LINK
    return ev.MessageKind.TEXT


FORMAT = ImportFormat(name="irc", title="IRC logs (irclogs, irssi, ZNC, WeeChat, HexChat styles)",
                      check=check, read=read)

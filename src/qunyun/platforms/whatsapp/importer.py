"""WhatsApp "Export chat": the text file (or the zip WhatsApp shares, with or without media).

Both line formats WhatsApp writes are read, line by line:

* Android: ``31/12/2023, 23:59 - Ann: text`` (and ``12/31/23, 11:59 PM - …``)
* iOS:     ``[31/12/2023, 23:59:59] Ann: text`` (and ``[12/31/23, 11:59:59 PM] …``)

with 12- and 24-hour clocks, ``/``, ``.`` or ``-`` between date parts, two- or four-digit
years, messages over several lines, and the invisible marks these files carry (U+200E/U+200F
before system and attachment lines, U+202F/U+00A0 before AM/PM, U+202A…U+202C around phone
numbers).

**Day-first or month-first** is decided per file from the data, before importing it: a first
date part above 12 means day-first, a second part above 12 means month-first; when every date
fits both, the order under which the dates run forward in time wins; a file that cannot tell
(say, all on one day like 01/01) is read day-first, and the summary says so.

**Ids**: the export has none. The chat is ``whatsapp:<name>`` (``--group``, else the name in
the file name "WhatsApp Chat with <name>.txt"). A person is ``whatsapp:+<digits>`` when the
export shows a phone number (a phone number is a WhatsApp account, in every chat), else
``whatsapp:<chat name>/<name as the exporting phone saved it>``. A message is its local time
stamp, a hash of author and text, and its rank among identical messages in that minute or
second: re-exports and overlapping exports of the chat give the same ids.

System lines in English are understood: creating the group, adding, joining by link, leaving
and removing become joins and leaves; the rest (subject and icon changes, the encryption
notice, number changes) are not messages and are counted as not imported.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from qunyun.core import events as ev

from ..importing import FormatMismatch, ImportContext, ImportFormat, Occurrences, stable_id
from ..inputs import CountingReader, require_file, text_lines

PLATFORM = "whatsapp"
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_HEADER = re.compile(
    r"^(?P<open>\[)?(?P<a>\d{1,4})(?P<sep>[./-])\s?(?P<b>\d{1,2})(?P=sep)\s?(?P<c>\d{1,4})\.?,?\s+"
    r"(?P<h>\d{1,2})[:.](?P<m>\d{2})(?:[:.](?P<s>\d{2}))?\s?(?P<ampm>[aApP]\.?\s?[mM]\.?)?"
    r"(?(open)\]\s|\s[-–]\s)(?P<rest>.*)$"
)
_PHONE = re.compile(r"^\+?[\d\s\-().]{7,}$")
_ATTACHED = re.compile(r"^<attached: (?P<file>[^>]+)>$|^(?P<file2>\S+\.\w{2,5}) \(file attached\)$")
_MEDIA_WORDS = {
    "image omitted": ev.MessageKind.IMAGE, "photo omitted": ev.MessageKind.IMAGE,
    "video omitted": ev.MessageKind.VIDEO, "gif omitted": ev.MessageKind.VIDEO,
    "audio omitted": ev.MessageKind.VOICE, "sticker omitted": ev.MessageKind.STICKER,
    "document omitted": ev.MessageKind.FILE, "contact card omitted": ev.MessageKind.OTHER,
    "<media omitted>": ev.MessageKind.OTHER, "<médias omis>": ev.MessageKind.OTHER,
}
_EXTENSIONS = {
    ev.MessageKind.IMAGE: (".jpg", ".jpeg", ".png", ".webp", ".heic", ".gif"),
    ev.MessageKind.VIDEO: (".mp4", ".mov", ".3gp"),
    ev.MessageKind.VOICE: (".opus", ".ogg", ".m4a", ".aac", ".mp3"),
}
_FILE_PREFIXES = ("WhatsApp Chat with ", "WhatsApp Chat - ", "WhatsApp Chat mit ", "WhatsApp-Chat mit ",
                  "Chat de WhatsApp con ", "Discussion WhatsApp avec ", "Conversa do WhatsApp com ",
                  "WhatsApp Chat met ", "Chat WhatsApp con ")

# System lines (English). Names are everything before the verb; lists use ", " and " and ".
_SYSTEM_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("created", re.compile(r"^(?P<who>.+?) created (?:group \"(?P<title>.*)\"|this group)$")),
    ("added", re.compile(r"^(?P<who>.+?) added (?P<whom>.+)$")),
    ("link", re.compile(r"^(?P<who>.+?) joined using (?:this group's|a group|an?) invite link$")),
    ("joined", re.compile(r"^(?P<who>.+?) joined(?: from the community)?$")),
    ("left", re.compile(r"^(?P<who>.+?) left$")),
    ("removed", re.compile(r"^(?P<who>.+?) removed (?P<whom>.+)$")),
    ("were_removed", re.compile(r"^(?P<whom>You) were removed$")),
]
_NOTICES = re.compile(
    r"(end-to-end encrypted|changed the subject|changed this group's (icon|settings)|deleted this group's icon|"
    r"changed the group description|deleted the group description|changed their phone number|"
    r" changed to |now an admin|no longer an admin|security code changed|"
    r"changed the settings|turned (on|off) disappearing messages|pinned a message|"
    r"created this community|requested to join|joined a video call|started a (video|voice) call|"
    r"Missed (voice|video) call|Waiting for this message|message timer)", re.I)


@dataclass(frozen=True, slots=True)
class _Order:
    """Which date part is the day, the month and the year."""

    day: int
    month: int
    year: int
    why: str


def _clean(text: str) -> str:
    return _MARKS.sub("", text).replace("\u202f", " ").replace("\u00a0", " ")


def _header(line: str) -> re.Match[str] | None:
    """The date/time header of a line; the text after it keeps its marks (they tell iOS system lines)."""
    head = line.lstrip("\u200e\u200f\ufeff \t")
    if not head[:1].isdigit() and not head.startswith("["):
        return None
    return _HEADER.match(head.replace("\u202f", " ").replace("\u00a0", " "))


def _chat_name(path: str, member: str | None) -> str:
    base = os.path.basename(member or path)
    stem = os.path.splitext(base)[0]
    if stem in ("_chat", "chat") and member is not None:
        stem = os.path.splitext(os.path.basename(path))[0]
    for prefix in _FILE_PREFIXES:
        if stem.startswith(prefix):
            return stem[len(prefix):].strip() or stem
    return stem.strip() or "whatsapp chat"


def _chat_name_only(label: str) -> str:
    """The group name the file name carries (iOS system lines are "said" by it)."""
    path, _sep, member = label.partition(".zip:")
    return _chat_name(path + ".zip", member) if member else _chat_name(label, None)


def _locate(path: str) -> tuple[str, str | None]:
    require_file(path)
    if os.path.isdir(path):
        raise FormatMismatch(f"{path}: is a folder; give the exported .txt file or the .zip")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            texts = [i for i in archive.infolist() if i.filename.lower().endswith(".txt") and not i.is_dir()]
        if not texts:
            raise FormatMismatch(f"not a WhatsApp export: {path} holds no .txt chat file")
        return path, max(texts, key=lambda i: i.file_size).filename
    return path, None


def _open(path: str, member: str | None, progress=None) -> IO[bytes]:
    import io

    raw = zipfile.ZipFile(path).open(member) if member else open(path, "rb")
    return io.BufferedReader(CountingReader(raw, progress), 1 << 16) if progress is not None else raw


def _headers(path: str, member: str | None, limit: int | None = None) -> Iterator[re.Match[str]]:
    with _open(path, member) as stream:
        for n, line in enumerate(text_lines(stream)):
            if limit is not None and n >= limit:
                return
            match = _header(line)
            if match:
                yield match


def check(paths: list[str], ctx: ImportContext) -> None:
    for path in paths:
        file, member = _locate(path)
        if next(_headers(file, member, limit=50), None) is None:
            raise FormatMismatch(f"not a WhatsApp export: no line of the first 50 in {file}"
                                 f"{':' + member if member else ''} starts with a date and time "
                                 "('31/12/2023, 23:59 - Name: text' or '[31/12/2023, 23:59:59] Name: text')")


def detect_order(matches: Iterator[re.Match[str]]) -> _Order:
    """Day-first, month-first or year-first, decided from the dates of one file."""
    previous: dict[str, tuple[int, int, int] | None] = {"dmy": None, "mdy": None}
    backwards = {"dmy": 0, "mdy": 0}
    for n, match in enumerate(matches, 1):
        a, b, c = int(match["a"]), int(match["b"]), int(match["c"])
        if len(match["a"]) == 4:
            return _Order(day=2, month=1, year=0, why="dates are written year first")
        if a > 12:
            return _Order(day=0, month=1, year=2, why=f"dates read day-first (a first part above 12 on header {n})")
        if b > 12:
            return _Order(day=1, month=0, year=2, why=f"dates read month-first (a second part above 12 on header {n})")
        for key, (day, month) in (("dmy", (a, b)), ("mdy", (b, a))):
            stamp = (c, month, day)
            if previous[key] is not None and stamp < previous[key]:
                backwards[key] += 1
            previous[key] = stamp
    if backwards["mdy"] < backwards["dmy"]:
        return _Order(day=1, month=0, year=2, why="dates read month-first (only that order keeps them in time order)")
    if backwards["dmy"] < backwards["mdy"]:
        return _Order(day=0, month=1, year=2, why="dates read day-first (only that order keeps them in time order)")
    return _Order(day=0, month=1, year=2, why="dates fit both day-first and month-first; read day-first "
                                              "(say --tz and check a known date if in doubt)")


def read(paths: list[str], ctx: ImportContext) -> Iterator[ev.Event]:
    for path in paths:
        file, member = _locate(path)
        order = detect_order(_headers(file, member))
        label = f"{file}:{member}" if member else file
        ctx.report.note(f"{os.path.basename(label)}: {order.why}")
        name = ctx.options.group or _chat_name(file, member)
        chat = f"{PLATFORM}:{name}"
        ctx.name_chat(chat, name)
        reader = _ChatReader(chat, name, order, ctx, label)
        with _open(file, member, ctx.progress) as stream:
            yield from reader.read(text_lines(stream))


class _ChatReader:
    def __init__(self, chat: str, name: str, order: _Order, ctx: ImportContext, label: str) -> None:
        self.chat = chat
        self.name = name
        self.order = order
        self.ctx = ctx
        self.label = label
        self.tz = ctx.options.tz
        self.ranks = Occurrences()
        self.subject = _chat_name_only(label)

    def read(self, lines: Iterator[str]) -> Iterator[ev.Event]:
        current: tuple[int, re.Match[str], list[str]] | None = None
        for number, line in enumerate(lines, 1):
            match = _header(line)
            if match is None:
                if current is not None:
                    current[2].append(line)
                elif line.strip():
                    self.ctx.report.skip(f"{self.label}:{number}", "text before the first dated line")
                continue
            if current is not None:
                yield from self._entry(*current)
            current = (number, match, [])
        if current is not None:
            yield from self._entry(*current)

    def _when(self, match: re.Match[str]) -> datetime:
        parts = (int(match["a"]), int(match["b"]), int(match["c"]))
        year = parts[self.order.year]
        if year < 100:
            year += 2000
        hour = int(match["h"])
        ampm = match["ampm"]
        if ampm:
            pm = ampm.strip().lower().startswith("p")
            if hour == 12:
                hour = 0
            if pm:
                hour += 12
        return datetime(year, parts[self.order.month], parts[self.order.day], hour, int(match["m"]),
                         int(match["s"] or 0))

    def person(self, name: str) -> ev.Account:
        name = _clean(name).strip()
        if _PHONE.match(name):
            digits = re.sub(r"\D", "", name)
            return self.ctx.account(f"{PLATFORM}:+{digits}", name)
        return self.ctx.account(f"{PLATFORM}:{self.name}/{name}", name)

    def _entry(self, number: int, match: re.Match[str], more: list[str]) -> Iterator[ev.Event]:
        location = f"{self.label}:{number}"
        try:
            local = self._when(match)
        except ValueError as exc:
            self.ctx.report.skip(location, f"not a real date and time ({exc})")
            return
        at = self.ctx.local(local)
        rest = match["rest"]
        author, sep, text = rest.partition(": ")
        author_clean = _clean(author).strip()
        body = "\n".join([text, *more]) if more else text
        # A system line has no "Name: " (Android; unless the colon is inside the notice, as in a
        # new subject), or its text starts with an invisible mark and reads like one (iOS, where
        # the group itself is the "author").
        system_text = None
        if not sep or not author_clean or _NOTICES.search(author):
            system_text = _clean(rest).strip()
        elif body.startswith(("\u200e", "\u200f")) and (
                _is_system(_clean(body).strip()) or author_clean == self.subject):
            # iOS writes system lines as said by the group itself, text behind a mark.
            system_text = _clean(body).strip()
        stamp = local.isoformat()
        if system_text is not None:
            yield from self._system(system_text, stamp, at, location)
            return
        body = body.lstrip("\u200e\u200f")
        key = stable_id(author_clean, body)
        rank = self.ranks.rank(stamp, key)
        yield ev.MessagePosted(
            chat=self.chat, event_id=f"{stamp}/{key}/{rank}", at=at, source_tz=self.tz,
            author=self.person(author_clean), text=body, kind=_kind(_clean(body).strip()),
            raw={"line": number, "text": rest} if self.ctx.keep_raw else None,
        )

    def _system(self, text: str, stamp: str, at: datetime, location: str) -> Iterator[ev.Event]:
        key = stable_id("system", text)
        rank = self.ranks.rank(stamp, key)
        base = f"{stamp}/{key}/{rank}"
        common = {"chat": self.chat, "at": at, "source_tz": self.tz}
        for rule, pattern in _SYSTEM_RULES:
            match = pattern.match(text)
            if match is None:
                continue
            if rule in ("added", "removed") and _NOTICES.search(text):
                break
            groups = match.groupdict()
            if rule == "created":
                yield ev.MemberJoined(event_id=base, member=self.person(groups["who"]), via=ev.JoinMethod.CREATOR,
                                      **common)
            elif rule == "added":
                inviter = self.person(groups["who"])
                for i, name in enumerate(_names(groups["whom"])):
                    yield ev.MemberJoined(event_id=f"{base}/{i}", member=self.person(name), via=ev.JoinMethod.INVITED,
                                          inviter=inviter, **common)
            elif rule == "link":
                yield ev.MemberJoined(event_id=base, member=self.person(groups["who"]),
                                      via=ev.JoinMethod.INVITE_LINK, **common)
            elif rule == "joined":
                yield ev.MemberJoined(event_id=base, member=self.person(groups["who"]), **common)
            elif rule == "left":
                yield ev.MemberLeft(event_id=base, member=self.person(groups["who"]), reason=ev.LeaveReason.LEFT,
                                    **common)
            elif rule == "removed":
                remover = self.person(groups["who"])
                for i, name in enumerate(_names(groups["whom"])):
                    yield ev.MemberLeft(event_id=f"{base}/{i}", member=self.person(name),
                                        reason=ev.LeaveReason.REMOVED, by=remover, **common)
            elif rule == "were_removed":
                yield ev.MemberLeft(event_id=base, member=self.person("You"), reason=ev.LeaveReason.REMOVED, **common)
            return
        self.ctx.report.ignore("system lines that are not joins or leaves (notices, subject and icon changes…)")


def _is_system(text: str) -> bool:
    return any(p.match(text) for _r, p in _SYSTEM_RULES) or bool(_NOTICES.search(text))


def _names(listing: str) -> list[str]:
    """"Bob, Cat and Dan" → ["Bob", "Cat", "Dan"]."""
    listing = _clean(listing).strip()
    head, sep, last = listing.rpartition(" and ")
    items = (head.split(", ") + [last]) if sep else listing.split(", ")
    return [i.strip() for i in items if i.strip()]


def _kind(text: str) -> ev.MessageKind:
    lowered = text.lower()
    if lowered in _MEDIA_WORDS:
        return _MEDIA_WORDS[lowered]
    attached = _ATTACHED.match(text)
    if attached:
        name = (attached["file"] or attached["file2"] or "").lower()
        for kind, extensions in _EXTENSIONS.items():
            if name.endswith(extensions):
                return kind
        if "sticker" in name or name.endswith(".webp"):
            return ev.MessageKind.STICKER
        return ev.MessageKind.FILE
    if text.startswith(("http://", "https://")) and " " not in text:
        return ev.MessageKind.LINK
    return ev.MessageKind.TEXT


FORMAT = ImportFormat(name="whatsapp", title="WhatsApp chat export (.txt or .zip; Android and iOS)",
                      check=check, read=read)

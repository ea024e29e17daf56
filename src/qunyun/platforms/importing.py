"""What every history importer shares: the format registry, the import context, skip reporting.

An importer is a module ``qunyun.platforms.<platform>.importer`` exposing ``FORMAT``, an
:class:`ImportFormat`. Its ``read(paths, ctx)`` is a generator of normalized events
(:mod:`qunyun.core.events`) that streams its input: memory stays flat however long the export.
It may also yield lists of events, in order (a fast importer converting a chunk of records at a
time saves a generator step per event).

* A file that is not in the format raises :class:`FormatMismatch` from ``check`` before anything
  is stored ("not a Telegram Desktop export: no 'messages' list").
* A malformed record is reported with :meth:`ImportReport.skip` (where and why) and the import
  goes on; in strict mode the first skip raises :class:`StrictFailure` instead.
* Records that are understood but deliberately not imported (a Slack thread-parent update, a
  WhatsApp encryption notice) are counted with :meth:`ImportReport.ignore`.

This module is pure: no Django. :mod:`.runner` feeds the events to the store.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC, zone

#: Import formats by the name used on the command line, and the module that implements each.
FORMAT_MODULES: dict[str, str] = {
    "telegram": "qunyun.platforms.telegram.importer",
    "discord": "qunyun.platforms.discord.importer",
    "slack": "qunyun.platforms.slack.importer",
    "whatsapp": "qunyun.platforms.whatsapp.importer",
    "wechat": "qunyun.platforms.wechat.importer",
    "irc": "qunyun.platforms.irc.importer",
    "chatlab": "qunyun.platforms.chatlab.importer",
    "jsonl": "qunyun.platforms.jsonl.importer",
}


class FormatMismatch(Exception):
    """The input is not in the format asked for; the message says why, naming the file."""


class InputProblem(Exception):
    """The input cannot be used at all (missing, unreadable, options that do not fit it)."""


@dataclass(frozen=True, slots=True)
class Skip:
    """One record left out: where it is (file and line, or a JSON path) and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


class StrictFailure(Exception):
    """Strict mode met a record it would have skipped."""

    def __init__(self, skip: Skip) -> None:
        super().__init__(str(skip))
        self.skip = skip


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """An import format: its command-line name, what it reads, and its two entry points.

    ``check(paths, ctx)`` looks at the head of every input and raises :class:`FormatMismatch`
    when one is not of this format; ``read(paths, ctx)`` yields the events.
    """

    name: str
    title: str
    check: Callable[[list[str], "ImportContext"], None]
    read: Callable[[list[str], "ImportContext"], Iterator[ev.Event | list[ev.Event]]]


def format_get(name: str) -> ImportFormat:
    """The import format called ``name`` (its module is imported on first use)."""
    try:
        module = FORMAT_MODULES[name]
    except KeyError:
        raise InputProblem(f"unknown format {name!r} (one of: {', '.join(FORMAT_MODULES)})") from None
    return importlib.import_module(module).FORMAT


class ImportReport:
    """Skips (malformed records), ignored records (by design) and notes, collected as we go."""

    MAX_LISTED = 1000  # skips kept with their location; every skip is still counted by reason

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.skips: list[Skip] = []
        self.skipped = 0
        self.skipped_by_reason: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.notes: list[str] = []

    def skip(self, location: str, reason: str) -> None:
        """Leave a malformed record out (or fail, in strict mode)."""
        item = Skip(location, reason)
        if self.strict:
            raise StrictFailure(item)
        self.skipped += 1
        self.skipped_by_reason[reason] += 1
        if len(self.skips) < self.MAX_LISTED:
            self.skips.append(item)

    def ignore(self, what: str, count: int = 1) -> None:
        """Count a record that is understood and deliberately not imported."""
        self.ignored[what] += count

    def note(self, text: str) -> None:
        """Something the operator should know about how the input was read."""
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class ImportOptions:
    """What the operator asked for. ``tz`` is the zone naive local times are read in."""

    tz: str = "UTC"
    group: str | None = None  # the group name (and, for formats without chat ids, its id)
    day: date | None = None  # the date of IRC logs whose file names carry none
    bots: frozenset[str] = frozenset()  # names or ids (any case) to flag as bots
    keep_raw: bool = False  # keep each record's platform payload in the event log


@dataclass
class ByteProgress:
    """Bytes read so far out of ``total``: the progress bar reads it, input streams add to it."""

    total: int = 0
    done: int = 0


class ImportContext:
    """Given to an importer: the options, the report, group names and small shared helpers."""

    def __init__(self, options: ImportOptions | None = None, *, report: ImportReport | None = None,
                 group_names: dict[str, str] | None = None) -> None:
        self.options = options or ImportOptions()
        self.report = report or ImportReport()
        self.group_names: dict[str, str] = {} if group_names is None else group_names
        self.progress = ByteProgress()
        self.zone = zone(self.options.tz)
        self.naive_times = 0  # events whose time was local wall-clock time read in options.tz
        self.chats: set[str] = set()
        self._bots = frozenset(b.casefold() for b in self.options.bots)
        self._accounts: dict[tuple[str, str | None, bool], ev.Account] = {}

    @property
    def keep_raw(self) -> bool:
        return self.options.keep_raw

    def account(self, account_id: str, name: str | None = None, *, is_bot: bool = False) -> ev.Account:
        """The account for ``account_id``; flagged a bot when the platform says so or --bot names it."""
        key = (account_id, name, is_bot)
        found = self._accounts.get(key)
        if found is not None:
            return found
        bots = self._bots
        if not is_bot and bots:
            local = account_id.partition(":")[2]
            is_bot = (account_id.casefold() in bots or local.casefold() in bots
                      or local.rpartition("/")[2].casefold() in bots
                      or (name is not None and name.casefold() in bots))
        found = ev.Account.make(account_id, name or None, is_bot)
        if len(self._accounts) > 200_000:  # a cache, not a registry: keep memory bounded
            self._accounts.clear()
        self._accounts[key] = found
        return found

    def name_chat(self, chat: str, name: str | None) -> None:
        """Record the display name of a chat (``--group`` wins) before its first event."""
        self.chats.add(chat)
        chosen = self.options.group or name
        if chosen and chat not in self.group_names:
            self.group_names[chat] = chosen

    def local(self, naive: datetime) -> datetime:
        """A naive wall-clock time from the export, read in the chosen zone, as UTC."""
        self.naive_times += 1
        return naive.replace(tzinfo=self.zone).astimezone(UTC)


def stable_id(*parts: Any) -> str:
    """A short id that is the same for the same parts in every run (for formats without ids)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass"),
                             digest_size=8)
    return digest.hexdigest()


class Occurrences:
    """Numbers identical records within one time stamp: the 1st, 2nd… "ok" sent in one minute.

    Exports without message ids name a message by its time, author and text; two identical
    messages in the same stamp are told apart by their rank. Only the current stamp is kept, so
    memory stays flat (exports are in time order; see docs/import.md for the one consequence).
    """

    __slots__ = ("_stamp", "_seen")

    def __init__(self) -> None:
        self._stamp: Any = None
        self._seen: dict[Any, int] = {}

    def rank(self, stamp: Any, key: Any) -> int:
        if stamp != self._stamp:
            self._stamp = stamp
            self._seen = {}
        rank = self._seen.get(key, 0)
        self._seen[key] = rank + 1
        return rank


@dataclass
class NameBook:
    """Display names → account ids, learned while reading, for records that name people only.

    Telegram service messages and WeChat system lines name the members added or removed, not
    their ids. Events whose names are not known yet wait in ``pending`` and are resolved at the
    end of the chat; names never seen with an id get ``fallback(name)``.
    """

    fallback: Callable[[str], str]
    ids_by_name: dict[str, str] = field(default_factory=dict)
    pending: list[Callable[["NameBook"], Iterator[ev.Event]]] = field(default_factory=list)

    def learn(self, name: str | None, account_id: str) -> None:
        if name:
            self.ids_by_name[name] = account_id  # the latest holder of a name wins

    def knows(self, names: list[str]) -> bool:
        return all(n in self.ids_by_name for n in names)

    def id_for(self, name: str) -> str:
        return self.ids_by_name.get(name) or self.fallback(name)

    def later(self, build: Callable[["NameBook"], Iterator[ev.Event]]) -> None:
        self.pending.append(build)

    def flush(self) -> Iterator[ev.Event]:
        pending, self.pending = self.pending, []
        for build in pending:
            yield from build(self)

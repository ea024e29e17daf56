"""Running an import: an importer's events through the runtime's store, with progress and a summary.

The events go through :class:`qunyun.bus.runtime.Runtime` in ``import`` mode: the same store
path as live events (idempotent by event key, members and rollups maintained), one transaction
per batch. So an interrupted import leaves only whole batches behind, and running it again
stores just what is missing.

``--strict`` wraps the whole import in one transaction (the batches become savepoints inside
it): the first record that would be skipped rolls everything back, so nothing is written. The
cost is one long write transaction, which on SQLite holds the write lock for the import's
duration; the default mode commits batch by batch instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from qunyun.core import events as ev

from .importing import (ImportContext, ImportFormat, ImportOptions, ImportReport, InputProblem, StrictFailure,
                        format_get)
from .inputs import input_size

#: Events per transaction of an import. 10,000 measured ~10 % less CPU than 5,000 on a 100k-message
#: import (the store's per-batch work spreads over more rows). 50,000 saved ~10 % again but took
#: 50 MB more and holds SQLite's write lock five times as long per transaction (a live bot writing
#: to the same database waits that long), so bigger batches stay an explicit choice (--batch-size).
BATCH_SIZE = 10_000


@dataclass
class ImportSummary:
    """What an import read and stored; :meth:`lines` is what the command prints."""

    format: str
    paths: list[str]
    tz: str
    community_tz: str = "UTC"
    dry_run: bool = False
    strict: bool = False
    parsed: Counter = field(default_factory=Counter)  # event type -> events read
    system_messages: int = 0
    bot_messages: int = 0
    people: set = field(default_factory=set)
    bots: set = field(default_factory=set)
    chats: set = field(default_factory=set)
    stored: Counter = field(default_factory=Counter)  # event type -> new events stored
    duplicates: int = 0
    new_members: int = 0
    naive_times: int = 0
    seconds: float = 0.0
    report: ImportReport = field(default_factory=ImportReport)
    failure: StrictFailure | None = None
    interrupted: bool = False
    bulk: bool = False  # loaded in bulk (qunyun.bus.bulk): rollups rebuilt and indexes created at the end

    @property
    def messages(self) -> int:
        return self.parsed["message"]

    def lines(self) -> list[str]:
        mode = " (dry run: nothing written)" if self.dry_run else ""
        shown = ", ".join(self.paths) if len(self.paths) <= 3 else f"{self.paths[0]} and {len(self.paths) - 1} more"
        out = [f"import {self.format}{mode}: {shown}"]
        p, s = self.parsed, self.stored
        new = (lambda key: "") if self.dry_run else (lambda key: f", {s[key]:,} new")
        extra = []
        if self.bot_messages:
            extra.append(f"{self.bot_messages:,} by bots")
        if self.system_messages:
            extra.append(f"{self.system_messages:,} system")
        out.append(f"  messages:  {p['message']:,}{new('message')}" + (f" ({', '.join(extra)})" if extra else ""))
        members = f"  members:   {len(self.people):,} seen"
        if not self.dry_run:
            members += f", {self.new_members:,} new to the community"
        if self.bots:
            members += f" (and {len(self.bots):,} bots, not counted as members)"
        out.append(members)
        out.append(f"  joins:     {p['join']:,}{new('join')}")
        out.append(f"  leaves:    {p['leave']:,}{new('leave')}")
        others = [f"{p[k]:,} {label}" for k, label in (("reaction", "reactions"), ("edit", "edits"),
                                                        ("delete", "deletions"), ("rename", "renames"))
                  if p[k]]
        if others:
            out.append("  also:      " + ", ".join(others))
        out.append(f"  groups:    {len(self.chats):,}")
        if not self.dry_run:
            out.append(f"  already stored before (skipped as duplicates): {self.duplicates:,}")
        if self.naive_times:
            out.append(f"  time zone: the export's local times were read as {self.tz} "
                       f"({self.naive_times:,} records); everything is stored in UTC")
        else:
            out.append("  time zone: the export carries absolute times (UTC offsets or Unix times); "
                       "stored in UTC")
        out.append(f"             days are counted in the community's zone, {self.community_tz}")
        for note in self.report.notes:
            out.append(f"  note: {note}")
        report = self.report
        if report.ignored:
            out.append("  not imported, by design:")
            for what, count in report.ignored.most_common():
                out.append(f"    {count:,} {what}")
        out.append(f"  skipped:   {report.skipped:,} malformed records")
        if report.skipped:
            for reason, count in report.skipped_by_reason.most_common(10):
                out.append(f"    {count:,} × {reason}")
            for item in report.skips[:20]:
                out.append(f"    at {item}")
            if report.skipped > 20:
                out.append(f"    … {report.skipped - 20:,} more")
        rate = p["message"] / self.seconds if self.seconds > 0 else 0.0
        out.append(f"  time:      {self.seconds:.1f} s ({rate:,.0f} messages/s)")
        if self.bulk:
            out.append("  loaded in bulk: the event log's indexes and the rollups were built once, at the end")
        if self.interrupted and (self.strict or self.dry_run):
            out.append("  INTERRUPTED: nothing was written")
        elif self.interrupted:
            out.append("  INTERRUPTED: the batches stored so far are complete; run the same command again "
                       "to import the rest (what is stored already is skipped)")
        if self.failure is not None:
            out.append(f"  FAILED (--strict): {self.failure.skip}; nothing was written")
        return out


class _Tally:
    """Counts what passes from the importer to the store, and moves the progress bar."""

    def __init__(self, summary: ImportSummary, ctx: ImportContext, bar) -> None:
        self.summary = summary
        self.ctx = ctx
        self.bar = bar

    def watch(self, events: Iterable[ev.Event | list[ev.Event]]) -> Iterator[ev.Event | list[ev.Event]]:
        """Count what passes, as it passes (events, or lists of events, as the importer gives them)."""
        summary = self.summary
        parsed = summary.parsed
        people, bots = summary.people, summary.bots
        message_type = ev.MessagePosted
        system = ev.MessageKind.SYSTEM
        bar, progress = self.bar, self.ctx.progress
        # Messages are most events: they are counted in locals (written back at the end, also
        # when the import stops early), with the author's id added only when it changes.
        messages = bot_messages = system_messages = n = 0
        shown = 0
        author = None
        try:
            for item in events:
                for event in (item if item.__class__ is list else (item,)):
                    if event.__class__ is message_type:
                        messages += 1
                        if event.author is not author:
                            author = event.author
                            (bots if author.is_bot else people).add(author.id)
                        if author.is_bot:
                            bot_messages += 1
                        if event.kind is system:
                            system_messages += 1
                        continue
                    etype = event.type
                    parsed[etype] += 1
                    subject = event.subject
                    if subject is not None:
                        (bots if subject.is_bot else people).add(subject.id)
                    if etype == "join" or etype == "leave":  # the inviter or remover is a person too
                        other = event.inviter if etype == "join" else event.by
                        if other is not None:
                            (bots if other.is_bot else people).add(other.id)
                n += len(item) if item.__class__ is list else 1
                if bar is not None and n - shown >= 4096:
                    shown = n
                    bar.n = progress.done
                    bar.set_postfix_str(f"{parsed['message'] + messages:,} messages", refresh=False)
                    bar.refresh()
                yield item
        finally:
            parsed["message"] += messages
            summary.bot_messages += bot_messages
            summary.system_messages += system_messages


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total or None, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                dynamic_ncols=True, desc="importing", mininterval=0.5)


def import_run(*, community, format_name: str, paths: list[str], options: ImportOptions,
               dry_run: bool = False, strict: bool = False, batch_size: int = BATCH_SIZE,
               progress: bool | None = None, bulk: bool | None = None) -> ImportSummary:
    """Import ``paths`` in format ``format_name`` into ``community``; returns the summary.

    Raises :class:`~.importing.FormatMismatch` / :class:`~.importing.InputProblem` before
    anything is written when an input is not of the format or cannot be read.
    ``progress=None`` shows a bar only when stderr is a terminal. ``bulk=None`` loads a large
    import into SQLite in bulk (:mod:`qunyun.bus.bulk`) when it is large next to what the
    community holds; ``True`` whenever possible (not with ``strict``), ``False`` never.
    """
    fmt: ImportFormat = format_get(format_name)
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InputProblem("give at least one file to import")
    summary = ImportSummary(format=fmt.name, paths=paths, tz=options.tz, community_tz=community.time_zone,
                            dry_run=dry_run, strict=strict, report=ImportReport(strict=strict))
    runtime = None
    group_names: dict[str, str] = {}
    if not dry_run:
        from qunyun.bus.runtime import Runtime

        runtime = Runtime(community, mode="import", keep_raw=options.keep_raw)
        runtime.store.lean = True  # the import counts what was stored; no handlers need the details
        group_names = runtime.store.group_names
    ctx = ImportContext(options, report=summary.report, group_names=group_names)
    fmt.check(paths, ctx)  # every input recognised before anything is written
    ctx.progress.total = sum(input_size(p) for p in paths)
    bar = _progress_bar(ctx.progress.total, sys.stderr.isatty() if progress is None else progress)
    tally = _Tally(summary, ctx, bar)
    events = tally.watch(fmt.read(paths, ctx))
    started = time.perf_counter()
    try:
        with _few_collections():
            if runtime is None:
                for _event in events:
                    pass
            else:
                _store(runtime, events, summary, ctx, strict=strict, batch_size=batch_size, bulk=bulk, bar=bar)
    except StrictFailure as failure:
        summary.failure = failure
        summary.stored.clear()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        events.close()  # the tally writes its counts back when it ends
        summary.seconds = time.perf_counter() - started
        summary.naive_times = ctx.naive_times
        summary.chats = set(ctx.chats)
        if bar is not None:
            bar.n = ctx.progress.done if summary.interrupted else max(ctx.progress.done, ctx.progress.total)
            bar.close()
    return summary


@contextlib.contextmanager
def _few_collections(young: int = 100_000):
    """Let the cyclic garbage collector run less often during an import.

    A batch's events live until the batch is stored, so with the default threshold (700 new
    objects) every one of them is traversed by young collections and then by full ones, which
    also walk every long-lived object (Django, caches): measured, 12% of a 100k-message import's
    CPU time. Collections still happen, every ``young`` net new objects, so cyclic garbage stays
    bounded; the threshold is restored afterwards.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], young), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _store(runtime, events: Iterable[ev.Event | list[ev.Event]], summary: ImportSummary, ctx: ImportContext, *,
           strict: bool, batch_size: int, bulk: bool | None = None, bar=None) -> None:
    from django.db import transaction

    from qunyun.bus.bulk import BYTES_PER_EVENT, bulk_load, bulk_wanted
    from qunyun.communities.models import Group, Member

    community = runtime.community
    members_before = Member.objects.filter(community=community, is_bot=False).count()

    def run() -> None:
        batch: list[ev.Event] = []
        for item in events:
            if item.__class__ is list:
                batch += item
            else:
                batch.append(item)
            while len(batch) >= batch_size:
                _account(summary, runtime.ingest_batch(batch[:batch_size]))
                batch = batch[batch_size:]
        if batch:
            _account(summary, runtime.ingest_batch(batch))
        _name_groups(Group, community, ctx)

    if bulk is None:
        bulk = not strict and bulk_wanted(community, ctx.progress.total // BYTES_PER_EVENT)
    try:
        if strict:
            with transaction.atomic():
                run()
        elif bulk:
            def finishing() -> None:
                if bar is not None:
                    bar.set_description_str("building indexes and rollups", refresh=True)

            with bulk_load(runtime.store, finishing=finishing) as summary.bulk:
                run()
        else:
            run()
    except BaseException:
        runtime.store.forget()  # caches may name rows of a rolled-back transaction
        raise
    finally:
        if summary.failure is None:
            summary.new_members = Member.objects.filter(community=community, is_bot=False).count() - members_before


def _account(summary: ImportSummary, result) -> None:
    summary.duplicates += result.duplicates
    for key, value in result.by_type.items():
        summary.stored[key] += value


def _name_groups(Group, community, ctx: ImportContext) -> None:
    """Give groups the names the export knows, where they still carry their id as a name."""
    for chat, name in ctx.group_names.items():
        query = Group.objects.filter(community=community, chat_id=chat)
        if ctx.options.group:
            query.exclude(name=name).update(name=name[:200])
        else:
            query.filter(name=chat).update(name=name[:200])

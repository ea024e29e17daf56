"""``qunyun import FORMAT PATH…`` (chat history into a community) and ``qunyun export`` (JSONL)."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from .errors import UserError

FORMATS = ["telegram", "discord", "slack", "whatsapp", "wechat", "irc", "chatlab", "jsonl"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import", help="import chat history (Telegram, Discord, Slack, WhatsApp, WeChat, IRC, ChatLab, JSONL)",
        description="Import a chat history export into a community. Importing the same export twice, or "
                    "overlapping exports of one chat, stores every event once. See docs/import.md.",
    )
    p.add_argument("format", choices=FORMATS, metavar="FORMAT", help="one of: " + ", ".join(FORMATS))
    p.add_argument("paths", nargs="+", metavar="PATH", help="export file(s), folder(s) or zip archive(s)")
    p.add_argument("--community", required=True, metavar="SLUG", help="the community to import into")
    p.add_argument("--group", metavar="NAME",
                   help="name of the group the history belongs to (formats without chat ids — WhatsApp, "
                        "IRC — also take the group's id from it, so several files land in one group)")
    p.add_argument("--tz", metavar="ZONE",
                   help="IANA zone the export's local times are in (default: the community's zone)")
    p.add_argument("--date", metavar="YYYY-MM-DD", type=_day,
                   help="IRC: the day of logs whose file names carry no date")
    p.add_argument("--bot", action="append", default=[], metavar="NAME",
                   help="flag this name or id as a bot (repeatable; for exports that do not say who is one)")
    p.add_argument("--dry-run", action="store_true", help="read and report, write nothing")
    p.add_argument("--strict", action="store_true",
                   help="fail without writing anything if any record would be skipped")
    p.add_argument("--keep-raw", action="store_true",
                   help="keep each record's original payload in the event log (larger database)")
    # Default: qunyun.platforms.runner.BATCH_SIZE (why that many is written there).
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help=argparse.SUPPRESS)
    # Default: a large import into SQLite loads in bulk (docs/import.md "Large imports"); the
    # switch forces it either way (tests, and measuring one path against the other).
    p.add_argument("--bulk", action=argparse.BooleanOptionalAction, default=None, help=argparse.SUPPRESS)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only on a terminal)")
    p.set_defaults(func=cmd_import)

    e = sub.add_parser("export", help="export a community's event log (qunyun JSONL)",
                       description="Write every stored event of a community as qunyun JSONL (docs/import.md); "
                                   "`qunyun import jsonl` reads it back to the same counts.")
    e.add_argument("--community", required=True, metavar="SLUG")
    e.add_argument("--format", default="jsonl", choices=["jsonl"])
    e.add_argument("--output", "-o", metavar="FILE", help="file to write (default: standard output)")
    e.set_defaults(func=cmd_export)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def cmd_import(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.core.timeutil import InvalidTimeZone, zone
    from qunyun.platforms.importing import FormatMismatch, ImportOptions, InputProblem
    from qunyun.platforms.runner import BATCH_SIZE, import_run

    from .communities import get_community

    community = get_community(args.community)
    tz = args.tz or community.time_zone
    try:
        zone(tz)
    except InvalidTimeZone as exc:
        raise UserError(str(exc), exit_code=2) from exc
    if args.batch_size is not None and args.batch_size < 1:
        raise UserError("--batch-size must be at least 1", exit_code=2)
    options = ImportOptions(tz=tz, group=args.group, day=args.date, bots=frozenset(args.bot),
                            keep_raw=args.keep_raw)
    try:
        summary = import_run(community=community, format_name=args.format, paths=args.paths, options=options,
                             dry_run=args.dry_run, strict=args.strict,
                             batch_size=BATCH_SIZE if args.batch_size is None else args.batch_size,
                             progress=args.progress, bulk=args.bulk)
    except (FormatMismatch, InputProblem) as exc:
        raise UserError(str(exc), exit_code=2) from exc
    for line in summary.lines():
        print(line)
    if summary.failure is not None:
        raise UserError(f"--strict: {summary.failure.skip}; nothing was written", exit_code=1)
    if summary.interrupted:
        return 130
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.platforms.jsonl.exporter import export_jsonl

    from .communities import get_community

    community = get_community(args.community)
    if args.output:
        try:
            out = open(args.output, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    else:
        out = sys.stdout
    try:
        count = export_jsonl(community=community, out=out)
    finally:
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(f"exported {count:,} events of {community.slug} to {args.output}", file=sys.stderr)
    return 0

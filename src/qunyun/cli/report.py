"""``qunyun report`` (a community's figures as JSON, HTML or PDF) and ``qunyun analytics rebuild``.

    qunyun report --community tea --format json [--from 2026-01-01 --to 2026-01-31] [--group NAME]
    qunyun report --community tea --format pdf --output tea-january.pdf
    qunyun analytics rebuild --community tea

Dates are days in the community's time zone, both included; without them the report covers the
whole history. The figures are defined in docs/metrics.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import UserError

FORMATS = ("json", "html", "pdf")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="a community's figures as JSON, HTML or PDF (see docs/metrics.md)")
    p.add_argument("--community", required=True, metavar="SLUG")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.add_argument("--from", dest="start", metavar="DATE", help="first day, YYYY-MM-DD (community time zone)")
    p.add_argument("--to", dest="end", metavar="DATE", help="last day, YYYY-MM-DD (included)")
    p.add_argument("--group", action="append", metavar="NAME",
                   help="only this group (name, chat id or id); repeat for several")
    p.add_argument("--channel", metavar="CODE", help="only members acquired through this channel")
    p.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output (required for pdf)")
    p.set_defaults(func=cmd_report)

    a = sub.add_parser("analytics", help="analytics maintenance")
    asub = a.add_subparsers(dest="analytics_command", metavar="ACTION")
    r = asub.add_parser("rebuild", help="recompute every rollup of a community from its event log")
    r.add_argument("--community", required=True, metavar="SLUG")
    r.set_defaults(func=cmd_rebuild)
    a.set_defaults(func=lambda args: (a.print_help(), 2)[1])


def _write(data: bytes, output: str | None) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    path = Path(output)
    try:
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # never a half-written report
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from exc


def cmd_report(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.analytics.report import PdfError, report_build, report_html, report_pdf
    from qunyun.analytics.scope import AnalyticsError, scope_build

    from .communities import get_community

    if args.format == "pdf" and not args.output:
        raise UserError("--format pdf needs --output FILE", exit_code=2)
    community = get_community(args.community)
    try:
        scope = scope_build(community=community, start=args.start, end=args.end, groups=args.group,
                            channel=args.channel, default="all")
    except AnalyticsError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    report = report_build(scope)
    if args.format == "json":
        _write((json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), args.output)
        return 0
    html = report_html(report, community=community)
    if args.format == "html":
        _write(html.encode("utf-8"), args.output)
        return 0
    out = Path(args.output)
    tmp = out.with_name(out.name + ".part")
    try:
        report_pdf(html, tmp)
        tmp.replace(out)
    except PdfError as exc:
        raise UserError(str(exc)) from exc
    except OSError as exc:
        raise UserError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    print(f"report written to {out}", file=sys.stderr)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.analytics.rollups import rollups_rebuild

    from .communities import get_community

    community = get_community(args.community)
    timings = rollups_rebuild(community)
    print(f"rollups of {community.slug} rebuilt in {sum(timings.values()):.1f} s")
    return 0

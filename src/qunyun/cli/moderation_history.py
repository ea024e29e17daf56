"""``qunyun moderation history --community SLUG [--limit N] [--record]`` and
``qunyun moderation examples --community SLUG --out FILE``.

Runs the community's moderation policy over its imported history in shadow mode and lists the
worst offenders. Nothing is sent and no penalty is created; ``--record`` also stores the
would-be cases as shadow cases for review in the console.

The ``moderation`` command itself is created by :mod:`qunyun.cli.moderation`; this module adds
its ``history`` subcommand through :func:`register_history` (called from there), or, listed in
``COMMAND_MODULES`` after it, through :func:`register`, which finds the existing parser.
"""

from __future__ import annotations

import argparse

from .errors import UserError


def register_history(moderation_subparsers: argparse._SubParsersAction) -> None:
    """Add ``history`` to the ``moderation`` subcommands (idempotent)."""
    if "history" in moderation_subparsers.choices:
        return
    p = moderation_subparsers.add_parser(
        "history", help="run the policy over imported history in shadow mode and list the worst offenders")
    p.add_argument("--community", required=True, metavar="SLUG", help="the community whose history to scan")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many offenders to list (default 20)")
    p.add_argument("--record", action="store_true",
                   help="also store the would-be cases as shadow cases (reviewable in the console)")
    p.set_defaults(func=cmd_history)
    if "examples" not in moderation_subparsers.choices:
        e = moderation_subparsers.add_parser(
            "examples", help="export the moderators' decisions as labelled JSONL (input of `moderation train`)")
        e.add_argument("--community", required=True, metavar="SLUG")
        e.add_argument("--out", required=True, metavar="FILE", help='JSONL file to write ({"text", "label"} lines)')
        e.set_defaults(func=cmd_examples)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Attach ``history`` to an already registered ``moderation`` command, if there is one."""
    parent = subparsers.choices.get("moderation")
    if parent is None or parent._subparsers is None:
        return
    for action in parent._subparsers._group_actions:
        if isinstance(action, argparse._SubParsersAction):
            register_history(action)
            return


def cmd_examples(args: argparse.Namespace) -> int:
    """Write the community's moderator-labelled examples for ``qunyun moderation train``."""
    from .bootstrap import django_ready
    from .communities import get_community

    django_ready()
    from qunyun.moderation.services import training_examples_export

    community = get_community(args.community)
    try:
        with open(args.out, "w", encoding="utf-8") as out:
            n = training_examples_export(community=community, out=out)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"{n} labelled example(s) of {community.slug} written to {args.out}")
    return 0


def _excerpt(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_history(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready
    from .communities import get_community

    if args.limit < 1:
        raise UserError("--limit must be at least 1", exit_code=2)
    django_ready()
    from qunyun.moderation.history import history_scan

    community = get_community(args.community)
    report = history_scan(community=community, limit=args.limit, record=args.record)
    if not report.messages:
        print(f"{community.slug}: no messages in the event log yet (import history first: qunyun import …)")
        return 0
    span = f"{report.first_at:%Y-%m-%d} … {report.last_at:%Y-%m-%d}"
    print(f"Shadow run of the moderation policy of {community.slug} over {report.messages:,} messages ({span}).")
    print("Nothing was sent and no penalty was given." + (
        f" {report.recorded:,} would-be cases stored as shadow cases." if args.record else ""))
    print(f"Would-be cases: {report.cases:,}" + (
        " (" + ", ".join(f"{k} {v:,}" for k, v in report.by_action.most_common()) + ")" if report.cases else ""))
    if not report.offenders:
        print("No offenders.")
        return 0
    print()
    rows = [("#", "member", "cases", "worst step", "categories", "example evidence")]
    for rank, off in enumerate(report.offenders, 1):
        cats = ", ".join(f"{c}×{n}" for c, n in off.categories.most_common(3))
        rows.append((str(rank), _excerpt(f"{off.name} (member {off.member_id})", 32), str(off.cases),
                     off.worst.value if off.worst else "-", cats, _excerpt(off.example)))
    widths = [max(_width(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(_pad(r[i], widths[i]) for i in range(5)) + "  " + r[5])
    return 0


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))

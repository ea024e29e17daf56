"""Entry point of the ``qunyun`` command.

Each area of the product adds its subcommands from its own module, listed in
:data:`COMMAND_MODULES`; a module exposes ``register(subparsers)`` and sets ``func`` on each
parser it adds (``func(args) -> int``). Errors a user can cause are raised as
:class:`~qunyun.cli.errors.UserError` and printed as a single line; a traceback is shown only
for real bugs, and then with ``QUNYUN_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from qunyun.core.errors import InvalidInput

from .errors import UserError

COMMAND_MODULES = [
    "qunyun.cli.system",
    "qunyun.cli.communities",
    "qunyun.cli.demo",
    "qunyun.cli.connect",
    "qunyun.cli.onboarding",
    "qunyun.cli.moderation",
    "qunyun.cli.moderation_history",  # after qunyun.cli.moderation: adds its "history" subcommand
    "qunyun.cli.importing",
    "qunyun.cli.report",
    "qunyun.api.cli",
    "qunyun.operators.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every area's subcommands."""
    parser = argparse.ArgumentParser(
        prog="qunyun",
        description="qunyun (群运): community operations for chat groups.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never message text)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by ``sys.exit``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"qunyun: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except InvalidInput as exc:  # a service refused the input: the message is for the user
        print(f"qunyun: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qunyun: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so in one line unless debugging
        if os.environ.get("QUNYUN_DEBUG"):
            raise
        print(
            f"qunyun: internal error: {type(exc).__name__}: {exc} "
            "(run again with QUNYUN_DEBUG=1 for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

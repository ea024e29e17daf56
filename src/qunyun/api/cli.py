"""``qunyun api-token create|list|revoke``: tokens for programs that use the REST API."""

from __future__ import annotations

import argparse

from qunyun.cli.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("api-token", help="tokens for the REST API (/api/docs)")
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION")
    c = tsub.add_parser("create", help="make a token acting as an operator (the secret is shown once)")
    c.add_argument("username", help="the operator the token acts as")
    c.add_argument("--name", default="api", help="what the token is for")
    c.set_defaults(func=cmd_create)
    ls = tsub.add_parser("list", help="list tokens (prefixes only)")
    ls.set_defaults(func=cmd_list)
    r = tsub.add_parser("revoke", help="revoke a token by its first characters")
    r.add_argument("prefix")
    r.set_defaults(func=cmd_revoke)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def cmd_create(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .services import TokenError, token_create

    try:
        token, raw = token_create(username=args.username, name=args.name)
    except TokenError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    print(raw)
    print(f"token {token.prefix}… for {args.username} created; send it as 'Authorization: Bearer <token>'. "
          "It is not shown again.", file=__import__("sys").stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .models import ApiToken

    for t in ApiToken.objects.select_related("user").order_by("created_at"):
        state = "revoked" if t.revoked_at else "active"
        print(f"{t.prefix}…\t{t.user.get_username()}\t{t.name}\t{state}\tlast used {t.last_used_at or 'never'}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .services import TokenError, token_revoke

    try:
        count = token_revoke(prefix=args.prefix)
    except TokenError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    if not count:
        raise UserError(f"no active token starts with {args.prefix!r}", exit_code=2)
    print(f"{count} token(s) revoked")
    return 0

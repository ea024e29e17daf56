"""``qunyun access grant|revoke|list``: which operator may see which community, with which role."""

from __future__ import annotations

import argparse

from qunyun.cli.errors import UserError

ROLES = ("owner", "admin", "moderator", "viewer")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("access", help="grant operators access to communities (superusers see all)")
    asub = p.add_subparsers(dest="access_command", metavar="ACTION")
    g = asub.add_parser("grant", help="give an operator a role in a community")
    g.add_argument("username")
    g.add_argument("community", help="community slug")
    g.add_argument("--role", choices=ROLES, default="viewer",
                   help="owner/admin: everything incl. the audit log; moderator: moderation; viewer: read (default)")
    g.set_defaults(func=cmd_grant)
    r = asub.add_parser("revoke", help="take an operator's access to a community away")
    r.add_argument("username")
    r.add_argument("community", help="community slug")
    r.set_defaults(func=cmd_revoke)
    ls = asub.add_parser("list", help="list who has access")
    ls.add_argument("--community", help="only this community")
    ls.set_defaults(func=cmd_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _resolve(args):
    from qunyun.cli.communities import get_community

    from .services import AccessError, operator_get

    community = get_community(args.community)
    try:
        user = operator_get(username=args.username)
    except AccessError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    return user, community


def cmd_grant(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .services import access_grant

    user, community = _resolve(args)
    access_grant(user=user, community=community, role=args.role)
    note = " (a superuser sees every community anyway)" if user.is_superuser else ""
    print(f"{user.get_username()} is now {args.role} of {community.slug}{note}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .services import access_revoke

    user, community = _resolve(args)
    if not access_revoke(user=user, community=community):
        raise UserError(f"{user.get_username()} had no access to {community.slug}", exit_code=1)
    print(f"{user.get_username()} no longer has access to {community.slug}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from qunyun.cli.bootstrap import django_ready

    django_ready()
    from .models import OperatorAccess

    rows = OperatorAccess.objects.select_related("user", "community").order_by("community__slug", "user__username")
    if args.community:
        from qunyun.cli.communities import get_community

        rows = rows.filter(community=get_community(args.community))
    for access in rows:
        print(f"{access.community.slug}\t{access.user.get_username()}\t{access.role}")
    return 0

"""``qunyun community create|list``."""

from __future__ import annotations

import argparse

from .errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("community", help="manage communities")
    csub = p.add_subparsers(dest="community_command", metavar="ACTION")
    c = csub.add_parser("create", help="create a community")
    c.add_argument("slug", help="short stable name: letters, digits, '-' or '_'")
    c.add_argument("--name", required=True, help="display name")
    c.add_argument("--tz", default="UTC", help="IANA time zone the community counts its days in (default UTC)")
    c.add_argument("--theme", default="")
    c.add_argument("--rules", default="", help="rules text (shown on request and with the welcome)")
    c.add_argument("--dry-run", action="store_true", help="record decisions without executing them")
    c.set_defaults(func=cmd_create)
    show = csub.add_parser("show", help="show a community's profile and size")
    show.add_argument("slug")
    show.set_defaults(func=cmd_show)
    ls = csub.add_parser("list", help="list communities")
    ls.set_defaults(func=cmd_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def cmd_create(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.services import CommunityError, community_create

    try:
        community = community_create(slug=args.slug, name=args.name, time_zone=args.tz, theme=args.theme,
                                     rules_text=args.rules, dry_run=args.dry_run)
    except CommunityError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    print(f"community {community.slug!r} created ({community.name}, time zone {community.time_zone})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.models import Community

    for community in Community.objects.order_by("slug"):
        print(f"{community.slug}\t{community.name}\t{community.time_zone}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.models import Event, Member

    community = get_community(args.slug)
    print(f"{community.name} ({community.slug}), time zone {community.time_zone}"
          f"{', dry run' if community.dry_run else ''}")
    for label, value in (("theme", community.theme), ("slogan", community.slogan), ("rules", community.rules_text)):
        if value:
            print(f"  {label}: {value}")
    members = Member.objects.filter(community=community, is_bot=False, merged_into__isnull=True).count()
    print(f"  groups: {community.groups.count()}, members: {members}, "
          f"events: {Event.objects.filter(community=community).count()}")
    for goal in community.goals.all():
        print(f"  goal: {goal.title} — {goal.target:g} by {goal.due}")
    return 0


def get_community(slug: str):
    """The community for a ``--community`` option, or a one-line error."""
    from qunyun.communities.services import CommunityError, community_get

    try:
        return community_get(slug=slug)
    except CommunityError as exc:
        raise UserError(str(exc), exit_code=2) from exc

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

    m = sub.add_parser("member", help="merge members who are one person, or undo a merge")
    msub = m.add_subparsers(dest="member_command", metavar="ACTION")
    merge = msub.add_parser("merge", help="fold SOURCE into TARGET (member ids or account ids like telegram:user1)")
    merge.add_argument("source")
    merge.add_argument("target")
    merge.add_argument("--community", required=True)
    merge.set_defaults(func=cmd_member_merge)
    undo = msub.add_parser("unmerge", help="undo a merge by its number")
    undo.add_argument("merge_id", type=int)
    undo.add_argument("--community", required=True)
    undo.set_defaults(func=cmd_member_unmerge)
    ls_merges = msub.add_parser("merges", help="list merges")
    ls_merges.add_argument("--community", required=True)
    ls_merges.set_defaults(func=cmd_member_merges)
    m.set_defaults(func=lambda args: (m.print_help(), 2)[1])


def _member(community, ref: str):
    """A member by its number or by one of its account ids."""
    from qunyun.communities.models import Identity, Member

    if ref.isdigit():
        member = Member.objects.filter(community=community, pk=int(ref)).first()
    else:
        identity = Identity.objects.filter(community=community, account_id=ref).select_related("member").first()
        member = identity.member if identity else None
    if member is None:
        raise UserError(f"no member {ref!r} in {community.slug} (give a member number or an account id)", exit_code=2)
    return member


def cmd_member_merge(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.merging import member_merge

    community = get_community(args.community)
    source, target = _member(community, args.source), _member(community, args.target)
    merge = member_merge(source=source, target=target, merged_by="cli")
    print(f"merge #{merge.pk}: {source} (#{source.pk}) is now part of {target} (#{target.pk}); "
          f"undo with: qunyun member unmerge {merge.pk} --community {community.slug}")
    return 0


def cmd_member_unmerge(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.merging import member_unmerge
    from qunyun.communities.models import MemberMerge

    community = get_community(args.community)
    merge = MemberMerge.objects.filter(community=community, pk=args.merge_id).first()
    if merge is None:
        raise UserError(f"no merge #{args.merge_id} in {community.slug}", exit_code=2)
    member_unmerge(merge=merge)
    print(f"merge #{merge.pk} undone: {merge.source} and {merge.target} are two members again")
    return 0


def cmd_member_merges(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.models import MemberMerge

    community = get_community(args.community)
    for merge in MemberMerge.objects.filter(community=community).select_related("source", "target"):
        state = f"undone {merge.undone_at:%Y-%m-%d}" if merge.undone_at else "active"
        print(f"#{merge.pk}\t{merge.source} → {merge.target}\t{merge.created_at:%Y-%m-%d}\t{state}")
    return 0


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

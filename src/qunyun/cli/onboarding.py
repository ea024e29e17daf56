"""``qunyun onboarding …``: welcomes per channel, entry screening, FAQ answers, channel routes
(活码) with group size caps, and the guard's mute length."""

from __future__ import annotations

import argparse

from .errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("onboarding", help="welcome, screening, FAQ and channel routes for newcomers")
    osub = p.add_subparsers(dest="onboarding_command", metavar="ACTION")

    w = osub.add_parser("welcome", help="set the welcome for a channel (or the default)")
    w.add_argument("--community", required=True, metavar="SLUG")
    w.add_argument("--channel", metavar="CODE", help="acquisition channel; omit for the default welcome")
    w.add_argument("--group", metavar="CHAT", help="only in this group (platform-qualified id); omit for all")
    w.add_argument("--text", required=True, help="template: {name} {group} {channel} {member_count} {rules_link}")
    w.add_argument("--with-rules", action="store_true", help="append the community's rules")
    w.set_defaults(func=cmd_welcome)

    s = osub.add_parser("screening", help="entry screening: answer within N seconds or be removed")
    s.add_argument("--community", required=True, metavar="SLUG")
    s.add_argument("--group", metavar="CHAT", help="only this group; omit for every group")
    onoff = s.add_mutually_exclusive_group(required=True)
    onoff.add_argument("--on", action="store_true")
    onoff.add_argument("--off", action="store_true")
    s.add_argument("--question", default="")
    s.add_argument("--answer", action="append", default=None, metavar="TEXT",
                   help="an accepted answer (repeat); none = any message counts")
    s.add_argument("--timeout", type=int, default=300, metavar="SECONDS", help="default 300")
    s.add_argument("--buttons", action="store_true", help="offer the answers as buttons (Telegram)")
    s.set_defaults(func=cmd_screening)

    f = osub.add_parser("faq", help="automatic answers to frequent questions")
    fsub = f.add_subparsers(dest="faq_command", metavar="ACTION")
    fa = fsub.add_parser("add", help="add a keyword (or --regex pattern) and its answer")
    fa.add_argument("--community", required=True, metavar="SLUG")
    fa.add_argument("--pattern", required=True)
    fa.add_argument("--regex", action="store_true")
    fa.add_argument("--answer", required=True)
    fa.add_argument("--cooldown", type=int, default=300, metavar="SECONDS",
                    help="answer at most once per this many seconds per group (default 300)")
    fa.add_argument("--group", metavar="CHAT")
    fa.set_defaults(func=cmd_faq_add)
    fl = fsub.add_parser("list")
    fl.add_argument("--community", required=True, metavar="SLUG")
    fl.set_defaults(func=cmd_faq_list)
    fr = fsub.add_parser("remove")
    fr.add_argument("--community", required=True, metavar="SLUG")
    fr.add_argument("id", type=int)
    fr.set_defaults(func=cmd_faq_remove)
    f.set_defaults(func=lambda args: (f.print_help(), 2)[1])

    r = osub.add_parser("route", help="send a channel's newcomers to a group (活码: first group not full)")
    r.add_argument("--community", required=True, metavar="SLUG")
    r.add_argument("--channel", required=True, metavar="CODE", help="created if new")
    r.add_argument("--channel-name", metavar="NAME")
    r.add_argument("--group", required=True, metavar="CHAT", help="platform-qualified id, e.g. matrix:!abc:example.org")
    r.add_argument("--group-name", metavar="NAME", help="registers the group if qunyun has not seen it yet")
    r.add_argument("--size-cap", type=int, metavar="N", help="the group counts as full at N members")
    r.add_argument("--invite-link", default="", metavar="URL", help="this channel's own link into this group")
    r.set_defaults(func=cmd_route)

    g = osub.add_parser("guard", help="the moderation guard on live messages (delete; mute on a penalty)")
    g.add_argument("--community", required=True, metavar="SLUG")
    gonoff = g.add_mutually_exclusive_group()
    gonoff.add_argument("--on", action="store_true")
    gonoff.add_argument("--off", action="store_true")
    g.add_argument("--mute-seconds", type=int, metavar="N", help="mute length for a penalized author (default 600)")
    g.set_defaults(func=cmd_guard)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _ready(args):
    from .bootstrap import django_ready

    django_ready()
    from .communities import get_community

    return get_community(args.community)


def _run(fn, **kwargs):
    from qunyun.onboarding.services import OnboardingError

    try:
        return fn(**kwargs)
    except OnboardingError as exc:
        raise UserError(str(exc), exit_code=2) from exc


def cmd_welcome(args) -> int:
    community = _ready(args)
    from qunyun.onboarding.services import welcome_set

    _run(welcome_set, community=community, text=args.text, channel=args.channel, group=args.group,
         with_rules=args.with_rules)
    print(f"welcome for {'channel ' + args.channel if args.channel else 'the default'} saved")
    return 0


def cmd_screening(args) -> int:
    community = _ready(args)
    from qunyun.onboarding.services import screening_set

    _run(screening_set, community=community, enabled=args.on, question=args.question, answers=args.answer,
         timeout_seconds=args.timeout, buttons=args.buttons, group=args.group)
    print(f"screening {'on' if args.on else 'off'} for {args.group or 'every group'}")
    return 0


def cmd_faq_add(args) -> int:
    community = _ready(args)
    from qunyun.onboarding.services import faq_add

    entry = _run(faq_add, community=community, pattern=args.pattern, answer=args.answer, is_regex=args.regex,
                 cooldown_seconds=args.cooldown, group=args.group)
    print(f"FAQ entry #{entry.pk} added")
    return 0


def cmd_faq_list(args) -> int:
    community = _ready(args)
    from qunyun.onboarding.models import FaqEntry

    for entry in FaqEntry.objects.filter(community=community).select_related("group"):
        where = entry.group.chat_id if entry.group else "all groups"
        kind = "regex" if entry.is_regex else "keyword"
        print(f"#{entry.pk}\t{kind} {entry.pattern!r}\t{where}\tcooldown {entry.cooldown_seconds}s")
    return 0


def cmd_faq_remove(args) -> int:
    community = _ready(args)
    from qunyun.onboarding.services import faq_remove

    _run(faq_remove, community=community, faq_id=args.id)
    print(f"FAQ entry #{args.id} removed")
    return 0


def cmd_route(args) -> int:
    community = _ready(args)
    from qunyun.communities.models import Group
    from qunyun.communities.services import group_create
    from qunyun.core.ids import InvalidId, split
    from qunyun.onboarding.services import channel_route_set
    from qunyun.onboarding.config import public_url

    try:
        split(args.group)
    except InvalidId as exc:
        raise UserError(f"--group: {exc}", exit_code=2) from exc
    if args.size_cap is not None and args.size_cap < 1:
        raise UserError("--size-cap must be at least 1", exit_code=2)
    existing = Group.objects.filter(community=community, chat_id=args.group).first()
    if existing is None or args.group_name or args.size_cap is not None:
        group_create(community=community, chat_id=args.group,
                     name=args.group_name or (existing.name if existing else args.group),
                     size_cap=args.size_cap if args.size_cap is not None else (existing.size_cap if existing else None))
    route = _run(channel_route_set, community=community, channel=args.channel, group=args.group,
                 invite_link=args.invite_link, channel_name=args.channel_name)

    print(f"channel {args.channel} → {args.group} (position {route.position}); "
          f"share {public_url()}/j/{community.slug}/{args.channel}/")
    return 0


def cmd_guard(args) -> int:
    community = _ready(args)
    from qunyun.guard import guard_settings

    settings = dict(community.settings or {})
    guard = guard_settings(settings)
    if args.on or args.off:
        guard["enabled"] = bool(args.on)
    if args.mute_seconds is not None:
        if args.mute_seconds < 0:
            raise UserError("--mute-seconds cannot be negative", exit_code=2)
        guard["mute_seconds"] = args.mute_seconds
    settings["guard"] = guard
    community.settings = settings
    community.save(update_fields=["settings"])
    print(f"guard {'on' if guard['enabled'] else 'off'}, mute {guard['mute_seconds']} s")
    return 0

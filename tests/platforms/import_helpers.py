"""Helpers for the history-import tests: run an import, read counts straight from the database."""

from __future__ import annotations

from pathlib import Path

from django.db.models import Sum

from qunyun.analytics.models import GroupDay
from qunyun.communities.models import Event, Group, Member
from qunyun.platforms.importing import ImportOptions
from qunyun.platforms.runner import import_run

HERE = Path(__file__).resolve().parent


def fixture(platform: str, name: str) -> str:
    return str(HERE / platform / "fixtures" / name)


def run(community, fmt: str, *paths, dry_run=False, strict=False, batch_size=5000, **options):
    """Import ``paths`` into ``community``; options are :class:`ImportOptions` fields."""
    options.setdefault("tz", community.time_zone)
    if "bots" in options:
        options["bots"] = frozenset(options["bots"])
    return import_run(community=community, format_name=fmt, paths=[str(p) for p in paths],
                      options=ImportOptions(**options), dry_run=dry_run, strict=strict, batch_size=batch_size,
                      progress=False)


def db_counts(community) -> dict[str, int]:
    """What is stored, counted in the database (not from the importer's summary)."""
    events = Event.objects.filter(community=community)
    days = GroupDay.objects.filter(community=community).aggregate(
        messages=Sum("messages"), joins=Sum("joins"), leaves=Sum("leaves"), reactions=Sum("reactions"))
    return {
        "events": events.count(),
        "messages": events.filter(type="message").count(),
        "member_messages": events.filter(type="message", member__is_bot=False).exclude(kind="system").count(),
        "joins": events.filter(type="join").count(),
        "leaves": events.filter(type="leave").count(),
        "reactions": events.filter(type="reaction").count(),
        "edits": events.filter(type="edit").count(),
        "deletes": events.filter(type="delete").count(),
        "members": Member.objects.filter(community=community, is_bot=False).count(),
        "bots": Member.objects.filter(community=community, is_bot=True).count(),
        "groups": Group.objects.filter(community=community).count(),
        "day_messages": days["messages"] or 0,
        "day_joins": days["joins"] or 0,
        "day_leaves": days["leaves"] or 0,
        "day_reactions": days["reactions"] or 0,
    }


def event(community, **filters) -> Event:
    return Event.objects.select_related("member", "actor", "reply_to_member").get(community=community, **filters)

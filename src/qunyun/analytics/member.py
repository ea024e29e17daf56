"""One member's analytics: activity timeline, groups, identities, layer, lifecycle, replies given and received."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db import connection

from qunyun.communities.models import Identity, IdentityName, Member, Membership

from . import sources
from .config import layer_thresholds
from .layers import layer_of, window_of
from .periods import days, previous_period, week_start
from .scope import Scope


def lifecycle_state(active_weeks: set[date], first_week: date | None, week: date) -> str:
    """The member's lifecycle state in ``week``: new, returning, resurrecting, dormant or inactive."""
    before = previous_period(week, "week")
    if week in active_weeks:
        if first_week == week:
            return "new"
        return "returning" if before in active_weeks else "resurrecting"
    return "dormant" if before in active_weeks else "inactive"


def member_profile_get(scope: Scope, member: Member) -> dict:
    """Everything the member page shows, for the scope's range (as of its end)."""
    mid = member.pk
    rows = sources.member_days_of(scope, mid, scope.start, scope.end)
    by_day = {day: r for day, *r in rows}
    timeline = [
        {"date": d.isoformat(), "messages": by_day.get(d, (0, 0, 0))[0], "reactions": by_day.get(d, (0, 0, 0))[1],
         "replies": by_day.get(d, (0, 0, 0))[2]}
        for d in days(scope.start, scope.end)
    ]
    thresholds = layer_thresholds(scope.community)
    first, last = window_of(scope.end, thresholds)
    window = sources.member_days_of(scope, mid, first, last)
    current = Membership.objects.filter(member=member, is_member=True)
    if scope.group_ids:
        current = current.filter(group_id__in=scope.group_ids)
    is_current = current.exists()
    layer = layer_of(active_days=len(window), messages=sum(r[1] for r in window), replies=sum(r[3] for r in window),
                     current=is_current, thresholds=thresholds)
    week = week_start(scope.end)
    history = sources.member_days_of(scope, mid, previous_period(week, "week"), scope.end)
    active_weeks = {week_start(r[0]) for r in history}
    first_active = sources.first_active_of(scope, mid, scope.end)
    received, repliers = _replies_received(scope, mid)
    given_to = _replies_given_to(scope, mid)
    names = sources.names([m for m, _n in repliers.most_common(5)] + [m for m, _n in given_to.most_common(5)])
    rows = list(Membership.objects.filter(member=member).select_related("group", "channel").order_by("group__name"))
    firsts = sources.group_firsts_of(mid, [m.group_id for m in rows])
    memberships = [
        {"group": m.group.name, "group_id": m.group_id, "in_group": m.is_member,
         "joined_at": m.joined_at.isoformat() if m.joined_at else None,
         "left_at": m.left_at.isoformat() if m.left_at else None, "channel": m.channel.code if m.channel else None,
         "first_active_day": _iso(firsts.get(m.group_id, (None, None))[0]),
         "first_message_day": _iso(firsts.get(m.group_id, (None, None))[1])}
        for m in rows
    ]
    identities = [
        {"account": i.account_id, "platform": i.platform, "name": i.display_name,
         "names": list(IdentityName.objects.filter(identity=i).order_by("first_seen_at").values_list("name", flat=True))}
        for i in Identity.objects.filter(member=member).order_by("pk")
    ]
    return {
        "member_id": mid, "member": member.display_name or f"#{mid}", "is_bot": member.is_bot,
        "channel": member.channel.code if member.channel_id else None,
        "first_active_day": first_active.isoformat() if first_active else None,
        "messages": sum(r["messages"] for r in timeline),
        "reactions": sum(r["reactions"] for r in timeline),
        "active_days": sum(1 for r in timeline if r["messages"] or r["reactions"]),
        "replies_given": sum(given_to.values()),  # to members: replies to bots are left out
        "replies_received": received,
        "answered_by": [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in repliers.most_common(5)],
        "answers": [{"member_id": m, "member": names.get(m, f"#{m}"), "count": n} for m, n in given_to.most_common(5)],
        "layer": layer,
        "layer_window": {"from": first.isoformat(), "to": last.isoformat(), "active_days": len(window),
                         "messages": sum(r[1] for r in window), "replies": sum(r[3] for r in window)},
        "lifecycle_week": week.isoformat(),
        "lifecycle": lifecycle_state(active_weeks, week_start(first_active) if first_active else None, week),
        "timeline": timeline,
        "groups": memberships,
        "identities": identities,
    }


def _edges(scope: Scope, member_id: int, column: str) -> Counter:
    """Replies between this member and others in the range, from the reply-edge rollup, counted by
    the other member (``column`` = ``target_id``: received, ``source_id``: given)."""
    other = "source_id" if column == "target_id" else "target_id"
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {other}, SUM(replies) FROM qunyun_reply_edge_day WHERE {column} = %s AND day BETWEEN %s AND %s"
            f"{where} GROUP BY {other}",
            [member_id, sources._d(scope.start), sources._d(scope.end), *scope.group_ids])
        return Counter({m: int(n) for m, n in cursor.fetchall() if n})


def _replies_received(scope: Scope, member_id: int) -> tuple[int, Counter]:
    """Replies of other (non-bot) members to this member's messages in the range, and by whom."""
    counts = _edges(scope, member_id, "target_id")
    return sum(counts.values()), counts


def _replies_given_to(scope: Scope, member_id: int) -> Counter:
    """Whom this member replied to in the range (bots left out)."""
    return _edges(scope, member_id, "source_id")


def _iso(day) -> str | None:
    return day.isoformat() if day else None

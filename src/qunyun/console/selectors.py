"""Reads the console pages need beyond :mod:`qunyun.communities.selectors`.

Each function runs a fixed number of queries, independent of the community's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.utils.translation import gettext_lazy as _

from qunyun.analytics.models import MemberDay
from qunyun.bus.models import Notification, OutboxItem
from qunyun.communities.models import Channel, Community, Event, Group, Identity, Member, Membership
from qunyun.communities.selectors import window_start
from qunyun.operators.models import AuditEntry

# Outbox payload fields that name a member's account, a text, or a time.
_ACCOUNT_FIELDS = ("member", "to_member")
_TEXT_FIELDS = ("text", "title")


DECISION_STATUS_LABELS = {
    OutboxItem.Status.PENDING: _("pending"),
    OutboxItem.Status.RUNNING: _("running"),
    OutboxItem.Status.DONE: _("done"),
    OutboxItem.Status.FAILED: _("failed"),
    OutboxItem.Status.DRY_RUN: _("dry run (not executed)"),
    OutboxItem.Status.CANCELLED: _("cancelled"),
}


@dataclass
class DecisionRow:
    """One recorded decision, readable: what, where, about whom, and what became of it."""

    item: OutboxItem
    group_name: str
    member_name: str
    text: str

    @property
    def status_label(self):
        return DECISION_STATUS_LABELS.get(self.item.status, self.item.status)


def recent_decisions(community: Community, *, limit: int = 15) -> list[DecisionRow]:
    """The latest decisions of ``community`` (dry-run ones too), newest first; three queries."""
    items = list(OutboxItem.objects.filter(community=community).order_by("-pk")[:limit])
    chats = {item.chat for item in items}
    groups = dict(Group.objects.filter(community=community, chat_id__in=chats).values_list("chat_id", "name"))
    accounts = {item.payload.get(f) for item in items for f in _ACCOUNT_FIELDS
                if isinstance(item.payload, dict) and item.payload.get(f)}
    names = dict(Identity.objects.filter(community=community, account_id__in=accounts)
                 .values_list("account_id", "member__display_name"))
    rows = []
    for item in items:
        payload = item.payload if isinstance(item.payload, dict) else {}
        account = next((payload[f] for f in _ACCOUNT_FIELDS if payload.get(f)), "")
        text = next((str(payload[f]) for f in _TEXT_FIELDS if payload.get(f)), "")
        rows.append(DecisionRow(item=item, group_name=groups.get(item.chat, item.chat),
                                member_name=names.get(account) or account, text=text[:140]))
    return rows


def recent_notifications(community: Community, *, limit: int = 10) -> list[Notification]:
    """The latest notifications to the community's operators, newest first."""
    return list(Notification.objects.filter(community=community).order_by("-created_at", "-pk")[:limit])


def unread_notifications_count(community: Community) -> int:
    return Notification.objects.filter(community=community, read_at__isnull=True).count()


def channel_rows(community: Community) -> list[tuple]:
    """``[(channel, members who first came through it)]``, one grouped query."""
    return [(c, c.n) for c in Channel.objects.filter(community=community).annotate(
        n=Count("members", filter=Q(members__is_bot=False))).order_by("name")]


# ---------------------------------------------------------------------- one member


@dataclass
class ActivitySummary:
    """A member's activity over the last 7 and 30 days and in all the history we have."""

    windows: list[dict] = field(default_factory=list)  # [{window, messages, reactions, replies, mentions, days}]
    first_active: date | None = None
    last_active: date | None = None
    daily: list[dict] = field(default_factory=list)  # last 30 days: {day, messages, reactions, percent}


def member_activity(member: Member, *, today: date) -> ActivitySummary:
    """Counts from the member's rollup rows (two queries)."""
    rows = MemberDay.objects.filter(member=member)
    summary = ActivitySummary()
    spans = ((7, window_start(today, 7)), (30, window_start(today, 30)), (None, None))
    aggregates = {}
    for days, since in spans:
        when = Q(day__gte=since, day__lte=today) if since else Q()
        suffix = str(days or "all")
        aggregates.update({
            f"messages_{suffix}": Sum("messages", filter=when),
            f"reactions_{suffix}": Sum("reactions", filter=when),
            f"replies_{suffix}": Sum("replies", filter=when),
            f"mentions_{suffix}": Sum("mentions", filter=when),
            f"days_{suffix}": Count("day", filter=when, distinct=True),
        })
    totals = rows.aggregate(first=Min("day"), last=Max("day"), **aggregates)
    for days, _since in spans:
        suffix = str(days or "all")
        summary.windows.append({
            "window": days,  # None: all the history there is
            **{k: int(totals[f"{k}_{suffix}"] or 0) for k in ("messages", "reactions", "replies", "mentions", "days")},
        })
    summary.first_active, summary.last_active = totals["first"], totals["last"]
    since = window_start(today, 30)
    per_day = {row["day"]: row for row in rows.filter(day__gte=since, day__lte=today).values("day").annotate(
        m=Sum("messages"), r=Sum("reactions"))}
    days = []
    for offset in range(30):
        day = since + timedelta(days=offset)
        row = per_day.get(day) or {}
        days.append((day, int(row.get("m") or 0), int(row.get("r") or 0)))
    peak = max((m + r for _d, m, r in days), default=0) or 1
    summary.daily = [{"day": d, "messages": m, "reactions": r, "percent": round(100 * (m + r) / peak)}
                     for d, m, r in days]
    return summary


def member_identities(member: Member) -> list[Identity]:
    """The member's accounts, each with ``names`` over time (two queries)."""
    return list(member.identities.order_by("pk").prefetch_related("names"))


def member_memberships(member: Member) -> list[Membership]:
    """The member's groups: now and before, with how they came and went."""
    return list(member.memberships.select_related("group", "channel", "inviter")
                .order_by("-is_member", "group__name"))


def member_recent_events(member: Member, *, limit: int = 20) -> list[Event]:
    """The member's latest events (messages, joins, leaves, reactions…), newest first."""
    return list(Event.objects.filter(member=member).select_related("group")
                .only("type", "at", "kind", "text", "detail", "group__name", "group__platform")
                .order_by("-at")[:limit])


def audit_entries(community: Community, *, limit: int = 100) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(community=community).order_by("-at", "-pk")[:limit])

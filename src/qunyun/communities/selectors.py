"""Reads of the communities area: member counts, goal progress, groups and the member table.

Every function here answers from the database in a fixed, small number of queries, whatever the
size of the community (200,000 members, 10,000,000 events): counts and sums are aggregates over
the rollups (:class:`~qunyun.analytics.models.MemberDay`, :class:`~qunyun.analytics.models.GroupDay`),
sorting and paging happen in SQL, and per-row figures for a page are fetched for all of its rows
at once.

"Today" is the community's calendar day (its time zone); a window of N days ending today is
``today - (N - 1) … today``. Functions take ``today`` so that callers (reports, tests) can ask
about another day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qunyun.analytics.models import GroupDay, MemberDay, MemberStats
from qunyun.core.timeutil import zone

from .models import Community, Goal, Group, Identity, IdentityName, Member, Membership

# ---------------------------------------------------------------------- time


def community_today(community: Community) -> date:
    """Today's date in the community's time zone."""
    return timezone.now().astimezone(zone(community.time_zone)).date()


def window_start(today: date, days: int) -> date:
    """First day of the ``days``-day window that ends with ``today``."""
    return today - timedelta(days=days - 1)


# ---------------------------------------------------------------------- members now / active


def in_a_group_now() -> Exists:
    """A filter for members who are in at least one group now.

    A correlated EXISTS (one probe of the membership's member index per member) — several times
    faster than ``pk IN (every membership of the community)`` on a large community.
    """
    return Exists(Membership.objects.filter(member=OuterRef("pk"), is_member=True))


def people(community: Community) -> QuerySet[Member]:
    """The community's members who are people: no bots, no members merged into another."""
    return Member.objects.filter(community=community, is_bot=False, merged_into__isnull=True)


def members_now_count(community: Community) -> int:
    """People (not bots, not merged away) who are in at least one group of the community now."""
    return people(community).filter(in_a_group_now()).count()


def active_members_count(community: Community, *, today: date, days: int = 7) -> int:
    """Distinct members active (a message or a reaction) in the ``days`` days ending ``today``.

    The rollups leave bots out already.
    """
    return (MemberDay.objects.filter(community=community, day__gte=window_start(today, days), day__lte=today)
            .values("member_id").distinct().count())


def messages_count(community: Community, *, today: date, days: int = 7) -> int:
    """Messages (not system messages, not bots) in the ``days`` days ending ``today``."""
    total = GroupDay.objects.filter(community=community, day__gte=window_start(today, days),
                                    day__lte=today).aggregate(n=Sum("messages"))["n"]
    return int(total or 0)


@dataclass(frozen=True)
class CommunityFigures:
    """The headline numbers of a community on one day."""

    today: date
    members_now: int
    weekly_active: int
    messages_7d: int

    @property
    def weekly_active_rate(self) -> float | None:
        """Weekly active members as a percentage of members now (``None`` with no members)."""
        return 100.0 * self.weekly_active / self.members_now if self.members_now else None

    @property
    def messages_per_day(self) -> float:
        """Average messages per day over the last 7 days."""
        return self.messages_7d / 7


def community_figures(community: Community, *, today: date | None = None) -> CommunityFigures:
    """Members now, weekly active members and messages of the last 7 days (three queries)."""
    today = today or community_today(community)
    return CommunityFigures(
        today=today,
        members_now=members_now_count(community),
        weekly_active=active_members_count(community, today=today, days=7),
        messages_7d=messages_count(community, today=today, days=7),
    )


# ---------------------------------------------------------------------- goals


@dataclass(frozen=True)
class GoalProgress:
    """Where a goal stands.

    ``current`` is ``None`` when it cannot be computed (a manual goal nobody filled in).
    ``fraction`` is the share of the way from ``baseline`` to ``target`` (0…1, clamped);
    ``expected`` is the share of the time from the start to the due date that has passed,
    so ``fraction < expected`` means behind schedule.
    """

    goal: Goal
    current: float | None
    fraction: float | None
    expected: float | None
    days_left: int
    status: str  # "done", "on_track", "behind", "overdue", "unknown"

    @property
    def percent(self) -> int | None:
        return None if self.fraction is None else round(self.fraction * 100)

    @property
    def expected_percent(self) -> int | None:
        return None if self.expected is None else round(self.expected * 100)

    @property
    def status_label(self):
        return GOAL_STATUS_LABELS[self.status]


GOAL_STATUS_LABELS = {
    "done": _("reached"),
    "on_track": _("on track"),
    "behind": _("behind schedule"),
    "overdue": _("overdue"),
    "unknown": _("not measured"),
}


def goal_current_value(goal: Goal, figures: CommunityFigures) -> float | None:
    """The goal's metric today, from the community's figures (``None`` if not computable)."""
    metric = goal.metric
    if metric == Goal.Metric.MEMBERS:
        return float(figures.members_now)
    if metric == Goal.Metric.WEEKLY_ACTIVE:
        return float(figures.weekly_active)
    if metric == Goal.Metric.WEEKLY_ACTIVE_RATE:
        return figures.weekly_active_rate
    if metric == Goal.Metric.MESSAGES_PER_DAY:
        return figures.messages_per_day
    if metric == Goal.Metric.MANUAL:
        return goal.manual_value
    return None


def goal_progress(goal: Goal, *, figures: CommunityFigures) -> GoalProgress:
    """Progress of one goal, given the community's figures (see :func:`community_figures`)."""
    today = figures.today
    current = goal_current_value(goal, figures)
    days_left = (goal.due - today).days
    start = goal.start
    if start is None and goal.created_at is not None:  # no start given: counted from when it was set
        start = goal.created_at.astimezone(zone(goal.community.time_zone)).date()
    expected = None
    if start is not None and goal.due > start:
        expected = min(1.0, max(0.0, (today - start).days / (goal.due - start).days))
    if current is None:
        return GoalProgress(goal, None, None, expected, days_left, "unknown")
    span = goal.target - goal.baseline
    if span == 0:
        fraction = 1.0 if current >= goal.target else 0.0
    else:
        fraction = min(1.0, max(0.0, (current - goal.baseline) / span))
    if fraction >= 1.0:
        status = "done"
    elif days_left < 0:
        status = "overdue"
    elif expected is not None and fraction < expected:
        status = "behind"
    else:
        status = "on_track"
    return GoalProgress(goal, current, fraction, expected, days_left, status)


def goals_progress(community: Community, *, today: date | None = None,
                   figures: CommunityFigures | None = None) -> list[GoalProgress]:
    """Progress of every goal of ``community``, soonest due first."""
    figures = figures or community_figures(community, today=today)
    goals = Goal.objects.filter(community=community).select_related("community").order_by("due", "pk")
    return [goal_progress(goal, figures=figures) for goal in goals]


# ---------------------------------------------------------------------- groups and Dunbar bands

# Seed 001: below ~50 a group talks by itself; 50–150 it needs rules and activities; ~150 is
# the ceiling of a real circle.
DUNBAR_BANDS = {
    "small": _("≤ 50"),
    "circle": _("50–150"),
    "large": _("> 150"),
}
DUNBAR_ADVICE = {
    "small": _("Small enough to talk by itself."),
    "circle": _("Needs rules and regular activities."),
    "large": _("Above a real circle: consider splitting."),
}


def dunbar_band(members: int) -> str:
    """The Dunbar band of a group of ``members`` people: ``small`` (≤ 50), ``circle`` (51–150), ``large``."""
    if members <= 50:
        return "small"
    if members <= 150:
        return "circle"
    return "large"


@dataclass(frozen=True)
class GroupRow:
    """A group with its current size, band and recent activity."""

    group: Group
    members_now: int
    messages_7d: int
    messages_30d: int

    @property
    def band(self) -> str:
        return dunbar_band(self.members_now)

    @property
    def band_label(self):
        return DUNBAR_BANDS[self.band]

    @property
    def band_advice(self):
        return DUNBAR_ADVICE[self.band]

    @property
    def over_cap(self) -> bool:
        return self.group.size_cap is not None and self.members_now >= self.group.size_cap


def group_member_counts(community: Community, *, groups: Iterable[Group] | None = None) -> dict[int, int]:
    """``{group_id: people in it now}`` for every group (or ``groups``), bots left out.

    Three small queries: memberships counted per group, then the community's bots (few) and
    their memberships subtracted — cheaper than joining every membership to its member.
    """
    current = Membership.objects.filter(is_member=True)
    current = current.filter(group__in=list(groups)) if groups is not None else current.filter(group__community=community)
    counts = {row["group_id"]: row["n"] for row in current.values("group_id").annotate(n=Count("id"))}
    bots = list(Member.objects.filter(community=community, is_bot=True).values_list("pk", flat=True))
    for start in range(0, len(bots), 500):
        chunk = bots[start:start + 500]
        for row in current.filter(member_id__in=chunk).values("group_id").annotate(n=Count("id")):
            counts[row["group_id"]] -= row["n"]
    return counts


def group_rows(community: Community, *, today: date | None = None,
               groups: Iterable[Group] | None = None) -> list[GroupRow]:
    """Every group (or the given ones) with members now and messages in the last 7 and 30 days."""
    today = today or community_today(community)
    only = list(groups) if groups is not None else None
    groups = only if only is not None else list(Group.objects.filter(community=community))
    counts = group_member_counts(community, groups=only)
    week, month = window_start(today, 7), window_start(today, 30)
    days = GroupDay.objects.filter(community=community, day__gte=month, day__lte=today)
    if only is not None:
        days = days.filter(group__in=only)
    activity = (days.values("group_id")
                .annotate(m30=Sum("messages"), m7=Sum("messages", filter=Q(day__gte=week))))
    by_group = {row["group_id"]: row for row in activity}
    return [
        GroupRow(group=g, members_now=counts.get(g.pk, 0),
                 messages_7d=int((by_group.get(g.pk) or {}).get("m7") or 0),
                 messages_30d=int((by_group.get(g.pk) or {}).get("m30") or 0))
        for g in groups
    ]


# ---------------------------------------------------------------------- the member table

MEMBER_STATUSES = {
    "current": _("in a group now"),
    "former": _("left every group"),
    "all": _("everyone"),
    "bots": _("bots"),
}
# Sort keys the member table offers; "-" sorts descending. Ties are broken by id.
MEMBER_SORTS = ("name", "-name", "first_seen", "-first_seen", "messages", "-messages",
                "last_active", "-last_active")
DEFAULT_MEMBER_SORT = "-last_active"


def member_search(community: Community, *, q: str = "", group: Group | None = None,
                  status: str = "current") -> QuerySet[Member]:
    """The members matching a search, unordered and without annotations (cheap to count).

    ``q`` matches the current name, any earlier name and any identity's account id
    (``telegram:12345``), case-insensitively. ``group`` keeps members who are in that group
    now. ``status`` is one of :data:`MEMBER_STATUSES`. Merged-away members never show.
    """
    qs = Member.objects.filter(community=community, merged_into__isnull=True)
    if group is not None:
        # Start from the group's own members (a few hundred), not from every member of the
        # community; being in the group now also answers "in a group now".
        qs = qs.filter(pk__in=Membership.objects.filter(group=group, is_member=True).values("member_id"))
    if status == "bots":
        qs = qs.filter(is_bot=True)
    else:
        qs = qs.filter(is_bot=False)
        if status == "current" and group is None:
            qs = qs.filter(in_a_group_now())
        elif status == "former":
            qs = qs.exclude(in_a_group_now())
    q = q.strip()
    if q:
        # IN (subquery) is evaluated once, not per member: fast on 200,000 members.
        by_account = Identity.objects.filter(community=community).filter(
            Q(account_id__icontains=q) | Q(display_name__icontains=q)).values("member_id")
        by_old_name = IdentityName.objects.filter(identity__community=community, name__icontains=q) \
            .values("identity__member_id")
        qs = qs.filter(Q(display_name__icontains=q) | Q(pk__in=by_account) | Q(pk__in=by_old_name))
    return qs


def _last_active_day() -> Subquery:
    """The member's last active day, from the analytics' per-member stats (one unique-key probe)."""
    return Subquery(MemberStats.objects.filter(member=OuterRef("pk")).values("last_active_day")[:1])


def member_ordered_ids(community: Community, qs: QuerySet[Member], *, sort: str, today: date, days: int = 30,
                       offset: int = 0, limit: int | None = None) -> list[int]:
    """Ids of the members of ``qs`` in the order ``sort`` (one of :data:`MEMBER_SORTS`), one page
    (``offset``, ``limit``) or all of them — sorted and cut in the database, in one query.

    Messages in the last ``days`` days are summed once for the whole community (a range scan of
    the rollup's covering index) and joined to the members, rather than summed member by member.
    Ties are broken by id, in the direction of the sort.
    """
    if sort not in MEMBER_SORTS:
        sort = DEFAULT_MEMBER_SORT
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    direction = "DESC" if descending else "ASC"
    if key == "messages":
        members_sql, params = qs.values_list("id", flat=True).query.sql_with_params()
        sql = (
            f"SELECT f.id FROM ({members_sql}) f LEFT JOIN (SELECT member_id, SUM(messages) AS n "
            "FROM qunyun_member_day WHERE community_id = %s AND day >= %s AND day <= %s GROUP BY member_id) r "
            f"ON r.member_id = f.id ORDER BY COALESCE(r.n, 0) {direction}, f.id {direction}"
        )
        ops = connection.ops
        params = [*params, community.pk, ops.adapt_datefield_value(window_start(today, days)),
                  ops.adapt_datefield_value(today)]
        if limit is not None:
            sql += " LIMIT %s OFFSET %s"
            params += [limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    value = {"last_active": _last_active_day(), "first_seen": F("first_seen_at")}.get(key, F("display_name"))
    ordered = qs.annotate(sort_value=value).order_by(
        F("sort_value").desc(nulls_last=True) if descending else F("sort_value").asc(nulls_last=True),
        "-pk" if descending else "pk",
    ).values_list("pk", flat=True)
    return list(ordered[offset:offset + limit] if limit is not None else ordered)


@dataclass
class MemberRow:
    """One member's line in a member table."""

    id: int
    name: str
    is_bot: bool
    first_seen_at: object
    channel: str
    messages: int = 0
    last_active: date | None = None
    groups: list[str] | None = None
    accounts: list[str] | None = None


def member_rows(ids: Sequence[int], *, today: date, days: int = 30) -> list[MemberRow]:
    """Table rows for the members ``ids`` (a page, or a chunk of an export), in that order.

    Five queries for the whole list, whatever its length: the members with their channel, their
    messages in the ``days`` days ending ``today``, their last active day, their current groups
    and their accounts.
    """
    ids = list(ids)
    if not ids:
        return []
    # Plain tuples, not model instances: an export builds hundreds of thousands of rows.
    members = {row[0]: row for row in Member.objects.filter(pk__in=ids).values_list(
        "pk", "display_name", "is_bot", "first_seen_at", "channel__name")}
    recent = dict(MemberDay.objects.filter(member_id__in=ids, day__gte=window_start(today, days), day__lte=today)
                  .values("member_id").annotate(n=Sum("messages")).values_list("member_id", "n"))
    last = dict(MemberStats.objects.filter(member_id__in=ids).values_list("member_id", "last_active_day"))
    groups: dict[int, list[str]] = defaultdict(list)
    for member_id, name in (Membership.objects.filter(member_id__in=ids, is_member=True)
                            .order_by("group__name").values_list("member_id", "group__name")):
        groups[member_id].append(name)
    accounts: dict[int, list[str]] = defaultdict(list)
    for member_id, account in Identity.objects.filter(member_id__in=ids).order_by("pk").values_list(
            "member_id", "account_id"):
        accounts[member_id].append(account)
    rows = []
    for pk in ids:
        m = members.get(pk)
        if m is None:  # deleted between the two queries
            continue
        _pk, name, is_bot, first_seen_at, channel = m
        rows.append(MemberRow(
            id=pk, name=name or f"#{pk}", is_bot=is_bot, first_seen_at=first_seen_at, channel=channel or "",
            messages=int(recent.get(pk) or 0), last_active=last.get(pk),
            groups=groups.get(pk, []), accounts=accounts.get(pk, []),
        ))
    return rows


def member_rows_iter(ids: Sequence[int], *, today: date, days: int = 30, chunk: int = 2000):
    """Rows for many members (an export), fetched ``chunk`` at a time."""
    for start in range(0, len(ids), chunk):
        yield from member_rows(ids[start:start + chunk], today=today, days=days)

"""What a figure is about: a community, a range of local days, optional group and channel filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection

from qunyun.communities.models import Channel, Community, Group
from qunyun.core.timeutil import utcnow, zone

DEFAULT_DAYS = 30


class AnalyticsError(ValueError):
    """A request for figures that cannot be answered (unknown group, bad dates), in one line."""


@dataclass(frozen=True)
class Scope:
    """A community, the days ``start``–``end`` (inclusive, local) and the filters.

    ``group_ids`` empty means every group; ``channel_id`` ``None`` means every member.
    """

    community: Community
    start: date
    end: date
    group_ids: tuple[int, ...] = ()
    channel_id: int | None = None
    group_names: tuple[str, ...] = field(default=(), compare=False)
    channel_code: str | None = field(default=None, compare=False)

    @property
    def cid(self) -> int:
        return self.community.pk

    @property
    def tz(self) -> str:
        return self.community.time_zone

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def filtered(self) -> bool:
        return bool(self.group_ids) or self.channel_id is not None

    def with_range(self, start: date, end: date) -> "Scope":
        return Scope(self.community, start, end, self.group_ids, self.channel_id, self.group_names,
                     self.channel_code)

    def describe(self) -> dict:
        """The scope as plain data (reports and API answers say what they cover)."""
        return {
            "community": self.community.slug, "time_zone": self.tz, "from": self.start.isoformat(),
            "to": self.end.isoformat(), "groups": list(self.group_names) or None, "channel": self.channel_code,
            "week_starts": "Monday",
        }


def today_local(community: Community) -> date:
    return utcnow().astimezone(zone(community.time_zone)).date()


def data_bounds(community: Community) -> tuple[date, date] | None:
    """First and last local day with any event in the community, or ``None`` when it has none."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(day), MAX(day) FROM qunyun_event WHERE community_id = %s", [community.pk])
        first, last = cursor.fetchone()
    if first is None:
        return None
    return _as_date(first), _as_date(last)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _parse_day(value, what: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AnalyticsError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None


def scope_build(
    *, community: Community, start=None, end=None, groups=None, channel=None, default: str = "recent",
) -> Scope:
    """Resolve filters into a :class:`Scope`, with clear errors for unknown names and bad dates.

    ``groups`` are group ids, names or chat ids; ``channel`` a channel code or id. Without dates,
    ``default="recent"`` gives the 30 days ending on the last day with events (at most today) and
    ``default="all"`` the whole history.
    """
    start_day, end_day = _parse_day(start, "from"), _parse_day(end, "to")
    if start_day is None or end_day is None:
        bounds = data_bounds(community)
        today = today_local(community)
        if end_day is None:
            end_day = min(bounds[1], today) if bounds else today
        if start_day is None:
            if default == "all" and bounds:
                start_day = min(bounds[0], end_day)
            else:
                start_day = end_day - timedelta(days=DEFAULT_DAYS - 1)
    if start_day > end_day:
        raise AnalyticsError(f"from {start_day} is after to {end_day}")
    group_ids: list[int] = []
    group_names: list[str] = []
    for item in groups or ():
        if item in (None, ""):
            continue
        group = _find_group(community, item)
        group_ids.append(group.pk)
        group_names.append(group.name)
    channel_id = channel_code = None
    if channel not in (None, ""):
        found = Channel.objects.filter(community=community, code=str(channel)).first()
        if found is None and str(channel).isdigit():
            found = Channel.objects.filter(community=community, pk=int(channel)).first()
        if found is None:
            known = ", ".join(Channel.objects.filter(community=community).values_list("code", flat=True)[:20])
            raise AnalyticsError(f"no channel {channel!r} in {community.slug}" + (f" (known: {known})" if known else ""))
        channel_id, channel_code = found.pk, found.code
    return Scope(community, start_day, end_day, tuple(sorted(set(group_ids))), channel_id,
                 tuple(group_names), channel_code)


def _find_group(community: Community, item) -> Group:
    qs = Group.objects.filter(community=community)
    if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
        found = qs.filter(pk=int(item)).first()
        if found:
            return found
    for lookup in ("name", "chat_id"):
        matches = list(qs.filter(**{lookup: str(item)})[:2])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AnalyticsError(f"more than one group is called {item!r}: use its chat id")
    known = ", ".join(qs.values_list("name", flat=True)[:20])
    raise AnalyticsError(f"no group {item!r} in {community.slug}" + (f" (known: {known})" if known else ""))

"""Calendar arithmetic for analytics: local days, Monday weeks, calendar months, zone offsets.

Pure: no Django. Days are ``datetime.date`` values already in the community's time zone;
a week is named by its Monday, a month by its first day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from qunyun.core.timeutil import zone

PERIODS = ("day", "week", "month")


def week_start(day: date) -> date:
    """The Monday of the week ``day`` is in (weeks start on Monday)."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    """The first day of the month ``day`` is in."""
    return day.replace(day=1)


def period_start(day: date, period: str) -> date:
    """The start of the day/week/month that contains ``day``."""
    if period == "day":
        return day
    if period == "week":
        return week_start(day)
    if period == "month":
        return month_start(day)
    raise ValueError(f"unknown period {period!r} (day, week or month)")


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after the month of ``day``."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def next_period(start: date, period: str) -> date:
    """The start of the period after the one starting at ``start``."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return add_months(start, 1)


def previous_period(start: date, period: str) -> date:
    """The start of the period before the one starting at ``start``."""
    if period == "day":
        return start - timedelta(days=1)
    if period == "week":
        return start - timedelta(days=7)
    return add_months(start, -1)


def period_end(start: date, period: str) -> date:
    """The last day of the period starting at ``start``."""
    return next_period(start, period) - timedelta(days=1)


def periods_between(first: date, last: date, period: str) -> list[date]:
    """Starts of every period that overlaps ``first``–``last`` (both inclusive), in order."""
    out: list[date] = []
    current = period_start(first, period)
    while current <= last:
        out.append(current)
        current = next_period(current, period)
    return out


def period_index(start: date, origin: date, period: str) -> int:
    """How many periods ``start`` is after ``origin`` (both period starts)."""
    if period == "day":
        return (start - origin).days
    if period == "week":
        return (start - origin).days // 7
    return (start.year - origin.year) * 12 + start.month - origin.month


def period_label(start: date, period: str) -> str:
    """``YYYY-MM`` for months, ``YYYY-MM-DD`` (the Monday / the day) otherwise."""
    return start.strftime("%Y-%m") if period == "month" else start.isoformat()


def days(first: date, last: date) -> Iterator[date]:
    """Every day from ``first`` to ``last`` inclusive."""
    current = first
    while current <= last:
        yield current
        current += timedelta(days=1)


# ----------------------------------------------------------------- zone offsets for SQL


@dataclass(frozen=True, slots=True)
class OffsetSpan:
    """From ``starts`` (UTC epoch seconds; ``None`` = since ever) the zone is ``offset`` s ahead of UTC."""

    starts: int | None
    offset: int


def offset_spans(tz_name: str, first: datetime, last: datetime) -> list[OffsetSpan]:
    """The UTC offsets ``tz_name`` uses between two instants, with the instants they change.

    SQL engines differ in their time-zone support (SQLite has none), so set-based rebuilds
    turn a UTC instant into a local hour with a ``CASE`` over these spans instead. Found by
    stepping a day at a time and bisecting to the second where the offset changes.
    """
    tz = zone(tz_name)
    first = first.astimezone(timezone.utc) - timedelta(days=1)
    last = last.astimezone(timezone.utc) + timedelta(days=1)

    def off(moment: datetime) -> int:
        return int(moment.astimezone(tz).utcoffset().total_seconds())

    spans = [OffsetSpan(None, off(first))]
    current, current_off = first, spans[0].offset
    step = timedelta(days=1)
    while current < last:
        nxt = min(current + step, last)
        nxt_off = off(nxt)
        if nxt_off != current_off:
            lo, hi = current, nxt  # off(lo) == current_off, off(hi) != current_off
            while (hi - lo) > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(microsecond=0)
                if mid <= lo:
                    break
                if off(mid) == current_off:
                    lo = mid
                else:
                    hi = mid
            spans.append(OffsetSpan(int(hi.timestamp()), off(hi)))
            current_off = off(hi)
            current = hi
            continue
        current = nxt
    return spans

"""Overview figures: totals, growth, DAU/WAU/MAU, stickiness, active-days distribution.

Definitions: docs/metrics.md "Overview". Every number is computed from rollups for a
:class:`~qunyun.analytics.scope.Scope`.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from . import sources
from .periods import days, period_end, period_label, periods_between
from .scope import Scope


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def daily_series(scope: Scope) -> list[dict]:
    """One row per day of the range: messages, active members, authors, joins, leaves, net, new members."""
    totals = sources.day_totals(scope, scope.start, scope.end)
    active = sources.daily_active(scope, scope.start, scope.end)
    new = sources.new_member_days(scope, scope.start, scope.end)
    rows = []
    for day in days(scope.start, scope.end):
        messages, reactions, joins, leaves = totals.get(day, (0, 0, 0, 0))
        act, posting = active.get(day, (0, 0))
        rows.append({
            "date": day.isoformat(), "messages": messages, "reactions": reactions, "active_members": act,
            "authors": posting, "joins": joins, "leaves": leaves, "net": joins - leaves,
            "new_members": new.get(day, 0),
        })
    return rows


def period_series(scope: Scope, daily: list[dict], period: str) -> list[dict]:
    """Weeks or months overlapping the range, counting only the days inside it (partial if clipped)."""
    by_day = {row["date"]: row for row in daily}
    out = []
    for start in periods_between(scope.start, scope.end, period):
        first, last = max(start, scope.start), min(period_end(start, period), scope.end)
        rows = [by_day[d.isoformat()] for d in days(first, last)]
        out.append({
            "period": period_label(start, period), "start": start.isoformat(),
            "partial": first != start or last != period_end(start, period),
            "messages": sum(r["messages"] for r in rows), "joins": sum(r["joins"] for r in rows),
            "leaves": sum(r["leaves"] for r in rows), "net": sum(r["net"] for r in rows),
            "new_members": sum(r["new_members"] for r in rows),
            "active_members": sources.period_active_clipped(scope, period, start, first, last),
        })
    return out


def _window(scope: Scope, days_back: int) -> dict[int, list[int]]:
    return sources.member_window(scope, scope.end - timedelta(days=days_back - 1), scope.end)


def _week_day_counts(scope: Scope) -> dict[int, int]:
    """``{active days: members}`` over the last 7 days (no member list is needed for them)."""
    return sources.window_day_counts(scope, scope.end - timedelta(days=6), scope.end)


def active_days_distribution(scope: Scope) -> dict[str, dict[str, int]]:
    """For the last 7 and 30 days to the as-of date: members by number of active days."""
    dist7 = _week_day_counts(scope)
    dist30 = Counter(v[0] for v in _window(scope, 30).values())
    return {
        "last_7_days": {str(n): dist7.get(n, 0) for n in range(1, 8)},
        "last_30_days": {str(n): dist30.get(n, 0) for n in range(1, 31)},
    }


def stickiness(scope: Scope) -> dict:
    """DAU, WAU, MAU on the as-of date and DAU/MAU over the 30 days ending on it."""
    end = scope.end
    dau_by_day = sources.daily_active(scope, end - timedelta(days=29), end)
    mau = len(_window(scope, 30))
    average_dau = sum(v[0] for v in dau_by_day.values()) / 30
    return {
        "as_of": end.isoformat(),
        "dau": dau_by_day.get(end, (0, 0))[0],
        "wau": sum(_week_day_counts(scope).values()),
        "mau": mau,
        "average_dau_30": round(average_dau, 2),
        "dau_mau": _ratio(average_dau, mau),
    }


def range_members(scope: Scope) -> tuple[int, int]:
    """``(authors, active members)`` of the range (read off the 30-day window when the range is it)."""
    if scope.start == scope.end - timedelta(days=29):
        window = _window(scope, 30)
        return sum(1 for v in window.values() if v[1] > 0), len(window)
    return (sources.distinct_members(scope, scope.start, scope.end, posting=True),
            sources.distinct_members(scope, scope.start, scope.end))


def overview_get(scope: Scope, *, daily: list[dict] | None = None) -> dict:
    """Every overview figure of the scope (see docs/metrics.md "Overview")."""
    daily = daily if daily is not None else daily_series(scope)
    messages = sum(r["messages"] for r in daily)
    joins = sum(r["joins"] for r in daily)
    leaves = sum(r["leaves"] for r in daily)
    authors, active = range_members(scope)
    return {
        "messages": messages,
        "reactions": sum(r["reactions"] for r in daily),
        "authors": authors,
        "active_members": active,
        "joins": joins,
        "leaves": leaves,
        "net_growth": joins - leaves,
        "new_members": sum(r["new_members"] for r in daily),
        "members_now": sources.members_now(scope),
        "messages_per_day": round(messages / scope.days, 2),
        "days": scope.days,
        "quiet_days": sum(1 for r in daily if r["messages"] == 0),
        **stickiness(scope),
        "active_days": active_days_distribution(scope),
    }


def growth_get(scope: Scope, daily: list[dict]) -> dict:
    """Joins, leaves, net and new members per day, week and month, and the running net."""
    running = 0
    cumulative = []
    for row in daily:
        running += row["net"]
        cumulative.append({"date": row["date"], "net_total": running})
    return {
        "daily": daily,
        "weekly": period_series(scope, daily, "week"),
        "monthly": period_series(scope, daily, "month"),
        "cumulative_net": cumulative,
    }


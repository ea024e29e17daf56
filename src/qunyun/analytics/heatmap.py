"""The hour × weekday heatmap (docs/metrics.md "Hour × weekday heatmap")."""

from __future__ import annotations

from . import sources
from .periods import days
from .scope import Scope

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heatmap_get(scope: Scope) -> dict:
    """7 × 24 grids (Monday first, local hours): messages, average active members, member-hours."""
    messages, active = sources.hour_cells(scope, scope.start, scope.end)
    weekday_days = [0] * 7
    for day in days(scope.start, scope.end):
        weekday_days[day.weekday()] += 1
    grid_messages = [[0] * 24 for _ in range(7)]
    member_hours = [[0] * 24 for _ in range(7)]
    for (day, hour), n in messages.items():
        grid_messages[day.weekday()][hour] += n
    for (day, hour), n in active.items():
        member_hours[day.weekday()][hour] += n
    average = [
        [round(member_hours[w][h] / weekday_days[w], 2) if weekday_days[w] else 0.0 for h in range(24)]
        for w in range(7)
    ]
    return {
        "weekdays": list(WEEKDAYS),
        "hours": list(range(24)),
        "days_per_weekday": weekday_days,
        "messages": grid_messages,
        "active_members": average,
        "member_hours": member_hours,
    }

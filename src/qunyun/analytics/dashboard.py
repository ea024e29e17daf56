"""What the dashboard computes, in two parts: figures from the rollups, and figures from the log.

The benchmark (bench/analytics) times exactly these two functions.
"""

from __future__ import annotations


from . import sources
from .cohorts import lifecycle_get, retention_get
from .funnel import funnel_get
from .health import health_get
from .heatmap import heatmap_get
from .layers import layers_get
from .leaders import leaders_get
from .overview import daily_series, growth_get, overview_get
from .report import goals_get
from .scope import Scope
from .talk import talk_get


def rollup_figures(scope: Scope, *, period: str = "month", basis: str = "activity") -> dict:
    """The dashboard's figures that are read from rollups: overview, growth, heatmap, retention,
    lifecycle, funnel, layers, top members, health and goals."""
    with sources.memo():
        return _rollup_figures(scope, period=period, basis=basis)


def _rollup_figures(scope: Scope, *, period: str, basis: str) -> dict:
    daily = daily_series(scope)
    growth = growth_get(scope, daily)
    return {
        "overview": overview_get(scope, daily=daily),
        "daily": daily,
        "weekly": growth["weekly"],
        "monthly": growth["monthly"],
        "heatmap": heatmap_get(scope),
        "retention": retention_get(scope, period=period, basis=basis),
        "lifecycle_weekly": lifecycle_get(scope, period="week"),
        "lifecycle_monthly": lifecycle_get(scope, period="month"),
        "funnel": funnel_get(scope),
        "layers": layers_get(scope),
        "top_members": [{"member_id": m, "member": n, "messages": c}
                        for m, n, c in sources.top_members(scope, scope.start, scope.end, 20)],
        "health": health_get(scope),
        "goals": goals_get(scope),
    }


def log_figures(scope: Scope) -> dict:
    """Conversations (kept per group and day, computed from the log when missing) and opinion leaders."""
    with sources.memo():
        return {"talk": talk_get(scope), "leaders": leaders_get(scope)}


def dashboard_figures(scope: Scope, *, period: str = "month", basis: str = "activity") -> dict:
    """Everything the dashboard shows."""
    with sources.memo():
        return {**rollup_figures(scope, period=period, basis=basis), **log_figures(scope)}

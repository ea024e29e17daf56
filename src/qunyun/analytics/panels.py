"""The analytics panels on the console's community, group and member pages (see console/panels.py).

Each answers in a few queries over the rollups: the pages serve communities of 200,000 members.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from . import charts, sources
from .health import health_get
from .layers import LAYER_LABELS
from .member import member_profile_get
from .periods import days
from .scope import scope_build

LIFECYCLE_LABELS = {
    "new": lambda: pgettext("lifecycle", "new"),
    "returning": lambda: pgettext("lifecycle", "returning"),
    "resurrecting": lambda: pgettext("lifecycle", "resurrecting"),
    "dormant": lambda: pgettext("lifecycle", "dormant"),
    "inactive": lambda: pgettext("lifecycle", "inactive"),
}


def _activity_chart(scope, title: str) -> str:
    """Messages and active members per day (two rollup reads; no new-member count, which needs history)."""
    totals = sources.day_totals(scope, scope.start, scope.end)
    active = sources.daily_active(scope, scope.start, scope.end)
    labels = [d.isoformat()[5:] for d in days(scope.start, scope.end)]
    return charts.line_chart(labels, [
        (_("messages"), [totals.get(d, (0,))[0] for d in days(scope.start, scope.end)]),
        (_("active members"), [active.get(d, (0, 0))[0] for d in days(scope.start, scope.end)]),
    ], title=title, height=180, empty=_("no activity in the last 30 days"))


def community_panel(*, community, today, **_kwargs) -> dict:
    scope = scope_build(community=community, start=today - timedelta(days=29), end=today)
    return {"chart": _activity_chart(scope, _("Messages and active members, last 30 days"))}


def group_panel(*, community, today, group, **_kwargs) -> dict:
    scope = scope_build(community=community, start=today - timedelta(days=29), end=today, groups=[group.pk])
    health = health_get(scope)
    band = health["groups"][0]["band"] if health["groups"] else ""
    return {"chart": _activity_chart(scope, _("Messages and active members in this group, last 30 days")),
            "alerts": [a for a in health["alerts"] if a["group"] == group.name], "band": band}


def member_panel(*, community, today, member, **_kwargs) -> dict:
    scope = scope_build(community=community, start=today - timedelta(days=89), end=today)
    profile = member_profile_get(scope, member)
    timeline = profile["timeline"]
    chart = charts.bar_chart([r["date"][5:] for r in timeline], [
        (_("messages"), [r["messages"] for r in timeline]),
        (_("reactions"), [r["reactions"] for r in timeline]),
    ], title=_("Messages and reactions per day, last 90 days"), height=160, empty=_("no activity in the last 90 days"))
    return {"profile": profile, "chart": chart, "layer_label": LAYER_LABELS[profile["layer"]],
            "lifecycle_label": LIFECYCLE_LABELS[profile["lifecycle"]]()}


def panels_register() -> None:
    """Add the panels to the console's pages (once, from the app's ready())."""
    from qunyun.console.panels import COMMUNITY_PANELS, GROUP_PANELS, MEMBER_PANELS, Panel

    for panels, panel in (
        (COMMUNITY_PANELS, Panel("analytics/_community_panel.html", community_panel)),
        (GROUP_PANELS, Panel("analytics/_group_panel.html", group_panel)),
        (MEMBER_PANELS, Panel("analytics/_member_panel.html", member_panel)),
    ):
        if not any(p.template == panel.template for p in panels):
            panels.append(panel)

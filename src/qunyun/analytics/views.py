"""Analytics pages of the console: the dashboard, layer member lists, thresholds, definitions.

Every page takes the same filters from the query string (``from``, ``to``, ``group`` repeated,
``channel``), and every table on it can be downloaded as CSV with ``?export=<table>`` plus the
same filters. Access goes through the console's one check (:func:`community_for_operator`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from qunyun.communities.models import Channel, Group
from qunyun.console.export import csv_response
from qunyun.operators.selectors import community_for_operator, role_at_least

from . import charts
from .dashboard import dashboard_figures
from .config import SettingsError, layer_thresholds, layer_thresholds_set
from .definitions import DEFINITIONS
from .exports import EXPORTS, dashboard_table
from .layers import LAYER_LABELS, LAYERS, layer_members, layers_compute, layers_get
from .report import report_charts
from .scope import AnalyticsError, scope_build

PER_PAGE = 100


def _scope_from(request, community, *, groups=None):
    """The scope the query string asks for; a bad filter becomes a message and the default range."""
    params = request.GET
    try:
        return scope_build(community=community, start=params.get("from"), end=params.get("to"),
                           groups=groups if groups is not None else params.getlist("group"),
                           channel=params.get("channel")), None
    except AnalyticsError as exc:
        return scope_build(community=community, groups=groups or ()), str(exc)


def _filters_context(community, scope, request) -> dict:
    query = request.GET.copy()
    query.pop("export", None)
    query.pop("page", None)
    return {
        "scope": scope,
        "all_groups": list(Group.objects.filter(community=community).order_by("name").values("pk", "name")),
        "all_channels": list(Channel.objects.filter(community=community).order_by("name").values("code", "name")),
        "chosen_groups": set(scope.group_ids),
        "query": query.urlencode(),
    }


@login_required
def dashboard(request, slug):
    """The community dashboard: figures, charts and tables for the chosen range and filters."""
    community = community_for_operator(request.user, slug)
    scope, error = _scope_from(request, community)
    period = request.GET.get("period") if request.GET.get("period") in ("week", "month") else "month"
    basis = request.GET.get("basis") if request.GET.get("basis") in ("activity", "message", "join") else "activity"
    figures = dashboard_figures(scope, period=period, basis=basis)
    export = request.GET.get("export")
    if export:
        if export not in EXPORTS:
            raise Http404("no such table")
        header, rows = dashboard_table(figures, export)
        return csv_response(request, filename=f"{community.slug}-{export}-{scope.start}-{scope.end}.csv",
                            header=header, rows=rows)
    report_like = {
        "daily": figures["daily"], "lifecycle_weekly": figures["lifecycle_weekly"], "layers": figures["layers"],
        "funnel": figures["funnel"], "heatmap": figures["heatmap"],
    }
    retention = [
        {**row, "cells": [{"count": n, "rate": r, "style": charts.cell_shade(r)}
                          for n, r in zip(row["periods"], row["rates"])],
         "later": [{"count": n, "rate": r, "style": charts.cell_shade(r)}
                   for n, r in zip(row["or_later"], row["or_later_rates"])]}
        for row in figures["retention"]["cohorts"]
    ]
    longest = max((len(r["periods"]) for r in retention), default=0)
    drawn = report_charts(report_like, narrow=480)
    dist = figures["overview"]["active_days"]["last_30_days"]
    drawn["active_days"] = charts.bar_chart(list(dist), [(_("members"), list(dist.values()))],
                                            title=_("Members by active days in the last 30 days"), height=180, width=480,
                                            empty=_("no data in this range"))
    talk_daily = figures["talk"]["daily"]
    drawn["conversations"] = charts.line_chart([d["date"][5:] for d in talk_daily], [
        (_("conversations"), [d["conversations"] for d in talk_daily]),
        (_("answered messages"), [d["answered"] for d in talk_daily]),
    ], title=_("Conversations and answered messages per day"), height=180, width=480,
        empty=_("no data in this range"))
    return render(request, "analytics/dashboard.html", {
        "community": community, "section": "analytics", "error": error,
        **_filters_context(community, scope, request),
        "f": figures, "charts": drawn, "retention_rows": retention,
        "retention_columns": list(range(longest)), "period": period, "basis": basis,
        "layer_rows": [(key, LAYER_LABELS[key], figures["layers"]["counts"][key]) for key in LAYERS],
        "exports": EXPORTS,
    })


@login_required
def layer_list(request, slug, layer):
    """One layer's members (a clickable layer of the dashboard), paged, with CSV."""
    community = community_for_operator(request.user, slug)
    if layer not in LAYERS:
        raise Http404("no such layer")
    scope, error = _scope_from(request, community)
    thresholds = layer_thresholds(community)
    computed = layers_compute(scope, scope.end, thresholds)
    if request.GET.get("export") == "csv":
        listed = layer_members(scope, layer, limit=None, computed=computed)
        return csv_response(
            request, filename=f"{community.slug}-{layer}-{scope.end}.csv",
            header=["member_id", "member", "active_days", "messages", "replies", "reactions", "in_group",
                    "last_message_day"],
            rows=([m["member_id"], m["member"], m["active_days"], m["messages"], m["replies"], m["reactions"],
                   m["in_group"], m["last_message_day"]] for m in listed["members"]))
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    listed = layer_members(scope, layer, limit=PER_PAGE, offset=(page - 1) * PER_PAGE, computed=computed)
    pages = max(1, (listed["total"] + PER_PAGE - 1) // PER_PAGE)
    return render(request, "analytics/layer.html", {
        "community": community, "section": "analytics", "error": error, **_filters_context(community, scope, request),
        "layer": layer, "layer_label": LAYER_LABELS[layer], "listed": listed, "page": page, "pages": pages,
        "thresholds": thresholds, "layers": layers_get(scope, computed=computed),
        "layer_keys": [(key, LAYER_LABELS[key]) for key in LAYERS],
    })


@login_required
def thresholds(request, slug):
    """Layer thresholds: anyone with access sees them, an admin changes them."""
    community = community_for_operator(request.user, slug)
    can_change = role_at_least(community.operator_role, "admin")
    current = layer_thresholds(community)
    if request.method == "POST":
        if not can_change:
            raise Http404("no such page")
        try:
            layer_thresholds_set(community=community, values={k: request.POST.get(k) for k in current.__dict__})
        except SettingsError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Layer thresholds saved."))
            return redirect("analytics:thresholds", slug=community.slug)
    return render(request, "analytics/thresholds.html", {
        "community": community, "section": "analytics", "thresholds": current.__dict__, "can_change": can_change,
    })


def definitions(request):
    """Every metric definition, with anchors (figures everywhere link here)."""
    return render(request, "analytics/definitions.html", {"definitions": list(DEFINITIONS.values())})

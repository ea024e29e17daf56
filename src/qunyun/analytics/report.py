"""The community report: every figure as one JSON document, and as HTML / PDF to forward.

``qunyun report`` and the API's ``/report`` serve :func:`report_build`; :func:`report_html`
renders the same dict with server-side SVG charts; :func:`report_pdf` prints that HTML with a
headless Chromium (the Debian ``chromium`` package), so the PDF is exactly the HTML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from qunyun.communities.models import Goal
from qunyun.communities.selectors import CommunityFigures, goals_progress

from . import charts, sources
from .cohorts import lifecycle_get, retention_get
from .definitions import DEFINITIONS, definition_url
from .funnel import funnel_get
from .health import health_get
from .heatmap import heatmap_get
from .layers import LAYER_LABELS, layers_get
from .leaders import leaders_get
from .overview import growth_get, overview_get, daily_series
from .scope import Scope
from .talk import talk_get

TOP_MEMBERS = 50


def goals_get(scope: Scope) -> list[dict]:
    """Progress of every goal as of the scope's end (the communities area's goal selector).

    Goals are about the whole community: without a filter, its 7-day active members and messages
    are the ones this page has read already (same rollups, same rule), not read a second time.
    """
    if not Goal.objects.filter(community=scope.community).exists():
        return []
    figures = None
    if not scope.filtered:
        week = scope.end - timedelta(days=6)
        totals = sources.day_totals(scope, scope.start, scope.end) if week >= scope.start else \
            sources.day_totals(scope, week, scope.end)
        figures = CommunityFigures(
            # The rollups' "in a group now" (the overview has read it already): the same people as
            # the communities' roster count, without its probe of every member's memberships
            # (115 ms of the dashboard's ~1.1 s at 200,000 members).
            today=scope.end, members_now=sources.members_now(scope),
            weekly_active=sum(sources.window_day_counts(scope, week, scope.end).values()),
            messages_7d=sum(row[0] for day, row in totals.items() if week <= day <= scope.end))
    out = []
    for p in goals_progress(scope.community, today=scope.end, figures=figures):
        out.append({
            "title": p.goal.title, "metric": p.goal.metric, "baseline": p.goal.baseline, "target": p.goal.target,
            "start": p.goal.start.isoformat() if p.goal.start else None, "due": p.goal.due.isoformat(),
            "current": p.current, "progress": p.fraction, "expected": p.expected, "days_left": p.days_left,
            "status": p.status,
        })
    return out


def report_build(scope: Scope) -> dict:
    """Every figure of the scope, keyed as documented in docs/metrics.md and docs/analytics.md."""
    with sources.memo():
        return _report_build(scope)


def _report_build(scope: Scope) -> dict:
    daily = daily_series(scope)
    overview = overview_get(scope, daily=daily)
    growth = growth_get(scope, daily)
    retention = retention_get(scope, period="month", basis="message")
    return {
        "scope": scope.describe(),
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "definitions": {key: definition_url(key) for key in DEFINITIONS},
        "messages": overview["messages"],
        "authors": overview["authors"],
        "joins": overview["joins"],
        "leaves": overview["leaves"],
        "net_growth": overview["net_growth"],
        "reactions": overview["reactions"],
        "active_members": overview["active_members"],
        "new_members": overview["new_members"],
        "members_now": overview["members_now"],
        "messages_per_day": overview["messages_per_day"],
        "quiet_days": overview["quiet_days"],
        "dau": overview["dau"], "wau": overview["wau"], "mau": overview["mau"],
        "average_dau_30": overview["average_dau_30"], "dau_mau": overview["dau_mau"],
        "active_days": overview["active_days"],
        "daily": daily,
        "weekly": growth["weekly"],
        "monthly": growth["monthly"],
        "top_members": [{"member": name, "member_id": m, "messages": n}
                        for m, name, n in sources.top_members(scope, scope.start, scope.end, TOP_MEMBERS)],
        "heatmap": heatmap_get(scope),
        "retention_monthly": [{"cohort": c["cohort"], "size": c["size"], "periods": c["periods"],
                               "or_later": c["or_later"]} for c in retention["cohorts"]],
        "retention_monthly_basis": "message (cohort = month of first message; period N = posted in month N)",
        "retention_by_channel": retention["by_channel"],
        "lifecycle_weekly": lifecycle_get(scope, period="week"),
        "lifecycle_monthly": lifecycle_get(scope, period="month"),
        "funnel": funnel_get(scope),
        "layers": layers_get(scope),
        "opinion_leaders": leaders_get(scope),
        "conversations": talk_get(scope),
        "health": health_get(scope),
        "goals": goals_get(scope),
    }


def report_charts(report: dict, *, narrow: int = 760) -> dict[str, str]:
    """The report's charts as SVG markup, by name (``narrow`` = width of the bar lists, for half-width cards)."""
    daily = report["daily"]
    labels = [row["date"][5:] for row in daily]
    weekly = report["lifecycle_weekly"]
    layers = report["layers"]["counts"]
    funnel = report["funnel"]["total"]
    heat = report["heatmap"]
    empty = _("no data in this range")
    return {
        "activity": charts.line_chart(labels, [
            (_("messages"), [r["messages"] for r in daily]),
            (_("active members"), [r["active_members"] for r in daily]),
        ], title=_("Messages and active members per day"), empty=empty),
        "growth": charts.bar_chart(labels, [
            (_("joins"), [r["joins"] for r in daily]),
            (_("leaves"), [-r["leaves"] for r in daily]),
        ], title=_("Joins and leaves per day"), empty=empty),
        "heatmap": charts.heatmap_chart(heat["weekdays"], [str(h) for h in heat["hours"]], heat["messages"],
                                        title=_("Messages by weekday and hour"), empty=empty),
        "heatmap_active": charts.heatmap_chart(heat["weekdays"], [str(h) for h in heat["hours"]],
                                               heat["active_members"], title=_("Average active members by weekday and hour"),
                                               empty=empty),
        "lifecycle": charts.bar_chart([r["period"][5:] for r in weekly], [
            (_("new"), [r["new"] for r in weekly]),
            (_("returning"), [r["returning"] for r in weekly]),
            (_("resurrecting"), [r["resurrecting"] for r in weekly]),
            (_("dormant"), [-r["dormant"] for r in weekly]),
        ], title=_("Lifecycle per week"), empty=empty),
        "layers": charts.hbar_chart([str(LAYER_LABELS[k]) for k in layers], list(layers.values()), title=_("Members per layer"),
                                    empty=empty, width=narrow),
        "funnel": charts.hbar_chart(
            [_("joined"), _("first message"), _("active in weeks 2–4"), _("paid"), _("brought someone")],
            [funnel["acquired"], funnel["activated"], funnel["retained"], funnel["converted"], funnel["referred"]],
            title=_("Funnel"), empty=empty, width=narrow,
            note=["", "", _("of %(n)d eligible") % {"n": funnel["retention_eligible"]}, "", ""]),
    }


def report_html(report: dict, *, community) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no external files)."""
    retention = [
        {**row, "cells": [{"count": n, "style": charts.cell_shade(n / row["size"] if row["size"] else None)}
                          for n in row["periods"]]}
        for row in report["retention_monthly"]
    ]
    return render_to_string("analytics/report.html", {
        "report": report, "community": community, "charts": report_charts(report), "retention": retention,
        "definitions": list(DEFINITIONS.items()),
    })


class PdfError(RuntimeError):
    """The PDF could not be printed (no Chromium, or it failed), with what to do."""


def chromium_path() -> str | None:
    """The Chromium to print with: ``QUNYUN_CHROMIUM``, else the first of the usual names on PATH."""
    configured = os.environ.get("QUNYUN_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def report_pdf(html: str, output: Path, *, timeout: float = 120) -> None:
    """Print ``html`` to a PDF file with headless Chromium (A4, backgrounds kept)."""
    browser = chromium_path()
    if browser is None:
        raise PdfError("PDF output needs Chromium: install it (Debian: apt-get install chromium) "
                       "or set QUNYUN_CHROMIUM to its path; --format html works without it")
    with tempfile.TemporaryDirectory(prefix="qunyun-report-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        target = Path(work) / "report.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
            f"--user-data-dir={work}/profile", f"--print-to-pdf={target}", page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"Chromium did not finish printing within {timeout:.0f} s") from exc
        if not target.exists() or target.stat().st_size == 0:
            detail = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise PdfError(f"Chromium could not print the report (exit {done.returncode}: {detail[0]})")
        shutil.copyfile(target, output)

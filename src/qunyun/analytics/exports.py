"""The dashboard's tables as CSV: one header and row generator per table, from the computed figures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

#: Table name → label (the dashboard shows a CSV link for each).
EXPORTS = {
    "daily": _("daily figures"),
    "weekly": _("weekly figures"),
    "monthly": _("monthly figures"),
    "heatmap": _("hour × weekday"),
    "retention": _("retention cohorts"),
    "retention_channels": _("retention by channel"),
    "lifecycle_weekly": _("lifecycle per week"),
    "lifecycle_monthly": _("lifecycle per month"),
    "funnel": _("funnel by channel"),
    "layers": _("layers"),
    "top_members": _("top members"),
    "leaders": _("opinion leaders"),
    "conversations": _("conversations per day"),
    "alerts": _("health alerts"),
    "goals": _("goals"),
}


def _rows(items: list[dict], keys: list[str]) -> tuple[list[str], Iterable[list[Any]]]:
    return keys, ([item.get(k) for k in keys] for item in items)


def dashboard_table(f: dict, name: str) -> tuple[list[str], Iterable[list[Any]]]:
    """``(header, rows)`` of one dashboard table."""
    if name == "daily":
        return _rows(f["daily"], ["date", "messages", "reactions", "active_members", "authors", "joins", "leaves",
                                  "net", "new_members"])
    if name in ("weekly", "monthly"):
        return _rows(f[name], ["period", "partial", "messages", "active_members", "joins", "leaves", "net",
                               "new_members"])
    if name == "heatmap":
        h = f["heatmap"]
        header = ["weekday", "hour", "messages", "average_active_members", "member_hours"]
        return header, ([h["weekdays"][w], hour, h["messages"][w][hour], h["active_members"][w][hour],
                         h["member_hours"][w][hour]] for w in range(7) for hour in range(24))
    if name == "retention":
        r = f["retention"]
        width = max((len(c["periods"]) for c in r["cohorts"]), default=0)
        header = ["cohort", "size", *(f"in_{n}" for n in range(width)), *(f"{n}_or_later" for n in range(width))]
        return header, ([c["cohort"], c["size"], *c["periods"], *[""] * (width - len(c["periods"])),
                         *c["or_later"], *[""] * (width - len(c["or_later"]))] for c in r["cohorts"])
    if name == "retention_channels":
        rows = f["retention"]["by_channel"]
        return ["channel", "size", "period", "eligible", "retained", "rate"], (
            [c["channel"], c["size"], p["n"], p["eligible"], p["retained"], p["rate"]] for c in rows for p in c["periods"])
    if name in ("lifecycle_weekly", "lifecycle_monthly"):
        return _rows(f[name], ["period", "partial", "active", "new", "returning", "resurrecting", "dormant"])
    if name == "funnel":
        return _rows(f["funnel"]["channels"], ["channel", "acquired", "activated", "retention_eligible", "retained",
                                               "converted", "referred", "activation_rate", "retention_rate",
                                               "conversion_rate", "referral_rate"])
    if name == "layers":
        counts = f["layers"]["counts"]
        return ["layer", "members"], ([k, v] for k, v in counts.items())
    if name == "top_members":
        return _rows(f["top_members"], ["member_id", "member", "messages"])
    if name == "leaders":
        return ["rank", "member_id", "member", "score", "messages", "replies_received", "mentions_received",
                "answered_by_members", "answered_by", "answers"], (
            [x["rank"], x["member_id"], x["member"], x["score"], x["messages"], x["replies_received"],
             x["mentions_received"], x["answered_by_members"],
             [f"{a['member']} ({a['count']})" for a in x["answered_by"]],
             [f"{a['member']} ({a['count']})" for a in x["answers"]]] for x in f["leaders"])
    if name == "conversations":
        return _rows(f["talk"]["daily"], ["date", "conversations", "messages", "answered", "questions"])
    if name == "alerts":
        return ["severity", "kind", "group", "title", "explanation", "advice"], (
            [a["severity"], a["kind"], a["group"], a["title"], a["explanation"], a["advice"]]
            for a in f["health"]["alerts"])
    if name == "goals":
        return _rows(f["goals"], ["title", "metric", "baseline", "target", "current", "progress", "expected", "due",
                                  "status"])
    raise KeyError(name)

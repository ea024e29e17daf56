"""Layering (用户分层): core, active, occasional, lurker, churned (docs/metrics.md "Layers").

:func:`layer_of` is the rule, pure and tested on its own; :func:`layers_get` applies it to the
scope's window; :func:`layer_members` gives one layer's member list (the console's clickable
layer and its CSV).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.utils.translation import pgettext_lazy

from . import sources
from .config import LayerThresholds, layer_thresholds
from .scope import Scope

LAYERS = ("core", "active", "occasional", "lurker", "churned")
LAYER_LABELS = {
    "core": pgettext_lazy("layer", "core"), "active": pgettext_lazy("layer", "active"),
    "occasional": pgettext_lazy("layer", "occasional"), "lurker": pgettext_lazy("layer", "lurker"),
    "churned": pgettext_lazy("layer", "churned"),
}


def layer_of(*, active_days: int, messages: int, replies: int, current: bool, thresholds: LayerThresholds) -> str:
    """The layer of one member from their window figures (first rule that matches)."""
    t = thresholds
    if active_days >= t.core_min_active_days and (messages >= t.core_min_messages or replies >= t.core_min_replies):
        return "core"
    if active_days >= t.active_min_active_days and messages >= 1:
        return "active"
    if messages >= 1:
        return "occasional"
    return "lurker" if current else "churned"


def window_of(as_of: date, thresholds: LayerThresholds) -> tuple[date, date]:
    return as_of - timedelta(days=thresholds.window_days - 1), as_of


def layers_compute(scope: Scope, as_of: date, thresholds: LayerThresholds) -> dict[int, tuple[str, list[int], bool]]:
    """``{member: (layer, [active days, messages, replies, reactions], current)}`` for the window ending ``as_of``."""
    first, last = window_of(as_of, thresholds)
    window = sources.member_window(scope, first, last)
    current = sources.memberships(scope)
    out = {}
    empty = [0, 0, 0, 0]
    for member in current.keys() | window.keys():
        figures = window.get(member, empty)
        is_current = current.get(member, False)
        layer = layer_of(active_days=figures[0], messages=figures[1], replies=figures[2], current=is_current,
                         thresholds=thresholds)
        out[member] = (layer, figures, is_current)
    return out


def layers_count(scope: Scope, as_of: date, thresholds: LayerThresholds) -> Counter:
    """Members per layer, the same as counting :func:`layers_compute`, without listing everyone.

    Members active in the window are classified one by one; the silent ones are counted in SQL:
    lurkers are the current members who did not post, the churned the rest of those ever in.
    """
    first, last = window_of(as_of, thresholds)
    window = sources.member_window(scope, first, last)
    counts: Counter = Counter()
    posters = 0
    for days, messages, replies, _reactions in window.values():
        if messages >= 1:
            posters += 1
            counts[layer_of(active_days=days, messages=messages, replies=replies, current=True,
                            thresholds=thresholds)] += 1
    now = sources.members_now(scope)
    current_posters = sources.current_posters(scope, first, last)
    counts["lurker"] = now - current_posters
    counts["churned"] = sources.members_ever(scope) - now - (posters - current_posters)
    return counts


def layers_get(scope: Scope, *, computed: dict | None = None) -> dict:
    """Members per layer as of the scope's end, with the thresholds and window used."""
    thresholds = layer_thresholds(scope.community)
    if computed is not None:
        counts = Counter(layer for layer, _f, _c in computed.values())
    else:
        counts = layers_count(scope, scope.end, thresholds)
    first, last = window_of(scope.end, thresholds)
    return {
        "as_of": scope.end.isoformat(),
        "window": {"from": first.isoformat(), "to": last.isoformat()},
        "thresholds": thresholds.__dict__,
        "counts": {layer: counts.get(layer, 0) for layer in LAYERS},
        "total": sum(counts.values()),
    }


def layer_members(scope: Scope, layer: str, *, limit: int | None = 100, offset: int = 0,
                  computed: dict | None = None) -> dict:
    """One layer's members, most messages first: figures in the window, whether still in, last message."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r} (one of {', '.join(LAYERS)})")
    thresholds = layer_thresholds(scope.community)
    computed = computed if computed is not None else layers_compute(scope, scope.end, thresholds)
    chosen = [(m, f, c) for m, (lay, f, c) in computed.items() if lay == layer]
    names = sources.names(m for m, _f, _c in chosen) if len(chosen) <= 5000 else None
    chosen.sort(key=lambda item: (-item[1][1], -item[1][0], (names or {}).get(item[0], ""), item[0]))
    page = chosen[offset:] if limit is None else chosen[offset:offset + limit]
    if names is None:
        names = sources.names(m for m, _f, _c in page)
    last_message = sources.last_message_days(scope, [m for m, _f, _c in page], scope.end)
    return {
        "layer": layer, "total": len(chosen), "offset": offset,
        "members": [
            {"member_id": m, "member": names.get(m, f"#{m}"), "active_days": f[0], "messages": f[1], "replies": f[2],
             "reactions": f[3], "in_group": c,
             "last_message_day": last_message[m].isoformat() if m in last_message else None}
            for m, f, c in page
        ],
    }

"""Health alerts (docs/metrics.md "Health"): Dunbar bands, silent core members, water/ad drift, dying groups.

Every alert carries the numbers that triggered it, an explanation in the operator's language,
advice, and the key of its definition.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from qunyun.communities.models import Group
from qunyun.communities.selectors import dunbar_band  # one definition of the bands: small, circle, large

from . import sources
from .config import health_thresholds, layer_thresholds
from .layers import window_of
from .scope import Scope

SMALL_MAX, MEDIUM_MAX = 50, 150
SHARE_MIN_MESSAGES = 20  # fewer messages in a fortnight say nothing about a share


def dying_check(weekly: list[int], *, last_to_first: float, min_first: int) -> bool:
    """Four weekly message counts, oldest first: each lower than the one before, last ≤ share of first."""
    if len(weekly) < 4 or weekly[0] < min_first:
        return False
    falling = all(later < earlier for earlier, later in zip(weekly, weekly[1:]))
    return falling and weekly[-1] <= last_to_first * weekly[0]


def share_alert(now_count: int, now_total: int, before_count: int, before_total: int, *, level: float,
                rise: float) -> tuple[bool, float | None, float | None]:
    """Whether a share is at least ``level`` and rose by ``rise``; returns the two shares too."""
    now = now_count / now_total if now_total else None
    before = before_count / before_total if before_total else None
    if now is None or now_total < SHARE_MIN_MESSAGES:
        return False, now, before
    return now >= level and now - (before or 0.0) >= rise, now, before


def _alert(kind: str, severity: str, title: str, explanation: str, advice: str, numbers: dict,
           definition: str, group: str | None = None, members: list | None = None) -> dict:
    alert = {"kind": kind, "severity": severity, "group": group, "title": title, "explanation": explanation,
             "advice": advice, "numbers": numbers, "definition": definition}
    if members is not None:
        alert["members"] = members
    return alert


def _group_sums(scope: Scope, spans: list[tuple[date, date]], mix_spans: int) -> dict[int, list[list[int]]]:
    """``{group: [[messages, water, links, deleted] for each span]}`` summed in the database; the
    water, links and deleted counts only for the first ``mix_spans`` spans (0 in the others)."""
    where = f" AND g.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    d = sources._d
    out: dict[int, list[list[int]]] = defaultdict(lambda: [[0, 0, 0, 0] for _ in spans])
    for table, columns, offset, summed in (("qunyun_group_day", ("messages",), 0, spans),
                                           ("qunyun_group_day_mix", ("water", "links", "deleted"), 1,
                                            spans[:mix_spans])):
        first = min(a for a, _b in summed)
        last = max(b for _a, b in summed)
        select = ", ".join(f"SUM(CASE WHEN g.day BETWEEN %s AND %s THEN g.{c} ELSE 0 END)"
                           for a, b in summed for c in columns)
        params = [v for a, b in summed for _c in columns for v in (d(a), d(b))]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT g.group_id, {select} FROM {table} g WHERE g.community_id = %s "
                           f"AND g.day BETWEEN %s AND %s{where} GROUP BY g.group_id",
                           [*params, scope.cid, d(first), d(last), *scope.group_ids])
            for group, *values in cursor.fetchall():
                row = out[group]
                for k, value in enumerate(values):
                    span, column = divmod(k, len(columns))
                    row[span][offset + column] = int(value or 0)
    return out


def health_get(scope: Scope) -> dict:
    """The groups' sizes and bands, and every alert that fires on the as-of date."""
    t = health_thresholds(scope.community)
    end = scope.end
    groups = Group.objects.filter(community=scope.community)
    if scope.group_ids:
        groups = groups.filter(pk__in=scope.group_ids)
    groups = list(groups.order_by("name"))
    sizes = sources.members_now_by_group(scope)
    alerts: list[dict] = []
    group_rows = []
    has_rules = bool((scope.community.rules_text or "").strip())
    for group in groups:
        size = sizes.get(group.pk, 0)
        band = dunbar_band(size)
        intended = (group.settings or {}).get("dunbar_band")
        group_rows.append({"group": group.name, "group_id": group.pk, "members_now": size, "band": band,
                           "intended_band": intended})
        numbers = {"members_now": size, "band": band, "small_max": SMALL_MAX, "circle_max": MEDIUM_MAX}
        if band == "large":
            alerts.append(_alert(
                "dunbar", "warning", _("%(group)s is beyond one real circle") % {"group": group.name},
                _("%(group)s has %(n)d members, more than %(max)d (Dunbar's number).")
                % {"group": group.name, "n": size, "max": MEDIUM_MAX},
                _("Split it by topic or region and give each sub-group its own host; keep the core members "
                  "spread across them."), numbers, "dunbar", group.name))
        elif band == "circle":
            alerts.append(_alert(
                "dunbar", "warning" if not has_rules else "info",
                _("%(group)s needs rules and activities") % {"group": group.name},
                _("%(group)s has %(n)d members: above %(min)d a group no longer talks by itself%(rules)s.")
                % {"group": group.name, "n": size, "min": SMALL_MAX,
                   "rules": "" if has_rules else _(", and the community has no rules text")},
                _("Write short rules, schedule regular topics or activities, and name hosts."),
                numbers, "dunbar", group.name))
        if intended in ("small", "circle", "large") and intended != band:
            alerts.append(_alert(
                "dunbar", "warning", _("%(group)s is outside its intended band") % {"group": group.name},
                _("%(group)s was meant to be %(intended)s but has %(n)d members (%(band)s).")
                % {"group": group.name, "intended": intended, "n": size, "band": band},
                _("Split the group or cap new joins (size cap) to bring it back to its band.")
                if size > (SMALL_MAX if intended == "small" else MEDIUM_MAX)
                else _("Invite members through the group's channels, or merge it with a related group."),
                {**numbers, "intended_band": intended}, "dunbar", group.name))
    alerts.extend(_silent_core(scope, t.silent_core_days))
    if scope.channel_id is None:
        alerts.extend(_drift_and_dying(scope, groups, t, end))
    order = {"warning": 0, "info": 1}
    alerts.sort(key=lambda a: (order.get(a["severity"], 2), a["kind"], a["group"] or ""))
    return {"as_of": end.isoformat(), "groups": group_rows, "alerts": alerts, "thresholds": t.__dict__}


def _silent_core(scope: Scope, silent_days: int) -> list[dict]:
    end = scope.end
    then = end - timedelta(days=silent_days)
    thresholds = layer_thresholds(scope.community)
    first, last = window_of(then, thresholds)
    since = then + timedelta(days=1)
    core_then = sources.core_members(scope, first, last, thresholds, silent_since=since)
    if not core_then:
        return []
    posted = sources.posted_since(scope, core_then, since)
    silent = [m for m in core_then if m not in posted]
    if not silent:
        return []
    names = sources.names(silent)
    last = sources.last_message_days(scope, silent, end)
    members = sorted(
        ({"member_id": m, "member": names.get(m, f"#{m}"),
          "last_message_day": last[m].isoformat() if m in last else None} for m in silent),
        key=lambda x: (x["last_message_day"] or "", x["member"]))
    return [_alert(
        "silent_core", "warning",
        ngettext("%(n)d core member went silent", "%(n)d core members went silent", len(silent)) % {"n": len(silent)},
        ngettext("%(n)d member who was core on %(then)s has posted nothing in the %(days)d days since.",
                 "%(n)d members who were core on %(then)s have posted nothing in the %(days)d days since.",
                 len(silent)) % {"n": len(silent), "then": then.isoformat(), "days": silent_days},
        _("Reach out to them personally: ask what changed, invite them to host a topic."),
        {"silent": len(silent), "core_as_of": then.isoformat(), "days": silent_days},
        "silent_core", None, members)]


def _drift_and_dying(scope: Scope, groups, t, end: date) -> list[dict]:
    alerts = []
    # The last four complete Monday–Sunday weeks up to the as-of date.
    last_sunday = end if end.weekday() == 6 else end - timedelta(days=end.weekday() + 1)
    weeks = [last_sunday - timedelta(days=27 - 7 * i) for i in range(4)]
    now_span = (end - timedelta(days=13), end)
    before_span = (end - timedelta(days=27), end - timedelta(days=14))
    spans = [now_span, before_span, *((w, w + timedelta(days=6)) for w in weeks)]
    # The shares compare the last 14 days with the 14 before; the weeks need messages only.
    sums = _group_sums(scope, spans, mix_spans=2)
    empty = [[0, 0, 0, 0] for _ in spans]
    for group in groups:
        now_row, before_row, *week_rows = sums.get(group.pk, empty)
        messages_now, messages_before = now_row[0], before_row[0]
        for slot, kind_name, level in ((1, "water", t.water_alert_share), (2, "links", t.link_alert_share),
                                       (3, "deleted", t.deleted_alert_share)):
            fired, now, before = share_alert(now_row[slot], messages_now, before_row[slot], messages_before,
                                             level=level, rise=t.share_rise)
            if not fired:
                continue
            label = {"water": _("water (very short or sticker) messages"), "links": _("messages with links"),
                     "deleted": _("deleted messages")}[kind_name]
            advice = {"water": _("Bring the group back to its topic: post a question of the day, remind the rules, "
                                 "move chit-chat to a side group."),
                      "links": _("Check for ads: review the link posters, tighten the link rules, turn on "
                                 "moderation for links."),
                      "deleted": _("Many messages are being removed: look at what is deleted and who posts it; "
                                   "consider entry screening.")}[kind_name]
            alerts.append(_alert(
                "noise_share", "warning",
                _("%(group)s: rising share of %(what)s") % {"group": group.name, "what": label},
                _("%(share).0f%% of the last 14 days' %(n)d messages were %(what)s, up from %(before).0f%% in the 14 "
                  "days before.") % {"share": now * 100, "n": messages_now, "what": label,
                                     "before": (before or 0) * 100},
                advice,
                {"kind": kind_name, "share_last_14_days": round(now, 4),
                 "share_previous_14_days": round(before, 4) if before is not None else None,
                 "messages_last_14_days": messages_now, "messages_previous_14_days": messages_before},
                "noise_share", group.name))
        weekly = [row[0] for row in week_rows]
        if dying_check(weekly, last_to_first=t.dying_last_to_first, min_first=t.dying_min_first_week):
            alerts.append(_alert(
                "dying", "warning", _("%(group)s is dying") % {"group": group.name},
                _("Messages per week fell four weeks in a row: %(weeks)s (the last week is %(pct).0f%% of the first).")
                % {"weeks": " → ".join(str(n) for n in weekly), "pct": 100 * weekly[-1] / weekly[0]},
                _("Revive it: ask the core members what they need, run an activity, or merge it into a livelier "
                  "group."),
                {"weeks": [w.isoformat() for w in weeks], "messages": weekly}, "dying", group.name))
    return alerts

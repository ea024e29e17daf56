"""Retention cohorts and lifecycle (docs/metrics.md "Retention and lifecycle").

The arithmetic is pure (:func:`retention_table`, :func:`lifecycle_table`, plain data in, rows
out) and tested on hand-made inputs; the ``*_get`` functions read the rollups for a scope.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from . import sources
from .periods import period_end, period_index, period_label, period_start, periods_between, previous_period
from .scope import Scope

BASES = ("activity", "message", "join")
MAX_CHANNEL_PERIODS = 6


def retention_table(
    *, cohort_of: dict[int, date], active: dict[int, set[date]], cohorts: list[date], last: date, period: str,
) -> list[dict]:
    """Cohort rows with "in period N" and "in N or later" counts and rates.

    ``cohort_of`` maps members to their cohort period; ``active`` to the periods they were active
    in; ``cohorts`` are the cohort periods to show; ``last`` is the period containing the as-of date.
    """
    wanted = set(cohorts)
    members_of: dict[date, list[int]] = defaultdict(list)
    for member, cohort in cohort_of.items():
        if cohort in wanted:
            members_of[cohort].append(member)
    rows = []
    for cohort in cohorts:
        span = period_index(last, cohort, period) + 1
        in_period = [0] * span
        or_later = [0] * span
        members = members_of.get(cohort, [])
        for member in members:
            latest = -1
            for p in active.get(member, ()):
                n = period_index(p, cohort, period)
                if 0 <= n < span:
                    in_period[n] += 1
                    latest = max(latest, n)
            for n in range(latest + 1):
                or_later[n] += 1
        size = len(members)
        rows.append({
            "cohort": period_label(cohort, period), "start": cohort.isoformat(), "size": size,
            "periods": in_period, "or_later": or_later,
            "rates": [round(v / size, 4) if size else None for v in in_period],
            "or_later_rates": [round(v / size, 4) if size else None for v in or_later],
        })
    return rows


def lifecycle_table(
    *, active_by_period: dict[date, set[int]], first_period: dict[int, date], periods: list[date], period: str,
) -> list[dict]:
    """New, returning, resurrecting and dormant members for each period in ``periods``."""
    rows = []
    for start in periods:
        now = active_by_period.get(start, set())
        before = active_by_period.get(previous_period(start, period), set())
        new = {m for m in now if first_period.get(m) == start}
        returning = now & before
        resurrecting = now - before - new
        dormant = before - now
        rows.append({
            "period": period_label(start, period), "start": start.isoformat(), "active": len(now),
            "new": len(new), "returning": len(returning), "resurrecting": len(resurrecting),
            "dormant": len(dormant),
        })
    return rows


def _active_sets(rows, *, messages_only: bool) -> dict[int, set[date]]:
    active: dict[int, set[date]] = defaultdict(set)
    for member, start, messages, reactions in rows:
        if messages > 0 or (not messages_only and reactions > 0):
            active[member].add(start)
    return active


def retention_get(scope: Scope, *, period: str = "month", basis: str = "activity") -> dict:
    """Cohort retention for the scope: cohorts are the periods overlapping the range."""
    if period not in ("week", "month"):
        raise ValueError("retention period is week or month")
    if basis not in BASES:
        raise ValueError(f"retention basis is one of {', '.join(BASES)}")
    cohorts = periods_between(scope.start, scope.end, period)
    last = period_start(scope.end, period)
    firsts = sources.cohort_members(scope, basis, cohorts[0], scope.end)
    cohort_of = {m: period_start(day, period) for m, day in firsts.items()}
    rows = sources.cohort_periods(scope, period, basis, cohorts[0], scope.end)
    active = _active_sets(rows, messages_only=basis == "message")
    table = retention_table(cohort_of=cohort_of, active=active, cohorts=cohorts, last=last, period=period)
    return {
        "period": period, "basis": basis, "counts": "in period N; or_later = in N or later",
        "last_period_partial": period_end(last, period) > scope.end,
        "cohorts": table,
        "by_channel": _by_channel(scope, cohort_of, active, cohorts, last, period),
    }


def _by_channel(scope, cohort_of, active, cohorts, last, period) -> list[dict]:
    """Per acquisition channel: members in the cohorts and the share active in periods 1…6."""
    wanted = set(cohorts)
    members = [m for m, c in cohort_of.items() if c in wanted]
    channel_of = sources.channels_for(scope, members)
    names = sources.channel_names(scope)
    spans = min(period_index(last, cohorts[0], period), MAX_CHANNEL_PERIODS) if cohorts else 0
    table: dict[int | None, dict] = {}
    index_of = {c: period_index(c, cohorts[0], period) for c in cohorts}
    last_index = period_index(last, cohorts[0], period)
    for member in members:
        base = index_of[cohort_of[member]]
        channel = channel_of.get(member)
        row = table.get(channel)
        if row is None:
            row = table[channel] = {"size": 0, "eligible": [0] * spans, "retained": [0] * spans}
        row["size"] += 1
        reach = min(spans, last_index - base)  # periods 1 … reach have happened for this cohort
        for n in range(1, reach + 1):
            row["eligible"][n - 1] += 1
        for p in active.get(member, ()):
            n = period_index(p, cohorts[0], period) - base
            if 1 <= n <= reach:
                row["retained"][n - 1] += 1
    out = []
    label = {channel: names.get(channel, "(none)") if channel is not None else "(none)" for channel in table}
    for channel, row in sorted(table.items(), key=lambda kv: (-kv[1]["size"], label[kv[0]])):
        out.append({
            "channel": label[channel],
            "size": row["size"],
            "periods": [
                {"n": n + 1, "eligible": e, "retained": r, "rate": round(r / e, 4) if e else None}
                for n, (e, r) in enumerate(zip(row["eligible"], row["retained"]))
            ],
        })
    return out


def lifecycle_get(scope: Scope, *, period: str = "week") -> list[dict]:
    """Lifecycle counts for each week or month overlapping the range (whole periods, up to ``to``).

    Counted in the database (:func:`sources.period_lifecycle`); :func:`lifecycle_table` is the same
    rule on sets, used by the tests to check it.
    """
    if period not in ("week", "month"):
        raise ValueError("lifecycle period is week or month")
    rows = []
    for start in periods_between(scope.start, scope.end, period):
        before = previous_period(start, period)
        if scope.group_ids:
            active, new, returning = sources.period_lifecycle(scope, period, start, before)
            active_before = sources.period_active(scope, period, before)
        else:  # a few sets of member ids: the week/month rollups and the first-activity index
            now = sources.period_member_ids(scope, period, start)
            then = sources.period_member_ids(scope, period, before)
            firsts = sources.first_active_between(scope, start, period_end(start, period))
            active, new, returning, active_before = len(now), len(now & firsts), len(now & then), len(then)
        rows.append({
            "period": period_label(start, period), "start": start.isoformat(), "active": active, "new": new,
            "returning": returning, "resurrecting": active - new - returning,
            "dormant": active_before - returning,
            "partial": period_end(start, period) > scope.end,
        })
    return rows

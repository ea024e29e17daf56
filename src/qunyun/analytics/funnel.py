"""The acquisition funnel by channel (AARRR, docs/metrics.md "AARRR by channel")."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from . import sources
from .scope import Scope

RETAINED_FROM, RETAINED_TO = 7, 27  # weeks 2–4 after the join day
STEPS = ("acquired", "activated", "retained", "converted", "referred")


def funnel_compute(
    *, joiners: dict[int, tuple[date, int | None]], activity: list[tuple[int, date, int]],
    payments: list[tuple[int, date, str]], invites: list[tuple[int, date]], as_of: date,
) -> dict[int | None, dict]:
    """Funnel counts per channel id for ``joiners`` (``{member: (join day, channel)}``)."""
    activated: set[int] = set()
    retained: set[int] = set()
    for member, day, messages in activity:
        joined = joiners.get(member)
        if joined is None or day < joined[0] or day > as_of:
            continue
        if messages > 0:
            activated.add(member)
        if RETAINED_FROM <= (day - joined[0]).days <= RETAINED_TO:
            retained.add(member)
    converted = {m for m, day, _amount in payments if m in joiners and joiners[m][0] <= day <= as_of}
    referred = {m for m, day in invites if m in joiners and joiners[m][0] <= day <= as_of}
    eligible_until = as_of - timedelta(days=RETAINED_TO)
    table: dict[int | None, dict] = defaultdict(lambda: dict.fromkeys(
        ("acquired", "activated", "retained", "retention_eligible", "converted", "referred"), 0))
    for member, (joined, channel) in joiners.items():
        row = table[channel]
        row["acquired"] += 1
        row["activated"] += member in activated
        if joined <= eligible_until:
            row["retention_eligible"] += 1
            row["retained"] += member in retained
        row["converted"] += member in converted
        row["referred"] += member in referred
    return dict(table)


def _rates(row: dict) -> dict:
    acquired = row["acquired"]
    return {
        "activation_rate": round(row["activated"] / acquired, 4) if acquired else None,
        "retention_rate": round(row["retained"] / row["retention_eligible"], 4) if row["retention_eligible"] else None,
        "conversion_rate": round(row["converted"] / acquired, 4) if acquired else None,
        "referral_rate": round(row["referred"] / acquired, 4) if acquired else None,
    }


def _inputs_from_events(scope: Scope, *, from_log: bool) -> tuple[dict, list, list, list]:
    """The funnel's inputs with a group filter (member stats and funnel days are per community):
    the joiners from the members' firsts per group (``from_log``: from the join events), their
    activity from the member-days, payments and invitations from the log."""
    if from_log:
        first_join: dict[int, date] = {}
        for member, day, _channel, _inviter, _group in sources.join_rows(scope, scope.start, scope.end):
            first_join.setdefault(member, day)
        earlier = sources.members_joined_before(scope, list(first_join), scope.start)
        members = [m for m in first_join if m not in earlier]
    else:  # (the same read as the cohorts')
        first_join = {m: joined for m, (_a, _m, joined) in sources.first_days(scope, scope.end).items()
                      if joined is not None and joined >= scope.start}
        members = sorted(first_join)
    channels = sources.channels_for(scope, members)
    joiners = {m: (first_join[m], channels.get(m)) for m in members}
    payments = [(m, day, 1) for m, day, _amount in sources.payment_rows(scope, scope.start, scope.end)]
    invites = [(m, day, 1) for m, day in sources.inviter_rows(scope, scope.start, scope.end)]
    return joiners, sources.activity_of(scope, members, scope.start, scope.end), payments, invites


def funnel_get(scope: Scope, *, from_events: bool = False) -> dict:
    """Funnel rows per acquisition channel (most acquired first) and the total, for members who first
    joined in the range. Read from the rollups; with a group filter partly from the log, all of it
    with ``from_events`` (the check of the rollups)."""
    if scope.group_ids or from_events:
        joiners, activity, payments, invites = _inputs_from_events(scope, from_log=from_events)
    else:
        joiners, activity, payments, invites = sources.funnel_inputs(scope)
    table = funnel_compute(
        joiners=joiners, activity=activity,
        payments=[(m, day, str(n)) for m, day, n in payments],
        invites=[(m, day) for m, day, _n in invites],
        as_of=scope.end,
    )
    names = sources.channel_names(scope)
    rows = []
    total = dict.fromkeys(("acquired", "activated", "retained", "retention_eligible", "converted", "referred"), 0)
    label = {channel: names.get(channel, "(none)") if channel is not None else "(none)" for channel in table}
    for channel, row in sorted(table.items(), key=lambda kv: (-kv[1]["acquired"], label[kv[0]])):
        for key in total:
            total[key] += row[key]
        rows.append({"channel": label[channel], **row, **_rates(row)})
    return {"steps": list(STEPS), "channels": rows, "total": {**total, **_rates(total)}}

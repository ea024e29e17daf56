"""Conversations and responsiveness (docs/metrics.md "Conversations and responsiveness").

The rule (:func:`answers_find`, :func:`talk_by_group_day`) reads each group's messages in time
order. The figures of a group's day only depend on that day, the half hour before it and the 24
hours after it, so they are kept per group and day (:class:`~qunyun.analytics.models.TalkDay`):
computed from the log the first time they are needed, deleted by the store when a new message
could change them, and read back afterwards. The as-of day itself is always computed afresh
(its answers may come after it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from statistics import median

from django.db import connection

from qunyun.core.timeutil import UTC, zone

from . import sources
from .periods import days
from .scope import Scope

SILENCE = timedelta(minutes=30)
ANSWER_WINDOW = timedelta(hours=24)

# message row fields (see sources.message_rows)
GROUP, AT, DAY, MEMBER, MESSAGE_ID, REPLY_TO, REPLY_MEMBER, MENTIONS, QUESTION = range(9)


def answers_find(rows: list[tuple]) -> tuple[list, list[bool]]:
    """For rows sorted by group then time: when each was first answered within 24 h (or ``None``), and
    which start a conversation.

    An answer is a later message by another member in the same group, at most 24 hours later, that
    replies to the message, or mentions its author while it is that author's latest message.
    """
    answered = [None] * len(rows)
    starts = [False] * len(rows)
    group = None
    last_at = None
    by_id: dict[str, int] = {}
    last_of: dict[int, int] = {}
    for i, row in enumerate(rows):
        if row[GROUP] != group:
            group, last_at, by_id, last_of = row[GROUP], None, {}, {}
        at, author = row[AT], row[MEMBER]
        starts[i] = last_at is None or at - last_at >= SILENCE
        last_at = at
        targets = set()
        if row[REPLY_TO]:
            j = by_id.get(row[REPLY_TO])
            if j is not None:
                targets.add(j)
        for mentioned in row[MENTIONS]:
            if mentioned == author:
                continue
            j = last_of.get(mentioned)
            if j is not None:
                targets.add(j)
        for j in targets:
            if rows[j][MEMBER] != author and answered[j] is None and at - rows[j][AT] <= ANSWER_WINDOW:
                answered[j] = at
        if row[MESSAGE_ID]:
            by_id[row[MESSAGE_ID]] = i
        last_of[author] = i
    return answered, starts


def talk_by_group_day(rows: list[tuple], start: date, end: date) -> dict[tuple[int, date], list]:
    """``{(group, day): [conversations, messages, answered, questions, [seconds to first answer]]}``."""
    answered, starts = answers_find(rows)
    out: dict[tuple[int, date], list] = defaultdict(lambda: [0, 0, 0, 0, []])
    for i, row in enumerate(rows):
        day = row[DAY]
        if not start <= day <= end:
            continue
        slot = out[(row[GROUP], day)]
        slot[0] += starts[i]
        slot[1] += 1
        slot[2] += answered[i] is not None
        if row[QUESTION]:
            slot[3] += 1
            if answered[i] is not None:
                slot[4].append(round((answered[i] - row[AT]).total_seconds()))
    return dict(out)


def talk_summary(per_group_day: dict[tuple[int, date], list], start: date, end: date) -> dict:
    """The figures of a range from its groups' days."""
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    delays: list[int] = []
    for (_group, day), (conversations, messages, answered, questions, seconds) in per_group_day.items():
        slot = per_day[day]
        slot[0] += conversations
        slot[1] += messages
        slot[2] += answered
        slot[3] += questions
        delays.extend(seconds)
    messages = sum(v[1] for v in per_day.values())
    answered_total = sum(v[2] for v in per_day.values())
    questions = sum(v[3] for v in per_day.values())
    return {
        "conversations": sum(v[0] for v in per_day.values()),
        "messages": messages,
        "answered": answered_total,
        "answered_share": round(answered_total / messages, 4) if messages else None,
        "questions": questions,
        "questions_answered": len(delays),
        "questions_answered_24h_share": round(len(delays) / questions, 4) if questions else None,
        "median_first_answer_seconds": round(median(delays), 1) if delays else None,
        "daily": [
            {"date": d.isoformat(), "conversations": per_day[d][0] if d in per_day else 0,
             "messages": per_day[d][1] if d in per_day else 0, "answered": per_day[d][2] if d in per_day else 0,
             "questions": per_day[d][3] if d in per_day else 0}
            for d in days(start, end)
        ],
    }


def talk_compute(rows: list[tuple], start: date, end: date) -> dict:
    """Conversations per day, share of messages answered, questions and time to first answer."""
    return talk_summary(talk_by_group_day(rows, start, end), start, end)


def _local_bounds(scope: Scope, first: date, last: date) -> tuple[datetime, datetime]:
    tz = zone(scope.tz)
    return (datetime.combine(first, time(), tzinfo=tz).astimezone(UTC),
            datetime.combine(last + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC))


def _compute_days(scope: Scope, group_id: int, wanted: list[date]) -> dict[tuple[int, date], list]:
    """Figures of the given days of one group, from the log (the day before and after are read too)."""
    first, last = min(wanted), max(wanted)
    group_scope = Scope(scope.community, first, last, (group_id,))
    rows = sources.message_rows(group_scope, first - timedelta(days=1), last + timedelta(days=1),
                                between=_local_bounds(scope, first - timedelta(days=1), last + timedelta(days=1)))
    computed = talk_by_group_day(rows, first, last)
    keep = set(wanted)
    return {(group_id, day): computed.get((group_id, day), [0, 0, 0, 0, []]) for day in keep}


def talk_get(scope: Scope, *, rows: list[tuple] | None = None) -> dict:
    """Conversations and responsiveness for the scope (kept figures where they are, the rest from the log)."""
    if rows is not None or scope.channel_id is not None:  # members filtered: always from the log
        if rows is None:
            rows = sources.message_rows(scope, scope.start - timedelta(days=1), scope.end)
        return talk_compute(rows, scope.start, scope.end)
    # The as-of day can be kept too when nothing after it exists yet (a later message drops it again).
    complete = sources.complete_to_end(scope)
    kept_until = scope.end if complete else scope.end - timedelta(days=1)
    per_group_day: dict[tuple[int, date], list] = {}
    if kept_until >= scope.start:
        per_group_day.update(_kept(scope, scope.start, kept_until))
    if not complete:
        live_scope = scope.with_range(scope.end, scope.end)
        live_rows = sources.message_rows(live_scope, scope.end - timedelta(days=1), scope.end)
        per_group_day.update(talk_by_group_day(live_rows, scope.end, scope.end))
    return talk_summary(per_group_day, scope.start, scope.end)


def _kept(scope: Scope, first: date, last: date) -> dict[tuple[int, date], list]:
    """Kept figures of the groups' days between two days, computing and keeping the missing ones."""
    d = connection.ops.adapt_datefield_value
    where = f" AND group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    out: dict[tuple[int, date], list] = {}
    as_day = sources._Days()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT group_id, day, conversations, messages, answered, questions, answer_seconds FROM qunyun_talk_day "
            f"WHERE community_id = %s AND day BETWEEN %s AND %s{where}",
            [scope.cid, d(first), d(last), *scope.group_ids])
        for g, day, conversations, messages, answered, questions, seconds in cursor.fetchall():
            if isinstance(seconds, str):
                seconds = json.loads(seconds)
            out[(g, as_day(day))] = [conversations, messages, answered, questions, seconds or []]
        cursor.execute(
            "SELECT group_id, day FROM qunyun_group_day WHERE community_id = %s AND day BETWEEN %s AND %s "
            f"AND messages > 0{where}", [scope.cid, d(first), d(last), *scope.group_ids])
        missing: dict[int, list[date]] = defaultdict(list)
        for g, day in cursor.fetchall():
            if (g, as_day(day)) not in out:
                missing[g].append(as_day(day))
    fresh: dict[tuple[int, date], list] = {}
    for g, wanted in missing.items():
        fresh.update(_compute_days(scope, g, wanted))
    if fresh:
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO qunyun_talk_day (community_id, group_id, day, conversations, messages, answered, "
                "questions, answer_seconds) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (group_id, day) DO NOTHING",
                [(scope.cid, g, d(day), *v[:4], json.dumps(v[4])) for (g, day), v in fresh.items()])
        out.update(fresh)
    return out

"""Conversations and responsiveness (docs/metrics.md "Conversations and responsiveness").

Read from the event log: each group's messages in time order, from the day before the range
(so a conversation or an answer that crosses ``from`` is seen) to the as-of date.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from statistics import median

from . import sources
from .periods import days
from .scope import Scope

SILENCE = timedelta(minutes=30)
ANSWER_WINDOW = timedelta(hours=24)

# message row fields (see sources.message_rows)
GROUP, AT, DAY, MEMBER, MESSAGE_ID, REPLY_TO, REPLY_MEMBER, MENTIONS, QUESTION = range(9)


def answers_find(rows: list[tuple]) -> tuple[list, list[bool]]:
    """For rows sorted by group then time: when each was first answered (or ``None``) and conversation starts.

    An answer is a later message by another member in the same group that replies to the message,
    or mentions its author while it is that author's latest message of the last 24 hours.
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
            if j is not None and at - rows[j][AT] <= ANSWER_WINDOW:
                targets.add(j)
        for j in targets:
            if rows[j][MEMBER] != author and answered[j] is None:
                answered[j] = at
        if row[MESSAGE_ID]:
            by_id[row[MESSAGE_ID]] = i
        last_of[author] = i
    return answered, starts


def talk_compute(rows: list[tuple], start: date, end: date) -> dict:
    """Conversations per day, share of messages answered, questions and time to first answer."""
    answered, starts = answers_find(rows)
    per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # conversations, messages, answered, questions
    delays: list[float] = []
    questions = questions_24h = 0
    for i, row in enumerate(rows):
        day = row[DAY]
        if not start <= day <= end:
            continue
        slot = per_day[day]
        slot[0] += starts[i]
        slot[1] += 1
        slot[2] += answered[i] is not None
        if row[QUESTION]:
            slot[3] += 1
            questions += 1
            if answered[i] is not None:
                delay = (answered[i] - row[AT]).total_seconds()
                delays.append(delay)
                questions_24h += delay <= ANSWER_WINDOW.total_seconds()
    messages = sum(v[1] for v in per_day.values())
    answered_total = sum(v[2] for v in per_day.values())
    return {
        "conversations": sum(v[0] for v in per_day.values()),
        "messages": messages,
        "answered": answered_total,
        "answered_share": round(answered_total / messages, 4) if messages else None,
        "questions": questions,
        "questions_answered": len(delays),
        "questions_answered_24h_share": round(questions_24h / questions, 4) if questions else None,
        "median_first_answer_seconds": round(median(delays), 1) if delays else None,
        "daily": [
            {"date": d.isoformat(), "conversations": per_day[d][0] if d in per_day else 0,
             "messages": per_day[d][1] if d in per_day else 0, "answered": per_day[d][2] if d in per_day else 0,
             "questions": per_day[d][3] if d in per_day else 0}
            for d in days(start, end)
        ],
    }


def talk_get(scope: Scope, *, rows: list[tuple] | None = None) -> dict:
    """Conversations and responsiveness for the scope."""
    if rows is None:
        rows = sources.message_rows(scope, scope.start - timedelta(days=1), scope.end)
    return talk_compute(rows, scope.start, scope.end)

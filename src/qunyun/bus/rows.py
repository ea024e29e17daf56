"""The event-table rows of a batch: the store's per-event Python, kept small.

One tuple per event in :data:`EVENT_COLUMNS` order, built with as little work per event as
we can: the local day is found once per local hour of the batch (not per event), the stored
SQLite time text once per hour plus minutes and seconds from a table, and messages — nearly
every event of a history — take a straight path; other kinds go through :func:`_other_row`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from qunyun.core import events as ev
from qunyun.core.marks import message_marks
from qunyun.core.timeutil import UTC

from .context import GroupInfo

EVENT_COLUMNS = (
    "community_id", "group_id", "type", "key", "at", "day", "member_id", "identity_id", "actor_id",
    "message_id", "kind", "text", "reply_to", "reply_to_member_id", "mentions", "channel_id", "detail",
    "source_tz", "data", "hour", "marks",
)
_HOUR = timedelta(hours=1)
_TICK = timedelta(microseconds=1)
_ZERO = timedelta(0)
#: "MM:SS" for every second of an hour (the tail of a stored SQLite time).
_MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))
_MESSAGE = ev.MessagePosted
_SYSTEM = ev.MessageKind.SYSTEM
_SPARSE_TYPES = frozenset(("join", "leave", "payment", "delete"))
_NONE: frozenset[str] = frozenset()


def event_rows(store: Any, batch: list[ev.Event], keys: list[str], group_of: dict[str, GroupInfo],
               reply_authors: dict[tuple[int, str], int],
               replied: dict[str, set[str]]) -> tuple[list[tuple], list[tuple]]:
    """The event-table row of each event of ``store``'s batch, and ``(event, group, member_id, channel, sparse)`` beside it.

    ``sparse`` says the event is one the rollups' sparse table will hold (join, leave,
    payment, deletion, or a message with a reply to a member or mentions). The local day
    is computed once per local hour of the batch, not per event. ``reply_authors`` holds the
    authors of the stored messages the batch answers, by ``(group id, message id)``; the
    authors of the batch's own messages that ``replied`` (chat → message ids) names are added
    to it as their rows are made.
    """
    accounts = store._accounts
    cid = store.community.pk
    dt, js, keep_raw = store._dt, store._json, store.keep_raw
    rows: list[tuple] = []
    meta: list[tuple] = []
    append_row, append_meta = rows.append, meta.append
    start = end = prefix = hour = None
    day: Any = None
    minutes = _MINUTES_SECONDS
    answered: Any = _NONE
    chat = group = None
    unresolved: list[int] = []  # replies whose message was not found before them
    for key, event in zip(keys, batch):
        at = event.at
        if start is None or not (start <= at < end):
            start, end, day, hour, prefix = _hour(store, at)
        if prefix is not None and not at.microsecond and at.tzinfo is prefix[1]:
            at_value = prefix[0] + minutes[at.minute * 60 + at.second]
        else:
            at_value = dt(at)
        if event.chat is not chat:
            chat = event.chat
            group = group_of[chat]
            answered = replied.get(chat, _NONE)
        if type(event) is _MESSAGE:
            known = accounts[event.author.id]
            member_id = known.member_id
            if event.event_id in answered:
                reply_authors[(group.id, event.event_id)] = member_id
            reply_to = event.reply_to or ""
            reply_member = None
            if reply_to:
                reply_member = reply_authors.get((group.id, reply_to))
                if reply_member is None:
                    unresolved.append(len(rows))
            mentions = data = None
            if event.mentions:
                mentions = [accounts[a].member_id for a in event.mentions if a in accounts]
                extra = [a for a in event.mentions if a not in accounts]
                if extra:
                    data = {"mentions_unresolved": extra}
            if event.thread or event.forwarded or event.edited_at:
                data = _message_data(event, data)
            if keep_raw and event.raw is not None:
                data = dict(data or {}, raw=event.raw)
            kind = event.kind
            text = event.text
            append_row((
                cid, group.id, "message", key, at_value, day, member_id, known.identity_id, None,
                event.event_id, kind._value_, text, reply_to, reply_member,
                js(mentions) if mentions else None, None, "", event.source_tz or "",
                js(data) if data is not None else None, hour, message_marks(kind._value_, text, event.mentions),
            ))
            append_meta((event, group, member_id, None,
                         kind is not _SYSTEM and (reply_member is not None or mentions is not None)))
            continue
        row, channel = _other_row(store, event, group, day, hour)
        append_row(row)
        append_meta((event, group, row[6], channel, event.type in _SPARSE_TYPES))
    for index in unresolved:  # a reply to a message that comes later in the batch (the same second, say)
        row = rows[index]
        reply_member = reply_authors.get((row[1], row[12]))
        if reply_member is not None:
            rows[index] = row[:13] + (reply_member,) + row[14:]
            event, group, member_id, channel, _sparse = meta[index]
            meta[index] = (event, group, member_id, channel, event.kind is not _SYSTEM)
    return rows, meta

def _other_row(store: Any, event: ev.Event, group: GroupInfo, day: Any,
               hour: int) -> tuple[tuple, tuple[int, str] | None]:
    """The event-table row of an event that is not a message (these are few), and its channel."""
    accounts = store._accounts
    subject = event.subject
    if subject is not None:
        known = accounts[subject.id]
        member_id, identity_id = known.member_id, known.identity_id
    else:
        member_id = identity_id = None
    message_id = text = detail = ""
    actor_id = channel = None
    data: dict[str, Any] | None = None
    etype = event.type
    if etype == "join":
        channel = store.channel_for(event)
        detail = event.via.value
        if event.inviter is not None:
            actor_id = accounts[event.inviter.id].member_id
        if event.invite_link:
            data = {"invite_link": event.invite_link}
    elif etype == "leave":
        detail = event.reason.value
        if event.by is not None:
            actor_id = accounts[event.by.id].member_id
    elif etype in ("reaction", "unreaction"):
        message_id, detail = event.message_id, event.emoji[:64]
    elif etype in ("edit", "delete"):
        message_id = event.message_id
        if etype == "edit":
            text = event.text
    elif etype == "rename":
        data = {"old_name": event.old_name, "new_name": event.member.name}
    elif etype == "payment":
        data = {"amount": event.amount, "currency": event.currency, "reference": event.reference}
    if store.keep_raw and event.raw is not None:
        data = dict(data or {}, raw=event.raw)
    js = store._json
    return (
        store.community.pk, group.id, etype, event.key, store._dt(event.at), day, member_id, identity_id, actor_id,
        message_id, "", text, "", None, None, channel[0] if channel else None, detail,
        event.source_tz or "", js(data) if data is not None else None, hour, None,
    ), channel

def _hour(store: Any, at: datetime) -> tuple[datetime, datetime, Any, int, tuple[str, Any] | None]:
    """A span around ``at`` within one local hour and one UTC hour: its UTC bounds, the local
    day (as the database takes it) and hour and, on SQLite, the stored text of the time up to the hour.

    Within the span the day cannot change and the stored time is that text plus minutes and
    seconds, so the per-event work is a comparison and a concatenation. Where the zone's
    offset changes inside the hour (a DST switch), the span is cut to this instant alone.
    """
    local = at.astimezone(store.tz)
    local_start = at - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    utc_start = at - timedelta(minutes=at.minute, seconds=at.second, microseconds=at.microsecond)
    start, end = max(local_start, utc_start), min(local_start, utc_start) + _HOUR
    if (end - _TICK).astimezone(store.tz).utcoffset() != local.utcoffset():
        start, end = at, at + _TICK
    prefix = None
    if store._sqlite and at.utcoffset() == _ZERO:  # "YYYY-MM-DD HH:", for times in this tzinfo
        prefix = (at.replace(tzinfo=None).isoformat(" ")[:14], at.tzinfo)
    return start, end, store._date(local.date()), local.hour, prefix


def sqlite_datetime(moment: datetime) -> str:
    """An aware UTC datetime as Django keeps it in SQLite: naive ISO text with a space."""
    text = moment.isoformat(" ")
    if text.endswith("+00:00"):  # the convention: events are in UTC (cutting the suffix is 3× cheaper than replace())
        return text[:-6]
    if moment.tzinfo is None:
        return text
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def rows_encodable(rows: list[tuple]) -> list[tuple]:
    """``rows`` with every lone UTF-16 surrogate in their text turned into ``?``.

    Python strings may hold them (a live payload's ``"\\ud83c"`` escape, an emoji cut in half);
    UTF-8, which both databases store, cannot, so the driver refuses the whole batch. The store
    calls this only when that happens; the ``?`` is what ijson makes of them in an import.
    """
    return [tuple(value.encode("utf-8", "replace").decode("utf-8") if value.__class__ is str else value
                  for value in row) for row in rows]


def rows_without_nul(rows: list[tuple]) -> list[tuple]:
    """``rows`` without NUL characters in their text: PostgreSQL's text cannot hold them (SQLite's can)."""
    if not any("\x00" in value for row in rows for value in row if value.__class__ is str):
        return rows
    return [tuple(value.replace("\x00", "") if value.__class__ is str else value for value in row) for row in rows]


def _message_data(event: ev.MessagePosted, data: dict[str, Any] | None) -> dict[str, Any]:
    """The ``data`` of a message that is in a thread, forwarded or edited."""
    data = dict(data or {})
    if event.thread:
        data["thread"] = event.thread
    if event.forwarded:
        data["forwarded"] = True
    if event.edited_at:
        data["edited_at"] = event.edited_at.astimezone(UTC).isoformat()
    return data

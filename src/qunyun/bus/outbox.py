"""The outbox worker: executes committed decisions once, on time, across restarts.

Each due ``pending`` row is *claimed* with a conditional UPDATE (only one worker can move a
row from ``pending`` to ``running``), executed through the adapter of its platform, then
marked ``done``. A worker that dies after claiming leaves a ``running`` row whose claim goes
stale after :data:`CLAIM_LEASE`; :func:`outbox_recover` puts it back to ``pending``. That is
the one window in which a decision can run twice, and adapters close it where the platform
allows by passing the row's stable idempotency key.

Decisions this process decides and can carry out at once skip the claim: the runtime writes
them already ``running`` under the claim of this process's worker (:class:`HandOff`) and passes
them to it in memory after the commit. The rows stay the record: a hand-off that dies with its
process is taken back after :data:`HANDOFF_LEASE` by :func:`outbox_recover`.

Failures: a :class:`TemporaryFailure` is retried with exponential backoff up to
:data:`MAX_ATTEMPTS`; a :class:`PermanentFailure`, a missing adapter or a missing capability
fails the row at once with the reason kept in ``last_error``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from qunyun.core.codec import decision_from_dict, decision_to_dict
from qunyun.core.timeutil import UTC, utcnow

from .adapters import Adapter, PermanentFailure, TemporaryFailure
from .models import OutboxItem
from .wal import write_transaction  # noqa: F401  (imported from here by the runtime, executors, services)

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 15 * 60


@dataclass
class RunReport:
    """What one pass of the worker did."""

    done: int = 0
    retried: int = 0
    failed: int = 0
    internal: int = 0  # of ``done``: decisions qunyun carried out itself (they may enqueue follow-ups)

    @property
    def total(self) -> int:
        return self.done + self.retried + self.failed


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: 2, 4, 8 … capped at 15 minutes."""
    return min(BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0)), BACKOFF_MAX_SECONDS)


#: A decision handed to a worker in memory is taken back once its claim is this old without being
#: renewed (its process died between the commit and the execution). A worker renews the claims of
#: hand-offs that waited a third of this before it executes them.
HANDOFF_LEASE = timedelta(seconds=60)
_HANDOFF_PREFIX = "h:"


def outbox_recover(*, now: datetime | None = None, keep: str = "") -> int:
    """Return rows whose worker died mid-execution (stale ``running``) to ``pending``: claimed
    more than :data:`CLAIM_LEASE` ago, or handed off in memory (another process's hand-off,
    not ``keep``) more than :data:`HANDOFF_LEASE` ago."""
    now = now or utcnow()
    stale = Q(claimed_at__lt=now - CLAIM_LEASE) | (
        Q(claim__startswith=_HANDOFF_PREFIX, claimed_at__lt=now - HANDOFF_LEASE) & ~Q(claim=keep))
    with write_transaction():
        return OutboxItem.objects.filter(stale, status=OutboxItem.Status.RUNNING).update(
            status=OutboxItem.Status.PENDING, claim="")


class HandOff:
    """Decisions of this process passed to its outbox worker in memory, already claimed for it.

    The runtime writes each decision due at once as ``running`` under :attr:`token`, in the
    transaction that decided it, and :meth:`put` hands the rows over after the commit: the worker
    executes them without a claim statement and without waiting for the write lock. If the
    process dies first, the rows are ``running`` under a claim nobody renews and
    :func:`outbox_recover` returns them to ``pending`` after :data:`HANDOFF_LEASE`.
    """

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self.token = _HANDOFF_PREFIX + uuid.uuid4().hex
        self._wake = wake
        self.active = wake is None  # a worker's hand-off takes decisions only while its loop runs
        self._items: deque[tuple[OutboxItem, object]] = deque()
        self._lock = threading.Lock()

    def put(self, items: list[tuple[OutboxItem, object]]) -> None:
        """Queue claimed ``(row, decision)`` pairs for the worker (after their commit) and wake it."""
        with self._lock:
            self._items.extend(items)
        if self._wake is not None:
            self._wake()

    def take(self) -> list[tuple[OutboxItem, object]]:
        """Everything queued, oldest first."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
        return items

    def __len__(self) -> int:
        return len(self._items)


def handoff_of(wake) -> HandOff | None:
    """The hand-off of the worker a runtime's ``wake`` rings (an attribute ``handoff`` of the
    callable or of the object it is bound to), or None: then decisions wait ``pending``."""
    owner = getattr(wake, "__self__", wake)
    handoff = getattr(owner, "handoff", None)
    return handoff if isinstance(handoff, HandOff) and handoff.active else None


#: Finished rows are marked in one statement per pass, or sooner once the oldest waited this long
#: (a crash before the mark re-executes them after the lease, with the same idempotency keys).
FINISH_EVERY_SECONDS = 0.05

_TABLE = OutboxItem._meta.db_table
_CLAIMED = ("id", "community_id", "key", "chat", "kind", "payload", "reason", "attempts", "due_at", "event_id")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _db_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _py_time(value) -> datetime:
    """A column value as an aware datetime (SQLite returns text to raw SQL, PostgreSQL a datetime)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _claim(limit: int, now: datetime, communities: list[int] | None) -> list[OutboxItem]:
    """Move up to ``limit`` due rows from pending to running under a fresh claim, in one statement.

    The conditional ``status = pending`` makes a row claimable once; PostgreSQL workers also skip
    rows another worker is claiming instead of waiting for it.
    """
    if communities is not None and not communities:
        return []
    token = uuid.uuid4().hex
    pick = f"SELECT {_q('id')} FROM {_q(_TABLE)} WHERE {_q('status')} = %s AND {_q('due_at')} <= %s"
    pick_params: list = [OutboxItem.Status.PENDING, _db_time(now)]
    if communities is not None:
        pick += f" AND {_q('community_id')} IN ({', '.join(['%s'] * len(communities))})"
        pick_params += list(communities)
    pick += f" ORDER BY {_q('due_at')}, {_q('id')} LIMIT %s"
    picked = f"{_q('id')} IN ({pick})"
    if connection.vendor == "postgresql":
        # ARRAY(…) runs the pick once; as a plain IN it may be re-run per row and, skipping
        # locked rows, pick other ones each time (more than ``limit`` rows claimed).
        picked = f"{_q('id')} = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
    columns = ", ".join(_q(c) for c in _CLAIMED)
    update = (f"UPDATE {_q(_TABLE)} SET {_q('status')} = %s, {_q('claim')} = %s, {_q('claimed_at')} = %s "
              f"WHERE {_q('status')} = %s AND {picked}")
    params = [OutboxItem.Status.RUNNING, token, _db_time(now), OutboxItem.Status.PENDING, *pick_params, limit]
    with write_transaction(), connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:  # RETURNING (SQLite ≥ 3.35, PostgreSQL)
            cursor.execute(f"{update} RETURNING {columns}", params)
        else:
            cursor.execute(update, params)
            cursor.execute(f"SELECT {columns} FROM {_q(_TABLE)} WHERE {_q('claim')} = %s AND {_q('status')} = %s",
                           [token, OutboxItem.Status.RUNNING])
        rows = cursor.fetchall()
    items = []
    for pk, community_id, key, chat, kind, payload, reason, attempts, due_at, event_id in rows:
        items.append(OutboxItem(
            id=pk, community_id=community_id, key=key, chat=chat, kind=kind, reason=reason, attempts=attempts,
            payload=json.loads(payload) if isinstance(payload, str) else payload, due_at=_py_time(due_at),
            event_id=event_id, status=OutboxItem.Status.RUNNING, claim=token, claimed_at=now))
    items.sort(key=lambda item: (item.due_at, item.pk))
    return items


class _Finished:
    """Outcomes of executed rows, written together: one statement for many rows."""

    @staticmethod
    def sql() -> str:
        sets = ", ".join(f"{_q(c)} = %s" for c in ("status", "attempts", "executed_at", "last_error", "result"))
        return f"UPDATE {_q(_TABLE)} SET {sets}, {_q('claim')} = '' WHERE {_q('id')} = %s AND {_q('claim')} = %s"

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.after: list[tuple[OutboxItem, object]] = []
        self.since = 0.0

    def add(self, item: OutboxItem, status: str, *, error: str = "", result: dict | None = None) -> None:
        if not self.rows:
            self.since = time.monotonic()
        self.rows.append((item, status, error, result))

    def due(self) -> bool:
        return bool(self.rows) and time.monotonic() - self.since >= FINISH_EVERY_SECONDS

    def write(self) -> None:
        if not self.rows:
            return
        at = _db_time(utcnow())
        params = [(status, item.attempts + 1, at, error[:2000],
                   None if result is None else connection.ops.adapt_json_value(result, None), item.pk, item.claim)
                  for item, status, error, result in self.rows]
        with write_transaction(), connection.cursor() as cursor:
            cursor.executemany(self.sql(), params)
        self.rows = []


def _execute_internal(item: OutboxItem, decision) -> dict:
    """Run a decision qunyun carries out itself; its row is marked done in the same transaction,
    so an internal decision takes effect exactly once."""
    from .internal import INTERNAL_EXECUTORS

    executor = INTERNAL_EXECUTORS.get(decision.kind)
    if executor is None:
        raise PermanentFailure(f"no internal executor for {decision.kind!r}")
    with write_transaction():
        result = executor(item, decision)
        done = _Finished()
        done.add(item, OutboxItem.Status.DONE, result=result)
        done.write()
    return result


def outbox_run_due(
    *,
    adapters: Mapping[str, Adapter] | Callable[[str], Adapter | None],
    limit: int = 100,
    now: datetime | None = None,
    communities: list[int] | None = None,
) -> RunReport:
    """Execute up to ``limit`` due decisions. ``adapters`` maps a platform name to its adapter
    (or is a function that returns it); ``communities`` restricts the pass to some communities.
    """
    now = now or utcnow()
    lookup = adapters.get if isinstance(adapters, Mapping) else adapters
    report = RunReport()
    finished = _Finished()
    for item in _claim(limit, now, communities):
        _execute(item, None, lookup, now, finished, report)
        if finished.due():
            _write_finished(finished, now)
    _write_finished(finished, now)
    return report


def outbox_execute_handed(items: list[tuple[OutboxItem, object]], *, handoff: HandOff,
                          adapters: Mapping[str, Adapter] | Callable[[str], Adapter | None],
                          finished: "_Finished", now: datetime | None = None) -> RunReport:
    """Execute decisions handed over in memory (:class:`HandOff`), in order. Their outcomes go into
    ``finished``, which the caller writes (:func:`outbox_finish`) when it suits it."""
    now = now or utcnow()
    lookup = adapters.get if isinstance(adapters, Mapping) else adapters
    report = RunReport()
    old = now - HANDOFF_LEASE / 3
    if any(item.claimed_at < old for item, _decision in items):
        items = _renew(items, handoff.token, now)
    # Platform calls first: what qunyun does itself (cases, notices) waits its turn for the write lock.
    items = sorted(items, key=lambda pair: not pair[1].on_platform)
    for item, decision in items:
        _execute(item, decision, lookup, now, finished, report)
    return report


def outbox_finish(finished: "_Finished", *, now: datetime | None = None) -> None:
    """Write the outcomes gathered in ``finished`` (one statement) and run the after-execution listeners."""
    _write_finished(finished, now or utcnow())


def _renew(items: list[tuple[OutboxItem, object]], token: str, now: datetime) -> list[tuple[OutboxItem, object]]:
    """Renew the claims of hand-offs that waited long; drop those whose claim was taken back meanwhile."""
    ids = [item.pk for item, _decision in items]
    kept: set[int] = set()
    with write_transaction():
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            kept.update(OutboxItem.objects.filter(pk__in=chunk, claim=token, status=OutboxItem.Status.RUNNING)
                        .values_list("pk", flat=True))
            OutboxItem.objects.filter(pk__in=chunk, claim=token, status=OutboxItem.Status.RUNNING).update(claimed_at=now)
    for item, _decision in items:
        item.claimed_at = now
    return [(item, decision) for item, decision in items if item.pk in kept]


def _execute(item: OutboxItem, decision, lookup, now: datetime, finished: "_Finished", report: RunReport) -> None:
    """Carry out one claimed row (its decision decoded from the row unless given) and note the outcome."""
    from .internal import AFTER_EXECUTED  # here: the executors import the outbox

    platform = item.chat.partition(":")[0]
    try:
        if decision is None:
            decision = decision_from_dict(item.payload)
        if not decision.on_platform:
            _execute_internal(item, decision)
            report.done += 1
            report.internal += 1
            return
        adapter = lookup(platform)
        if adapter is None:
            raise PermanentFailure(f"no connection to platform {platform!r} is configured")
        if decision.kind not in adapter.capabilities:
            raise PermanentFailure(f"{platform} cannot {decision.kind} (not supported by the platform)")
        result = adapter.execute(decision, idempotency_key=f"qunyun-{item.pk}")
    except TemporaryFailure as exc:
        attempts = item.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            finished.add(item, OutboxItem.Status.FAILED, error=f"gave up after {attempts} attempts: {exc}")
            report.failed += 1
        else:
            wait = exc.retry_after if exc.retry_after is not None else backoff(attempts)
            with write_transaction():
                OutboxItem.objects.filter(pk=item.pk, claim=item.claim).update(
                    status=OutboxItem.Status.PENDING, attempts=attempts, claim="", last_error=str(exc)[:2000],
                    due_at=now + timedelta(seconds=wait))
            report.retried += 1
    except Exception as exc:  # permanent, or a bug in an adapter: never retry blindly
        finished.add(item, OutboxItem.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        log.warning("outbox item %s (%s) failed: %s", item.pk, item.kind, exc)
        report.failed += 1
    else:
        finished.add(item, OutboxItem.Status.DONE, result=result)
        report.done += 1
        if AFTER_EXECUTED.get(decision.kind):
            finished.after.append((item, decision))


def _write_finished(finished: _Finished, now: datetime) -> None:
    finished.write()
    after, finished.after = finished.after, []
    for item, decision in after:
        _after_executed(item, decision, now)


def _after_executed(item: OutboxItem, decision, now: datetime) -> None:
    """Let the domain record that a platform decision was carried out (a mute was lifted …)."""
    from .internal import AFTER_EXECUTED

    for listener in AFTER_EXECUTED.get(decision.kind, ()):
        try:
            with write_transaction():
                listener(item, decision, now)
        except Exception:  # the platform call happened; a bookkeeping bug must not undo that
            log.exception("after-execution listener %s failed on outbox item %s", listener, item.pk)


def outbox_next_due(*, communities: list[int] | None = None) -> datetime | None:
    """When the earliest pending decision is due (for the worker's sleep), or None."""
    qs = OutboxItem.objects.filter(status=OutboxItem.Status.PENDING)
    if communities is not None:
        qs = qs.filter(community_id__in=communities)
    return qs.order_by("due_at").values_list("due_at", flat=True).first()


def outbox_pending_count() -> int:
    """Decisions waiting (now or later)."""
    return OutboxItem.objects.filter(Q(status=OutboxItem.Status.PENDING) | Q(status=OutboxItem.Status.RUNNING)).count()


def outbox_enqueue(*, community, decisions, key_prefix: str, now: datetime | None = None, event_id: int | None = None) -> int:
    """Write ``decisions`` (or :class:`~qunyun.core.decisions.Later`) to the outbox from a service.

    For writes that are not handlers (a moderator's decision, an executor's follow-up): call it
    inside the transaction of the state change, so the decisions leave only if it commits. Keys
    are ``{key_prefix}|{index}``; the same prefix written twice is stored once. A timed mute or
    ban gets its lifting row, as for handlers. The community's dry-run switch applies. Returns
    the number of rows written.
    """
    from django.conf import settings

    from .runtime import _expand  # here, not at the top: the runtime imports the handler table

    now = now or utcnow()
    dry_run = community.dry_run or getattr(settings, "QUNYUN_DRY_RUN", False)
    status = OutboxItem.Status.DRY_RUN if dry_run else OutboxItem.Status.PENDING
    rows = [(community.pk, key, decision, status, due, event_id)
            for index, output in enumerate(decisions)
            for key, decision, due in _expand(output, f"{key_prefix}|{index}", now)]
    outbox_insert(rows)
    return len(rows)


_INSERTED = ("community_id", "key", "chat", "kind", "payload", "reason", "status", "due_at", "event_id", "attempts",
             "claim", "last_error", "created_at")


_HANDED = (*_INSERTED, "claimed_at")
_HANDED_ROWS_PER_INSERT = 500  # 14 parameters a row: well under SQLite's and PostgreSQL's limits


def outbox_insert(rows: list[tuple], *, handoff: HandOff | None = None,
                  now: datetime | None = None) -> list[tuple[OutboxItem, object]]:
    """Write outbox rows ``(community_id, key, decision, status, due_at, event_id)``; a key its
    community already has is left as it is (the same event handled twice decides once).

    With ``handoff``, the pending rows due by ``now`` are written ``running`` under the hand-off's
    claim instead, and returned as ``(row, decision)`` for :meth:`HandOff.put` once the
    transaction commits (an empty list otherwise). The others go in with one prepared statement.

    Raw SQL: the ORM's bulk insert cost ~1 ms a batch plus ~50 µs a row, as much as the handlers.
    """
    if not rows:
        return []
    now = now or utcnow()
    created = _db_time(utcnow())
    json_value = connection.ops.adapt_json_value
    handed: list[tuple] = []
    if handoff is not None and connection.features.can_return_columns_from_insert:
        pending = OutboxItem.Status.PENDING
        handed = [row for row in rows if row[3] == pending and row[4] <= now]
        if handed:
            rows = [row for row in rows if not (row[3] == pending and row[4] <= now)]
    if rows:
        params = [(community_id, key, decision.chat, decision.kind, json_value(decision_to_dict(decision), None),
                   decision.reason[:200], status, _db_time(due), event_id, 0, "", "", created)
                  for community_id, key, decision, status, due, event_id in rows]
        sql = (f"INSERT INTO {_q(_TABLE)} ({', '.join(_q(c) for c in _INSERTED)}) "
               f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) ON CONFLICT DO NOTHING")
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    return _insert_handed(handed, handoff, now, created) if handed else []


def _insert_handed(rows: list[tuple], handoff: HandOff, now: datetime, created) -> list[tuple[OutboxItem, object]]:
    """Insert rows already claimed for ``handoff``; the ones written (not already there) as ``(row, decision)``."""
    json_value = connection.ops.adapt_json_value
    claimed_at = _db_time(now)
    running = OutboxItem.Status.RUNNING
    one = "(" + ", ".join(["%s"] * len(_HANDED)) + ")"
    written: list[tuple[OutboxItem, object]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _HANDED_ROWS_PER_INSERT):
            chunk = rows[start:start + _HANDED_ROWS_PER_INSERT]
            payloads = [decision_to_dict(decision) for _c, _k, decision, _s, _d, _e in chunk]
            params = [value for (community_id, key, decision, _status, due, event_id), payload in zip(chunk, payloads)
                      for value in (community_id, key, decision.chat, decision.kind, json_value(payload, None),
                                    decision.reason[:200], running, _db_time(due), event_id, 0, handoff.token, "",
                                    created, claimed_at)]
            cursor.execute(f"INSERT INTO {_q(_TABLE)} ({', '.join(_q(c) for c in _HANDED)}) "
                           f"VALUES {', '.join([one] * len(chunk))} ON CONFLICT DO NOTHING "
                           f"RETURNING {_q('key')}, {_q('id')}", params)
            ids = dict(cursor.fetchall())
            for (community_id, key, decision, _status, due, event_id), payload in zip(chunk, payloads):
                pk = ids.get(key)
                if pk is None:
                    continue  # decided before: its row is left as it is
                written.append((OutboxItem(
                    id=pk, community_id=community_id, key=key, chat=decision.chat, kind=decision.kind, payload=payload,
                    reason=decision.reason[:200], attempts=0, due_at=due, event_id=event_id, status=running,
                    claim=handoff.token, claimed_at=now), decision))
    return written

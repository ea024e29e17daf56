"""The outbox worker: executes committed decisions once, on time, across restarts.

Each due ``pending`` row is *claimed* with a conditional UPDATE (only one worker can move a
row from ``pending`` to ``running``), executed through the adapter of its platform, then
marked ``done``. A worker that dies after claiming leaves a ``running`` row whose claim goes
stale after :data:`CLAIM_LEASE`; :func:`outbox_recover` puts it back to ``pending``. That is
the one window in which a decision can run twice, and adapters close it where the platform
allows by passing the row's stable idempotency key.

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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils.dateparse import parse_datetime

from qunyun.core.codec import decision_from_dict, decision_to_dict
from qunyun.core.timeutil import UTC, utcnow

from .adapters import Adapter, PermanentFailure, TemporaryFailure
from .models import OutboxItem
from .wal import quiet_checkpoints

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 15 * 60


_WRITERS = threading.RLock()


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that writes; on SQLite it first waits its turn among this process's writers.

    SQLite has one write lock per database file. A writer that finds it taken sleeps in SQLite's
    busy handler in steps of 1, 2, 5, 10 … 100 ms, and that sleep was most of the delay when the
    ingest writer and the outbox worker met. Queueing on a lock here instead hands the turn over
    as soon as the previous transaction ends. PostgreSQL locks rows, not the database: no queue.
    """
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    quiet_checkpoints()
    with _WRITERS, transaction.atomic():
        yield


@dataclass
class RunReport:
    """What one pass of the worker did."""

    done: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.retried + self.failed


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: 2, 4, 8 … capped at 15 minutes."""
    return min(BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0)), BACKOFF_MAX_SECONDS)


def outbox_recover(*, now: datetime | None = None) -> int:
    """Return rows whose worker died mid-execution (stale ``running``) to ``pending``."""
    now = now or utcnow()
    with write_transaction():
        return OutboxItem.objects.filter(
            status=OutboxItem.Status.RUNNING, claimed_at__lt=now - CLAIM_LEASE
        ).update(status=OutboxItem.Status.PENDING, claim="")


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
    from .internal import AFTER_EXECUTED  # here: the executors import the outbox

    now = now or utcnow()
    lookup = adapters.get if isinstance(adapters, Mapping) else adapters
    report = RunReport()
    finished = _Finished()
    for item in _claim(limit, now, communities):
        platform = item.chat.partition(":")[0]
        try:
            decision = decision_from_dict(item.payload)
            if not decision.on_platform:
                _execute_internal(item, decision)
                report.done += 1
                continue
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
        if finished.due():
            _write_finished(finished, now)
    _write_finished(finished, now)
    return report


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


def outbox_insert(rows: list[tuple]) -> None:
    """Write outbox rows ``(community_id, key, decision, status, due_at, event_id)`` in one statement;
    a key its community already has is left as it is (the same event handled twice decides once).

    Raw SQL: the ORM's bulk insert cost ~1 ms a batch plus ~50 µs a row, as much as the handlers.
    """
    if not rows:
        return
    now = _db_time(utcnow())
    json_value = connection.ops.adapt_json_value
    params = [(community_id, key, decision.chat, decision.kind, json_value(decision_to_dict(decision), None),
               decision.reason[:200], status, _db_time(due), event_id, 0, "", "", now)
              for community_id, key, decision, status, due, event_id in rows]
    sql = (f"INSERT INTO {_q(_TABLE)} ({', '.join(_q(c) for c in _INSERTED)}) "
           f"VALUES ({', '.join(['%s'] * len(_INSERTED))}) ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)

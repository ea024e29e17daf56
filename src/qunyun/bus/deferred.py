"""Rollups off the live transaction: applied a moment later, several batches together, once.

A live transaction of five events spent over half of its CPU on the rollups (1.45 of 3.6 ms,
``bench/runtime/parts.py``), a fixed cost per transaction that decided the latency at 500
events/s. In the live writer, where this process's outbox worker takes hand-offs, the store keeps
the description of each batch (:attr:`.store.EventStore.deferred`); the
runtime writes it as an outbox row of kind ``rollups`` (:class:`ApplyRollups`) in the same
transaction as the events. Up to :data:`ROLLUP_EVERY_SECONDS` later the worker applies all the
rows of the community together (:func:`deferred_rollups_apply`:
:func:`~qunyun.analytics.incremental.batch_prepare`,
:func:`~qunyun.analytics.incremental.store_rollups_apply` and
:func:`~qunyun.analytics.incremental.rollups_apply` on the union of their new events, which those
functions count as they count any batching), deleting the rows in the transaction that applies
them. Group sizes, which a join's welcome reads, are counted again at once for a batch with joins
or leaves (:func:`group_sizes_now`: a count, not an increment, so doing it twice changes nothing).
Each event is counted once: a crash before the application leaves the rows, taken back and
applied after the restart; a rebuild drops them (:func:`deferred_rollups_discard`), having
counted their events.

The figures lag the live log by up to :data:`ROLLUP_EVERY_SECONDS` (plus the worker's delay).

On SQLite an application holds the database's one write lock only to write: it reads the waiting
rows and computes every rollup's new rows in a read transaction (one snapshot of the log), staged
in temporary tables (:class:`~qunyun.analytics.incremental.Staged`), then takes the writers' turn
to delete exactly those rows and write the staged ones. Writers that commit in between only add
events with later ids and rows of their own, applied the next time. Had a rebuild dropped the rows
meanwhile, the deletion finds fewer than it read and the staged rows are thrown away. Measured at
500 events/s (``bench/runtime``, quiet machine): the turn held per application, p50, fell from
22–24 ms to 11–13 ms (docs/runtime.md, section 4).

The write itself goes in parts (:data:`WRITE_IN_PARTS`), one rollup table each; a transaction
commits after a part as soon as another thread waits for the turn or it has written for
:data:`PART_SECONDS`, so that the live writer waits for one part at most (~1–2 ms) instead of the
whole write. The first transaction deletes the waiting rows, writes the first parts and stores the
others (:class:`~.models.RollupPart`: their statements, the staged rows in JSON parameters); each
next one deletes its parts' rows and writes them. Each event is still counted once: a crash
between two parts leaves exactly the parts not written, which are written before anything of the
community is read again (:func:`deferred_parts_finish`, also at the worker's start); a part whose
row is gone is skipped; a rebuild deletes the parts left with the waiting rows (it counts their
events itself). Between two parts a reader may find one rollup table with the application and
another one without it yet, for a few milliseconds: every table on its own is as it was or as it
will be, never half of one application.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django.db import connection, transaction

from qunyun.analytics.incremental import (
    NewEvents, Staged, batch_prepare, group_sizes_count, rollups_apply, store_rollups_apply,
)
from qunyun.core.decisions import DECISION_TYPES, Decision

from .models import OutboxItem, RollupPart
from .wal import write_transaction, writers_wait_free, writers_waiting

#: The worker applies the rollups it holds once the oldest has waited this long.
ROLLUP_EVERY_SECONDS = 0.25
#: The live writer defers rollups (switch for measurements and for trouble).
DEFER_ROLLUPS = True
KIND = "rollups"
#: Stage the rollups in a read transaction and write them in a short one (SQLite; see above).
STAGED = True
#: Staged, the application yields to this process's writers: before each statement of its read
#: part and before taking the turn to write, it waits until no writer holds the turn (the live
#: writer is then gathering or idle), at most :data:`YIELD_WAIT_SECONDS` each time and
#: :data:`YIELD_BUDGET_SECONDS` per application, so that it never waits for ever behind a busy
#: writer. The read part is 15-25 ms of CPU at 500 events/s: on the live writer's core it slowed
#: the live transactions that ran beside it (``docs/runtime.md``, section 4). Switch for
#: measurements (``bench/runtime --rollups-yield ab``).
YIELD_TO_WRITERS = True
YIELD_WAIT_SECONDS = 0.02
YIELD_BUDGET_SECONDS = 0.25
#: Staged, the application's changes are written in parts, a rollup table each, in several short
#: transactions (:class:`~.models.RollupPart`), instead of one: an event that arrives as the write
#: starts waits for one part, not for all of it (7-16 ms at 500 events/s in one; see
#: ``docs/runtime.md``, section 4). Switch for measurements (``bench/runtime --rollup-parts ab``).
WRITE_IN_PARTS = True
#: In parts, a transaction goes on to the next part while nobody else waits for the turn and it
#: has written for less than this (wall seconds): a waiting writer waits for one part at most,
#: and with nobody waiting the parts share their commits (each costs ~0.25 ms of CPU here).
PART_SECONDS = 0.002
#: An application of more events than this is written in one transaction: its parts would be
#: large, and storing them costs CPU in proportion (a burst of 2,000 events: ~30 % more for the
#: application, ``docs/runtime.md``); at 500 events/s an application holds ~125.
PARTS_MAX_EVENTS = 1000

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyRollups(Decision):
    """Add one stored batch to the rollups: ``batch`` is :class:`NewEvents` as JSON, with the new ids."""

    kind: ClassVar[str] = KIND
    on_platform: ClassVar[bool] = False

    batch: dict[str, Any] | None = None

    def __hash__(self) -> int:  # batch is a dict: its ids identify it
        return hash((self.chat, tuple(map(tuple, (self.batch or {}).get("ids", ())))))


DECISION_TYPES.setdefault(ApplyRollups.kind, ApplyRollups)


def group_sizes_now(new: NewEvents) -> None:
    """Count the current members of the batch's groups again, in the caller's transaction."""
    with connection.cursor() as cursor:
        group_sizes_count(cursor, new)


def _runs(ids) -> list[list[int]]:
    """Ascending ids as ``[first, last]`` runs of consecutive ones (a batch's ids are mostly one run)."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def _batch_of(new: NewEvents, ids) -> dict[str, Any]:
    return {"ids": _runs(ids), "time_zone": new.time_zone, "first_at": new.first_at.isoformat(),
            "last_at": new.last_at.isoformat(), "bots": sorted(new.bots), "sparse": new.sparse,
            "touched": sorted(new.touched), "movers": sorted(new.movers), "roster_groups": sorted(new.roster_groups)}


def rollups_row(community_id: int, new: NewEvents, ids) -> tuple[str, ApplyRollups]:
    """The outbox key and decision that stand for one batch's rollups."""
    batch = _batch_of(new, ids)
    runs = batch["ids"]
    return (f"{KIND}:{runs[0][0]}-{runs[-1][1]}:{len(runs)}",
            ApplyRollups(chat=f"qunyun:{community_id}", reason="rollups", batch=batch))


def deferred_rollups_apply(community_id: int, extra: list[tuple[NewEvents, object]] = ()) -> int:
    """Apply every rollup of the community still waiting (with ``extra`` batches, not written as
    rows), deleting their rows, in one write transaction (the caller's, if it is in one) — on
    SQLite outside a transaction, computed in a read transaction first (:func:`_apply_staged`).
    Returns the batches applied.

    All of them at once, never some: a rollup reads the log around its batch (who was active in an
    hour) and takes every event there but its own as counted already, which holds only when no
    stored event waits outside the application (in the snapshot, for a staged one).
    """
    if connection.vendor == "sqlite":
        deferred_parts_finish(community_id)  # a crash's leftovers: counted before anything new is read
        if STAGED and not extra and not connection.in_atomic_block:
            return _apply_staged(community_id)
    table = connection.ops.quote_name(OutboxItem._meta.db_table)
    batches = [_batch_of(new, ids) for new, ids in extra]
    with write_transaction(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE community_id = %s AND kind = %s AND status IN (%s, %s) "
                       "RETURNING payload", [community_id, KIND, OutboxItem.Status.PENDING, OutboxItem.Status.RUNNING])
        for (payload,) in cursor.fetchall():
            payload = json.loads(payload) if isinstance(payload, str) else payload
            batches.append(payload["batch"])
        if batches:
            _apply(community_id, batches)
    return len(batches)


def _apply_staged(community_id: int) -> int:
    """:func:`deferred_rollups_apply` on SQLite, holding the write lock only to write (module docstring)."""
    table = connection.ops.quote_name(OutboxItem._meta.db_table)
    parts_table = connection.ops.quote_name(RollupPart._meta.db_table)
    waiting = [OutboxItem.Status.PENDING, OutboxItem.Status.RUNNING]
    connection.ensure_connection()
    raw = connection.connection
    yielding = _Yield() if YIELD_TO_WRITERS else None
    rows = None
    raw.execute("BEGIN DEFERRED")  # a read transaction: one snapshot, no write lock on the database
    try:
        with (connection.execute_wrapper(yielding) if yielding else nullcontext()), connection.cursor() as cursor:
            # Another application's parts still to write (another thread's, committed since this
            # one looked): the rollups in this snapshot lack them, so nothing is computed from it.
            cursor.execute(f"SELECT 1 FROM {parts_table} WHERE community_id = %s LIMIT 1", [community_id])
            if cursor.fetchone() is None:
                cursor.execute(f"SELECT id, payload FROM {table} WHERE community_id = %s AND kind = %s "
                               "AND status IN (%s, %s)", [community_id, KIND, *waiting])
                rows = cursor.fetchall()
                if not rows:
                    return 0
                batches = [(json.loads(p) if isinstance(p, str) else p)["batch"] for _id, p in rows]
                staged = Staged(cursor)
                _apply(community_id, batches, staged=staged)
    finally:
        raw.execute("COMMIT")  # nothing of the main database was written: this only ends the snapshot
    if rows is None:
        deferred_parts_finish(community_id)
        return _apply_staged(community_id)
    ids = json.dumps(sorted(row_id for row_id, _p in rows))
    events = sum(last - first + 1 for batch in batches for first, last in batch["ids"])
    parts = staged.parts() if WRITE_IN_PARTS and events <= PARTS_MAX_EVENTS else []  # on the staging tables
    if yielding is not None:
        yielding.wait()  # the turn taken when the live writer has just let it go: it gathers meanwhile
    with write_transaction(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(%s)) AND status IN (%s, %s)",
                       [ids, *waiting])
        if cursor.rowcount != len(rows):
            # A rebuild (which counts these events itself) or another worker took some meanwhile.
            log.info("rollups of community %s: %d of %d waiting rows gone meanwhile; staged rows dropped",
                     community_id, len(rows) - cursor.rowcount, len(rows))
            transaction.set_rollback(True)
            return 0
        if not parts:
            staged.write(cursor)
            return len(rows)
        # The first parts now; the others stored as plain data, in this transaction (what a crash
        # leaves), then written from the staging tables (cheaper than from the JSON).
        done, start = 0, time.perf_counter()
        while done < len(parts):
            for statement, params in parts[done]:
                cursor.execute(statement, params)
            done += 1
            if _turn_over(start):
                break
        if done < len(parts):
            cursor.execute(f"INSERT INTO {parts_table} (community_id, seq, steps) SELECT %s, key + %s, value "
                           "FROM json_each(%s)", [community_id, done, json.dumps(staged.parts(cursor, stored_from=done))])
    _parts_write(community_id, list(enumerate(parts))[done:], yielding)
    return len(rows)


def _turn_over(start: float) -> bool:
    """Whether a transaction in parts should commit now: someone waits for the turn, or it has
    written for :data:`PART_SECONDS`."""
    return writers_waiting() or time.perf_counter() - start >= PART_SECONDS


def _parts_write(community_id: int, parts: list[tuple[int, list]], yielding: _Yield | None) -> None:
    """Write the stored parts ``(seq, steps)`` in order, each deleting its row in the transaction
    that writes it (several parts to a transaction while :func:`_turn_over` allows): a part whose
    row is gone was written by another thread, or dropped by a rebuild (with all the others), and
    is skipped."""
    table = connection.ops.quote_name(RollupPart._meta.db_table)
    i = 0
    while i < len(parts):
        if yielding is not None:
            yielding.wait()  # between two transactions the live writer, if it waits, has the turn first
        with write_transaction(), connection.cursor() as cursor:
            start = time.perf_counter()
            while i < len(parts):
                seq, steps = parts[i]
                i += 1
                cursor.execute(f"DELETE FROM {table} WHERE community_id = %s AND seq = %s", [community_id, seq])
                if cursor.rowcount == 1:
                    for statement, params in steps:
                        cursor.execute(statement, params)
                if _turn_over(start):
                    break


def deferred_parts_finish(community_id: int | None = None) -> int:
    """Write the parts an application left unwritten (a crash, or a failure, between two of them),
    of one community or of all; returns those communities. Before any new application of the
    community reads: its rollups lack those parts until then."""
    table = connection.ops.quote_name(RollupPart._meta.db_table)
    where, params = ("WHERE community_id = %s", [community_id]) if community_id is not None else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT community_id, seq, steps FROM {table} {where} ORDER BY community_id, seq", params)
        found = cursor.fetchall()
    communities: dict[int, list[tuple[int, list]]] = {}
    for cid, seq, steps in found:
        communities.setdefault(cid, []).append((seq, json.loads(steps)))
    for cid, parts in communities.items():
        log.info("rollups of community %s: writing %d parts left unwritten", cid, len(parts))
        _parts_write(cid, parts, None)
    return len(communities)


class _Yield:
    """An execute wrapper that lets this process's writers go first (see :data:`YIELD_TO_WRITERS`)."""

    def __init__(self) -> None:
        self.budget = YIELD_BUDGET_SECONDS

    def wait(self) -> None:
        if self.budget > 0:
            start = time.monotonic()
            writers_wait_free(min(YIELD_WAIT_SECONDS, self.budget))
            self.budget -= time.monotonic() - start

    def __call__(self, execute, sql, params, many, context):
        self.wait()
        return execute(sql, params, many, context)


def _apply(community_id: int, batches: list[dict], *, staged: Staged | None = None) -> None:
    """One application of the rollups for the union of ``batches`` (all new events of one community)."""
    ids = sorted({i for batch in batches for first, last in batch["ids"] for i in range(first, last + 1)})
    if connection.vendor == "postgresql":
        where, params = "e.id = ANY(%s)", [ids]
    else:
        where, params = "e.id IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]

    def union(name: str) -> frozenset[int]:
        return frozenset(v for batch in batches for v in batch[name])

    new = NewEvents(
        community_id=community_id, time_zone=batches[-1]["time_zone"], where=where, params=params,
        first_at=min(datetime.fromisoformat(b["first_at"]) for b in batches),
        last_at=max(datetime.fromisoformat(b["last_at"]) for b in batches),
        bots=union("bots"), sparse=any(b["sparse"] for b in batches), touched=union("touched"),
        movers=union("movers"), roster_groups=union("roster_groups"), staged=staged)
    batch_prepare(new)
    store_rollups_apply(new)
    rollups_apply(store=None, fresh=new)


def rollups_execute(item: OutboxItem, decision: Decision) -> dict[str, Any]:
    """The internal executor of a ``rollups`` row claimed from the table (after a restart): applies
    its community's waiting rollups, this row's among them (or none, if another took it first)."""
    assert isinstance(decision, ApplyRollups)
    return {"applied": deferred_rollups_apply(item.community_id)}


def deferred_rollups_discard(cursor, community_id: int) -> int:
    """Drop the community's rollups still waiting (for a rebuild that recounts their events), in
    the caller's transaction; a worker holding one then skips it. Returns the rows dropped."""
    table = connection.ops.quote_name(OutboxItem._meta.db_table)
    cursor.execute(f"DELETE FROM {table} WHERE community_id = %s AND kind = %s AND status IN (%s, %s)",
                   [community_id, KIND, OutboxItem.Status.PENDING, OutboxItem.Status.RUNNING])
    dropped = cursor.rowcount
    # An application's parts not yet written: their events are in the log too.
    cursor.execute(f"DELETE FROM {connection.ops.quote_name(RollupPart._meta.db_table)} WHERE community_id = %s",
                   [community_id])
    return dropped

"""Live events into the runtime: one cached :class:`~qunyun.bus.runtime.Runtime` per community,
fed by one writer thread per community that commits whatever has arrived together (group commit).

Every connector and webhook calls :func:`ingest_events` (or :func:`ingest_submit` to not wait).
Events that arrive while a batch is being written go into the next batch, so under load one
transaction carries many events and a busy group costs a few commits per second instead of one
per event. Each caller still learns what became of its own events (stored or duplicates).

Before storing, joins are attributed to a channel when the platform gives no channel of its
own: a per-group channel link of the channel's routes (活码), or the joiner's recent visit to
the channel's /j/ page (Matrix).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from concurrent.futures import Future

from django.db import close_old_connections

from qunyun.bus.outbox import handoff_of, write_transaction
from qunyun.bus.runtime import IngestResult, Runtime
from qunyun.communities.models import Community
from qunyun.core import events as ev

from .heap import POLICY as HEAP_POLICY

log = logging.getLogger(__name__)

#: A cached runtime re-reads its community, groups and channels after this many seconds so edits
#: (rules, settings, group caps, new channels) apply; what it knows of members it keeps.
RUNTIME_TTL = 30.0

_runtimes: dict[int, tuple[float, Runtime]] = {}
_lock = threading.Lock()


class _Doorbell:
    """The process's outbox worker, looked up at each use (it may start after the runtimes): rung
    after a commit that wrote decisions, and its hand-off, which takes the decisions due at once."""

    def __call__(self) -> None:
        from qunyun.server import outbox_doorbell

        bell = outbox_doorbell()
        if bell is not None:
            bell()

    @property
    def handoff(self):
        from qunyun.server import outbox_doorbell

        return handoff_of(outbox_doorbell())


_wake = _Doorbell()


def runtime_for(community_id: int) -> Runtime:
    """The live runtime of a community (cached; refreshed every :data:`RUNTIME_TTL` seconds)."""
    now = time.monotonic()
    with _lock:
        hit = _runtimes.get(community_id)
        if hit is not None and now - hit[0] < RUNTIME_TTL:
            return hit[1]
        if hit is not None:
            runtime = hit[1]
            runtime.refresh()
        else:
            runtime = Runtime(Community.objects.get(pk=community_id), mode="live", wake=_wake)
        _runtimes[community_id] = (now, runtime)
        return runtime


def runtimes_forget() -> None:
    with _lock:
        _runtimes.clear()


def attribute_join(community_id: int, event: ev.MemberJoined) -> ev.MemberJoined:
    """The join with its channel filled in from routes or /j/ visits, when the platform gave none."""
    from qunyun.onboarding.services import invite_link_channel, join_intent_claim

    if event.channel or event.member.is_bot:
        return event
    code = None
    if event.invite_link:
        code = invite_link_channel(community_id=community_id, invite_link=event.invite_link)
    if code is None and _may_have_join_intent(community_id, event.member.id):
        code = join_intent_claim(community_id=community_id, account_id=event.member.id)
    return dataclasses.replace(event, channel=code) if code else event


def _may_have_join_intent(community_id: int, account_id: str) -> bool:
    """Whether the joiner left an unused /j/ visit: one indexed read, skipping the claim's ORM
    query (~1 ms of CPU) for the many joins that come without one."""
    from django.db import connection

    from qunyun.onboarding.models import JoinIntent

    table = connection.ops.quote_name(JoinIntent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE community_id = %s AND account_id = %s AND used_at IS NULL LIMIT 1",
                       [community_id, account_id])
        return cursor.fetchone() is not None


#: At most this many events go into one transaction.
MAX_BATCH = 2000
#: The writer keeps its database connection while events keep coming (opening a SQLite connection
#: costs ~1.3 ms of CPU, more than storing a few events) and gives it back after this long idle.
IDLE_RECYCLE_SECONDS = 1.0
#: A connection's "last event" time shown in the console is this fresh at worst.
TOUCH_EVERY_SECONDS = 5.0
#: Under load a transaction starts no sooner than this after the previous one started, nor sooner
#: after the previous one ended than that one took of the writer's CPU (the writer busy at most
#: about half the time), so that the fixed cost of a transaction (~2 ms of CPU: the rollups, the
#: commit, the worker's turn) is shared by the events of that time instead of being paid for every
#: event or two, and the worker and the adapters keep some of the core. An event that finds the
#: writer idle for longer is written at once; :data:`GATHER_EVENTS` queued end the wait, which
#: never lasts more than :data:`GATHER_MAX_SECONDS` (one slow transaction must not hold the next
#: one back long: the events that waited through it would wait as long again; 20 ms until
#: session 7, whose ABBA runs at 500 events/s gave a lower p99 at 8 ms, ``docs/runtime.md``).
COMMIT_INTERVAL_SECONDS = 0.005
GATHER_EVENTS = 200
GATHER_MAX_SECONDS = 0.008
#: What "that one took" is: the writer thread's CPU time (True) or the wall time (False, before
#: session 6). A transaction that waited for SQLite's write turn (the deferred rollups hold it
#: ~10 ms) or for the core took long in wall time with little CPU; by wall time the events queued
#: behind it then also waited as long again before the next transaction started. The switch is
#: for measurements (``bench/runtime --writer-gap ab``).
GAP_BY_CPU = True


class _Writer:
    """The one thread that writes a community's live events, a batch at a time."""

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id
        self.queue: list[tuple[list[ev.Event], dict[str, str], int | None, Future]] = []
        self.cond = threading.Condition()
        self.touched: dict[int, float] = {}
        self.batches = self.events = 0  # how much group commit groups: see writer_batches()
        self.queued = 0  # events in the queue
        self.gathering = False  # waiting for more events before the next transaction
        self.started = self.ended = -1.0  # when the last transaction started and ended (monotonic)
        self.took = 0.0  # what the last transaction took (see GAP_BY_CPU), seconds
        self.thread = threading.Thread(target=self._run, name=f"qunyun-ingest-{community_id}", daemon=True)
        self.thread.start()

    def submit(self, events: list[ev.Event], group_names: dict[str, str], connection_id: int | None) -> Future:
        future: Future = Future()
        with self.cond:
            self.queue.append((events, group_names, connection_id, future))
            self.queued += len(events)
            if not self.gathering or self.queued >= GATHER_EVENTS:  # a gathering writer is not woken per event
                self.cond.notify()
        return future

    def _take(self):
        with self.cond:
            if not self.queue:
                self.cond.wait(IDLE_RECYCLE_SECONDS)
            if not self.queue:  # a pause: give the connection back (Django's rules) before sleeping
                try:
                    close_old_connections()
                except Exception:  # the writer must outlive a database it cannot reach now
                    log.warning("live writer of community %s could not recycle its connection", self.community_id,
                                exc_info=True)
            while not self.queue:
                self.cond.wait()
            gap = self._gap()
            if gap > 0 and self.queued < GATHER_EVENTS:
                self.gathering = True
                try:
                    self.cond.wait(gap)
                finally:
                    self.gathering = False
            taken, size = [], 0
            while self.queue and (not taken or size + len(self.queue[0][0]) <= MAX_BATCH):
                item = self.queue.pop(0)
                taken.append(item)
                size += len(item[0])
            self.queued -= size
            self.started = time.monotonic()
            return taken

    def _gap(self) -> float:
        """Seconds to gather for before the next transaction (see :data:`COMMIT_INTERVAL_SECONDS`)."""
        return min(max(self.started + COMMIT_INTERVAL_SECONDS, self.ended + self.took) - time.monotonic(),
                   GATHER_MAX_SECONDS)

    def _run(self) -> None:  # pragma: no cover - exercised through ingest_events
        while True:
            taken = self._take()
            cpu = time.thread_time()
            try:
                results = self._write(taken)
            except BaseException as exc:  # every caller of the batch learns it failed
                close_old_connections()  # a broken connection is replaced before the next batch
                for *_rest, future in taken:
                    future.set_exception(exc)
                continue
            finally:
                self.ended = time.monotonic()
                self.took = time.thread_time() - cpu if GAP_BY_CPU else self.ended - self.started
            for (_e, _n, _c, future), result in zip(taken, results):
                future.set_result(result)
            HEAP_POLICY.tick()  # between transactions: a short collector pause now and then (see .heap)

    def _write(self, taken) -> list[IngestResult]:
        self.batches += 1
        self.events += sum(len(events) for events, *_rest in taken)
        runtime = runtime_for(self.community_id)
        everything: list[ev.Event] = []
        for events, names, _conn, _future in taken:
            runtime.store.group_names.update(names)
            everything.extend(events)
        stored_keys: set[str] = set()
        original = runtime.store.store

        def store_and_note(batch):
            stored = original(batch)
            stored_keys.update(item.event.key for item in stored)
            return stored
        runtime.store.store = store_and_note
        try:
            total = runtime.ingest(everything, batch_size=MAX_BATCH)
        finally:
            del runtime.store.store
        results = []
        claimed: set[str] = set()
        for events, _names, _conn, _future in taken:
            result = IngestResult(received=len(events))
            for event in events:
                if event.key in stored_keys and event.key not in claimed:
                    claimed.add(event.key)
                    result.stored += 1
                    result.by_type[event.type] = result.by_type.get(event.type, 0) + 1
            result.duplicates = result.received - result.stored
            results.append(result)
        if results:
            results[0].decisions = total.decisions  # decisions are per batch, not per caller
        self._touch({conn for _e, _n, conn, _f in taken if conn is not None})
        return results

    def _touch(self, connection_ids: set[int]) -> None:
        """Note the connections' last event for the console, at most every :data:`TOUCH_EVERY_SECONDS`
        (a write of its own per batch would cost a busy group a second transaction per batch)."""
        from .services import connection_touch

        now = time.monotonic()
        for connection_id in connection_ids:
            if now - self.touched.get(connection_id, -TOUCH_EVERY_SECONDS) >= TOUCH_EVERY_SECONDS:
                self.touched[connection_id] = now
                with write_transaction():
                    connection_touch(connection_id=connection_id)


_writers: dict[int, _Writer] = {}
_writers_lock = threading.Lock()


def _writer(community_id: int) -> _Writer:
    with _writers_lock:
        writer = _writers.get(community_id)
        if writer is None:
            if not _writers:
                HEAP_POLICY.start()  # the live server's collector policy and switch interval
            writer = _writers[community_id] = _Writer(community_id)
        return writer


def writer_batches(community_id: int) -> tuple[int, int]:
    """How many transactions the community's writer has written, and how many events they held."""
    with _writers_lock:
        writer = _writers.get(community_id)
    return (writer.batches, writer.events) if writer is not None else (0, 0)


def ingest_submit(community_id: int, events: list[ev.Event], *, group_names: dict[str, str] | None = None,
                  connection_id: int | None = None) -> Future:
    """Queue live events of one community for the next batch; the future gives an
    :class:`IngestResult` for these events once they are committed."""
    events = [attribute_join(community_id, e) if isinstance(e, ev.MemberJoined) else e for e in events]
    return _writer(community_id).submit(events, dict(group_names or {}), connection_id)


def ingest_events(community_id: int, events: list[ev.Event], *, group_names: dict[str, str] | None = None,
                  connection_id: int | None = None) -> IngestResult:
    """Store and handle live events of one community (from any thread); returns once committed."""
    if not events:
        return IngestResult()
    return ingest_submit(community_id, events, group_names=group_names, connection_id=connection_id).result()

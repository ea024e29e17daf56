"""The runtime: events in, stored, handled, decisions into the outbox — one transaction a batch.

    platform ─► adapter ─► Event ─► Runtime.ingest ─► EventStore (idempotent)
                                         │
                                         ├─► EVENT_HANDLERS[type] ─► decisions
                                         └─► outbox rows (same transaction) ─► after commit:
                                              the outbox worker executes them through adapters

A live adapter calls :meth:`Runtime.ingest` with one event or a few; an importer with batches
of thousands (``mode="import"`` stores and rolls up, but runs no handlers: history is
analysed, not acted upon). Either way the same store path is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from datetime import datetime

from django.conf import settings
from django.db import transaction

from qunyun.communities.models import Community, Group
from qunyun.core import events as ev
from qunyun.core.decisions import CancelLater, Decision, Later, Mute, Ban, Unmute, Unban
from qunyun.core.timeutil import utcnow, zone

from . import deferred
from .context import GroupInfo, HandlerContext
from .models import OutboxItem
from .outbox import handoff_of, outbox_insert, write_transaction
from .store import EventStore, StoredEvent, community_info

if TYPE_CHECKING:
    from .handlers import Handler

#: The product's routing table, imported on first use by a live runtime: it pulls in every
#: handler's app (moderation's classifier and normalization tables among them), which an
#: import, running no handlers, does not need (about 0.2–0.4 s of CPU per import process).
EVENT_HANDLERS: Mapping[type[ev.Event], Iterable[Handler]] | None = None


def product_handlers() -> Mapping[type[ev.Event], Iterable[Handler]]:
    """The product's routing table (:data:`qunyun.bus.handlers.EVENT_HANDLERS`), loaded once."""
    global EVENT_HANDLERS
    if EVENT_HANDLERS is None:
        from .handlers import EVENT_HANDLERS as table

        EVENT_HANDLERS = table
    return EVENT_HANDLERS

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """What one or more ingest calls did."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    decisions: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: "IngestResult") -> None:
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.decisions += other.decisions
        for key, value in other.by_type.items():
            self.by_type[key] = self.by_type.get(key, 0) + value


class Runtime:
    """Feeds events of one community through the store, the handlers and the outbox.

    ``mode`` is ``"live"`` (handlers run) or ``"import"`` (no handlers). ``dry_run`` forces
    decisions to be recorded only; by default it follows the community's switch and the
    ``QUNYUN_DRY_RUN`` setting. ``wake`` is called after each commit that wrote decisions (the
    outbox worker's doorbell); when it belongs to a worker with a :class:`~.outbox.HandOff`, the
    decisions due at once are passed to that worker in memory instead (see :func:`.outbox.handoff_of`).
    """

    def __init__(
        self,
        community: Community,
        *,
        mode: str = "live",
        handlers: Mapping[type[ev.Event], Iterable[Handler]] | None = None,
        dry_run: bool | None = None,
        keep_raw: bool = True,
        wake: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if mode not in ("live", "import"):
            raise ValueError("mode is 'live' or 'import'")
        self.community = community
        self.mode = mode
        if handlers is None:
            handlers = product_handlers() if mode == "live" else {}  # an import runs no handlers
        self.handlers = {k: tuple(v) for k, v in handlers.items()}
        self.dry_run = dry_run
        self.store = EventStore(community, keep_raw=keep_raw)
        self.wake = wake
        self.clock = clock
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Pick up edits to the community, its groups and channels (console, CLI), keeping what the
        store knows of members and groups: a new store would look up every group and account it
        meets again, a burst of queries and of latency each time.

        The store's caches are named here; ``tests/bus/test_live_path.py`` checks edits arrive.
        """
        community = Community.objects.get(pk=self.community.pk)
        groups = {chat: GroupInfo(id=pk, chat_id=chat, name=name, size_cap=cap, settings=dict(extra or {}))
                  for pk, chat, name, cap, extra in Group.objects.filter(community=community).values_list(
                      "pk", "chat_id", "name", "size_cap", "settings")}
        with self._lock:
            store = self.store
            self.community = store.community = community
            store.info, store.tz = community_info(community), zone(community.time_zone)
            store._bots = None
            store._channels_by_link = store._channels_by_code = None
            known = {chat: groups[chat] for chat in store._groups if chat in groups}
            store._groups.clear()
            store._groups.update(known)

    @property
    def is_dry_run(self) -> bool:
        if self.dry_run is not None:
            return self.dry_run
        return bool(self.community.dry_run or getattr(settings, "QUNYUN_DRY_RUN", False))

    def ingest(self, events: Iterable[ev.Event], *, batch_size: int = 2000) -> IngestResult:
        """Store and handle ``events`` in batches of ``batch_size``, one transaction each."""
        total = IngestResult()
        batch: list[ev.Event] = []
        for event in events:
            batch.append(event)
            if len(batch) >= batch_size:
                total.add(self.ingest_batch(batch))
                batch = []
        if batch:
            total.add(self.ingest_batch(batch))
        return total

    def ingest_batch(self, events: list[ev.Event]) -> IngestResult:
        """Store one batch and write its decisions, atomically."""
        result = IngestResult(received=len(events))
        with self._lock:
            # Live, with this process's worker taking hand-offs: the rollups follow a moment later
            # (see .deferred); otherwise (imports, tests, no worker here) in this transaction.
            handoff = handoff_of(self.wake) if self.mode == "live" else None
            self.store.defer_rollups = handoff is not None and deferred.DEFER_ROLLUPS
            try:
                with write_transaction():
                    stored = self.store.store(events)
                    for new, _ids in self.store.deferred:
                        if new.movers:  # joins or leaves: the handlers read the groups' sizes now
                            deferred.group_sizes_now(new)
                    decisions = self._handle(stored, handoff) if self.mode == "live" and stored else 0
            except BaseException:
                self.store.forget()
                raise
            finally:
                self.store.deferred.clear()
        result.stored = len(stored)
        result.duplicates = result.received - result.stored
        result.decisions = decisions
        for item in stored:
            result.by_type[item.event.type] = result.by_type.get(item.event.type, 0) + 1
        return result

    # ----------------------------------------------------------------- handlers → outbox

    def _handle(self, stored: list[StoredEvent], handoff) -> int:
        """Run the handlers; ``handoff`` is this process's worker's hand-off (or None), looked up once per batch."""
        now = self.clock()
        items: list[tuple] = []
        cancels: list[str] = []
        status = OutboxItem.Status.DRY_RUN if self.is_dry_run else OutboxItem.Status.PENDING
        for item in stored:
            handlers = self.handlers.get(type(item.event), ())
            if not handlers:
                continue
            ctx = HandlerContext(community=self.store.info, group=item.group, member=item.member,
                                 now=now, channel_code=item.channel_code)
            for handler in handlers:
                name = f"{handler.__module__}.{handler.__qualname__}"
                try:
                    produced = list(handler(item.event, ctx) or ())
                except Exception:  # one broken rule must not stop the others or the store
                    log.exception("handler %s failed on event %s", name, item.id)
                    continue
                for index, output in enumerate(produced):
                    base_key = f"{item.event.key}|{name}|{index}"
                    for key, decision, due in _expand(output, base_key, now):
                        if isinstance(decision, CancelLater):
                            cancels.append(f"later:{decision.key}")
                            continue
                        items.append((self.community.pk, key, decision, status, due, item.id))
        if cancels:
            OutboxItem.objects.filter(community_id=self.community.pk, key__in=cancels,
                                      status=OutboxItem.Status.PENDING).update(
                status=OutboxItem.Status.CANCELLED)
        decisions = len(items)
        for new, ids in self.store.deferred:  # the rollups, for the worker (never a dry run: they are ours)
            key, rollups = deferred.rollups_row(self.community.pk, new, ids)
            items.append((self.community.pk, key, rollups, OutboxItem.Status.PENDING, now, None))
        if not items:
            return 0
        # Decisions due now go to this process's worker in memory when it takes them (the rows
        # written already claimed for it); the worker is woken for the others (due later, or
        # without such a worker), which it claims from the table.
        # (the hand-off takes only pending rows: never a dry run's)
        handed = outbox_insert(items, handoff=handoff, now=now)
        if handed:
            transaction.on_commit(lambda: handoff.put(handed))
        if len(handed) < len(items) and self.wake is not None:
            transaction.on_commit(self.wake)
        return decisions


def _expand(output: Decision | Later, base_key: str, now: datetime):
    """The outbox rows for one handler output: the decision, plus the lifting of a timed penalty.

    A timed mute or ban is followed by a scheduled unmute/unban at its end, even on platforms
    that lift it themselves: the row is cheap and makes the end happen on time everywhere.
    """
    if isinstance(output, Later):
        key = f"later:{output.key}" if output.key else base_key
        yield key, output.decision, output.at
        return
    yield base_key, output, now
    if isinstance(output, Mute) and output.until is not None:
        yield base_key + "|end", Unmute(chat=output.chat, member=output.member, reason="mute ended"), output.until
    elif isinstance(output, Ban) and output.until is not None:
        yield base_key + "|end", Unban(chat=output.chat, member=output.member, reason="ban ended"), output.until

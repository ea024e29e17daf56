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

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from qunyun.core.codec import decision_from_dict
from qunyun.core.timeutil import utcnow

from .adapters import Adapter, PermanentFailure, TemporaryFailure
from .models import OutboxItem

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

    @property
    def total(self) -> int:
        return self.done + self.retried + self.failed


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt ``attempts + 1``: 2, 4, 8 … capped at 15 minutes."""
    return min(BACKOFF_BASE_SECONDS * (2 ** max(attempts - 1, 0)), BACKOFF_MAX_SECONDS)


def outbox_recover(*, now: datetime | None = None) -> int:
    """Return rows whose worker died mid-execution (stale ``running``) to ``pending``."""
    now = now or utcnow()
    return OutboxItem.objects.filter(
        status=OutboxItem.Status.RUNNING, claimed_at__lt=now - CLAIM_LEASE
    ).update(status=OutboxItem.Status.PENDING, claim="")


def _claim(limit: int, now: datetime, communities: list[int] | None) -> list[OutboxItem]:
    token = uuid.uuid4().hex
    due = OutboxItem.objects.filter(status=OutboxItem.Status.PENDING, due_at__lte=now)
    if communities is not None:
        due = due.filter(community_id__in=communities)
    ids = list(due.order_by("due_at", "id").values_list("id", flat=True)[:limit])
    if not ids:
        return []
    with transaction.atomic():
        OutboxItem.objects.filter(id__in=ids, status=OutboxItem.Status.PENDING).update(
            status=OutboxItem.Status.RUNNING, claim=token, claimed_at=now)
    return list(OutboxItem.objects.filter(claim=token, status=OutboxItem.Status.RUNNING).order_by("due_at", "id"))


def _execute_internal(item: OutboxItem, decision) -> dict:
    from .internal import INTERNAL_EXECUTORS

    executor = INTERNAL_EXECUTORS.get(decision.kind)
    if executor is None:
        raise PermanentFailure(f"no internal executor for {decision.kind!r}")
    with transaction.atomic():
        return executor(item, decision)


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
    for item in _claim(limit, now, communities):
        platform = item.chat.partition(":")[0]
        try:
            decision = decision_from_dict(item.payload)
            if not decision.on_platform:
                result = _execute_internal(item, decision)
            else:
                adapter = lookup(platform)
                if adapter is None:
                    raise PermanentFailure(f"no connection to platform {platform!r} is configured")
                if decision.kind not in adapter.capabilities:
                    raise PermanentFailure(f"{platform} cannot {decision.kind} (not supported by the platform)")
                result = adapter.execute(decision, idempotency_key=f"qunyun-{item.pk}")
        except TemporaryFailure as exc:
            attempts = item.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                _finish(item, OutboxItem.Status.FAILED, error=f"gave up after {attempts} attempts: {exc}")
                report.failed += 1
            else:
                wait = exc.retry_after if exc.retry_after is not None else backoff(attempts)
                OutboxItem.objects.filter(pk=item.pk, claim=item.claim).update(
                    status=OutboxItem.Status.PENDING, attempts=attempts, claim="", last_error=str(exc)[:2000],
                    due_at=now + timedelta(seconds=wait))
                report.retried += 1
            continue
        except Exception as exc:  # permanent, or a bug in an adapter: never retry blindly
            _finish(item, OutboxItem.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
            log.warning("outbox item %s (%s) failed: %s", item.pk, item.kind, exc)
            report.failed += 1
            continue
        _finish(item, OutboxItem.Status.DONE, result=result)
        report.done += 1
        if decision.on_platform:
            _after_executed(item, decision, now)
    return report


def _after_executed(item: OutboxItem, decision, now: datetime) -> None:
    """Let the domain record that a platform decision was carried out (a mute was lifted …)."""
    from .internal import AFTER_EXECUTED

    for listener in AFTER_EXECUTED.get(decision.kind, ()):
        try:
            with transaction.atomic():
                listener(item, decision, now)
        except Exception:  # the platform call happened; a bookkeeping bug must not undo that
            log.exception("after-execution listener %s failed on outbox item %s", listener, item.pk)


def _finish(item: OutboxItem, status: str, *, error: str = "", result: dict | None = None) -> None:
    OutboxItem.objects.filter(pk=item.pk, claim=item.claim).update(
        status=status, attempts=item.attempts + 1, executed_at=utcnow(), last_error=error[:2000],
        result=result, claim="")


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

    from qunyun.core.codec import decision_to_dict

    from .runtime import _expand  # here, not at the top: the runtime imports the handler table

    now = now or utcnow()
    dry_run = community.dry_run or getattr(settings, "QUNYUN_DRY_RUN", False)
    status = OutboxItem.Status.DRY_RUN if dry_run else OutboxItem.Status.PENDING
    rows = []
    for index, output in enumerate(decisions):
        for key, decision, due in _expand(output, f"{key_prefix}|{index}", now):
            rows.append(OutboxItem(
                community_id=community.pk, key=key, chat=decision.chat, kind=decision.kind,
                payload=decision_to_dict(decision), reason=decision.reason[:200], status=status, due_at=due,
                event_id=event_id))
    if rows:
        OutboxItem.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)

"""What the outbox needs from a platform adapter, and a fake one for tests.

An adapter carries decisions out on one platform. It declares what it can do
(:attr:`Adapter.capabilities`, decision kinds), so a decision the platform cannot carry out is
marked failed with a clear reason instead of being retried forever. It raises
:class:`TemporaryFailure` for what may work later (rate limits, network), with an optional
``retry_after``, and :class:`PermanentFailure` for what never will (no permission).

``idempotency_key`` is stable across retries of one outbox item; adapters pass it to the
platform where the platform deduplicates (Matrix transaction ids), so a retry after a crash in
the middle of a call does not post twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from qunyun.core.decisions import Decision


class TemporaryFailure(Exception):
    """The platform could not do it now; try again (after ``retry_after`` seconds if given)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The platform will never do it (no permission, message gone, not supported)."""


@runtime_checkable
class Adapter(Protocol):
    """A platform's executor of decisions."""

    platform: str
    capabilities: frozenset[str]

    def execute(self, decision: Decision, *, idempotency_key: str) -> dict[str, Any] | None:
        """Carry ``decision`` out; return what the platform answered (ids), or None."""


@dataclass
class FakeAdapter:
    """An in-memory adapter that records what it was asked to do. For tests and benchmarks.

    ``fail_next`` makes the next N calls raise :class:`TemporaryFailure`.
    """

    platform: str = "fake"
    capabilities: frozenset[str] = frozenset(
        {"send", "delete", "mute", "unmute", "ban", "unban", "kick", "set_title"})
    calls: list[tuple[Decision, str]] = field(default_factory=list)
    fail_next: int = 0

    def execute(self, decision: Decision, *, idempotency_key: str) -> dict[str, Any] | None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise TemporaryFailure("simulated outage", retry_after=0)
        self.calls.append((decision, idempotency_key))
        return {"ok": True, "n": len(self.calls)}

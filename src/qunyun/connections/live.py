"""What a live platform connector is, for the supervisor and the outbox.

A connector knows one platform and one connection (one community's bot account). It turns the
platform's payloads into normalized events and hands them to :func:`qunyun.connections.ingest`;
it carries decisions out (:meth:`Connector.execute`, called from the outbox worker thread); and
if it holds a session (a Matrix sync, Telegram long polling, a OneBot WebSocket) it runs it in
:meth:`Connector.run` on the supervisor's event loop, raising when the session drops so the
supervisor reconnects it with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from qunyun.core.decisions import Decision

#: Seconds to wait before reconnect attempt n: 1, 2, 4 … capped at one minute.
RECONNECT_MAX_SECONDS = 60.0


def reconnect_delay(attempt: int) -> float:
    return min(2.0 ** max(attempt, 0), RECONNECT_MAX_SECONDS)


@dataclass
class ConnectionInfo:
    """A connection as a connector needs it: plain data, secrets resolved."""

    id: int
    community_id: int
    community_slug: str
    platform: str
    settings: dict[str, Any]
    secrets: dict[str, str]
    state: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    platform: str
    capabilities: frozenset[str]
    info: ConnectionInfo

    def execute(self, decision: Decision, *, idempotency_key: str) -> dict[str, Any] | None: ...

    async def run(self, connected: Callable[[], None]) -> None:
        """Hold the session; call ``connected()`` once it works; raise when it drops."""

    def close(self) -> None: ...


def call_on_loop(loop: asyncio.AbstractEventLoop, coro, *, timeout: float = 30.0):
    """Run ``coro`` on ``loop`` (another thread's) and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

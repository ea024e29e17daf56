"""The generic connection has no session to hold: other systems post to qunyun.

Decisions about chats that arrived through it carry those chats' own platform prefix, so they
are executed by that platform's connection when there is one; the generic connection itself
executes nothing.
"""

from __future__ import annotations

from qunyun.bus.adapters import PermanentFailure
from qunyun.connections.live import ConnectionInfo


class GenericConnector:
    platform = "generic"
    capabilities: frozenset[str] = frozenset()

    def __init__(self, info: ConnectionInfo, *, host) -> None:
        self.info = info

    async def run(self, connected) -> bool:
        return False

    def execute(self, decision, *, idempotency_key: str):
        raise PermanentFailure("the generic connection receives events; it carries no decisions out")

    def close(self) -> None:
        pass

"""The live adapters of this process, by platform name.

Connections (the bot's platform sessions) register their adapter here when they start; the
outbox worker looks adapters up here. Kept deliberately small: one dict and a lock.
"""

from __future__ import annotations

import threading

from .adapters import Adapter

_adapters: dict[str, Adapter] = {}
_lock = threading.Lock()


def adapter_register(adapter: Adapter) -> None:
    """Make ``adapter`` the executor for its platform."""
    with _lock:
        _adapters[adapter.platform] = adapter


def adapter_unregister(platform: str) -> None:
    with _lock:
        _adapters.pop(platform, None)


def adapter_get(platform: str) -> Adapter | None:
    """The adapter for ``platform``, or None if no connection is live."""
    with _lock:
        return _adapters.get(platform)

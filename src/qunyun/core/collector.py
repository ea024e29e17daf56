"""Pausing Python's cyclic garbage collector around allocation-heavy work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic collector from running in the block (re-enabled after, if it was on).

    For work that allocates many short-lived objects reference counting frees by itself (a store
    batch, a dashboard's reads): each collection those allocations would trigger walks every
    object of the process, for nothing, since such work makes no reference cycles.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()

"""The live server's collector policy: short pauses, and memory still freed — what is made after
a freeze is collected as before, and a frozen cycle that dies is freed by the next sweep."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest

from qunyun.connections.heap import HeapPolicy


class Node:
    pass


def cycle() -> tuple[Node, weakref.ref]:
    node = Node()
    node.me = node  # only the cyclic collector frees it
    return node, weakref.ref(node)


@pytest.fixture
def clock():
    now = [100.0]
    yield now
    gc.unfreeze()  # the test process's heap back to normal


def policy(clock, **kwargs) -> HeapPolicy:
    kwargs.setdefault("switch_interval", None)
    return HeapPolicy(clock=lambda: clock[0], **kwargs)


def walked() -> set[int]:
    """Ids of the objects a full collection walks now."""
    return {id(obj) for obj in gc.get_objects(generation=2)}


def test_the_start_frees_waiting_garbage_then_takes_live_objects_out_of_full_passes(clock):
    garbage, dead = cycle()
    del garbage
    kept = [Node() for _ in range(100)]
    frozen_before = gc.get_freeze_count()
    policy(clock).start()
    assert dead() is None  # collected first, not frozen forever
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    assert not any(id(obj) in walked() for obj in kept)


def test_objects_made_after_the_freeze_are_collected_as_before(clock):
    heap = policy(clock)
    heap.start()
    garbage, dead = cycle()
    del garbage
    gc.collect()  # the collector's own passes (or a re-freeze's) still see what is not frozen
    assert dead() is None


def test_a_refreeze_collects_the_dead_and_takes_the_survivors_out_of_full_passes(clock):
    heap = policy(clock, refreeze_every=1.0, sweep_every=0)
    heap.start()
    kept = [Node() for _ in range(100)]
    garbage, dead = cycle()
    del garbage
    gc.collect(0)  # the young passes have run: the survivors moved on
    clock[0] += 1.0
    heap.tick()
    assert heap.refreezes >= 1
    assert dead() is None
    assert not any(id(obj) in walked() for obj in kept)


def test_a_cycle_that_dies_after_being_frozen_is_freed_by_the_next_sweep(clock):
    heap = policy(clock, refreeze_every=1.0, sweep_every=60.0)
    heap.start()
    frozen, dead = cycle()
    clock[0] += 1.0
    heap.tick()  # a re-freeze: the cycle, alive now, is frozen
    del frozen
    gc.collect()
    assert dead() is not None  # dead, but in the frozen heap: no ordinary pass walks it
    clock[0] += 60.0
    heap.tick()  # the sweep is due
    assert heap.sweeps == 1 and dead() is None
    assert heap.swept_objects >= 1


def test_reference_counting_still_frees_frozen_objects_without_cycles(clock):
    heap = policy(clock)
    kept = [Node() for _ in range(1000)]
    alive = weakref.ref(kept[0])
    heap.start()
    frozen = gc.get_freeze_count()
    del kept
    assert alive() is None
    assert gc.get_freeze_count() <= frozen - 1000


def test_off_means_no_refreeze_and_the_switch_interval_untouched(clock):
    before = sys.getswitchinterval()
    heap = policy(clock, refreeze_every=0)
    heap.start()
    clock[0] += 3600
    heap.tick()
    assert heap.refreezes == heap.sweeps == 0
    assert sys.getswitchinterval() == before

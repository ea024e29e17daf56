"""Events through real Redis Streams to workers: ordered per chat, stored once, survive a dead worker."""

from __future__ import annotations

import uuid

import pytest

from qunyun.bus.runtime import Runtime
from qunyun.bus.streams import StreamConsumer, StreamPublisher, stream_name
from qunyun.communities.models import Event
from tests.conftest import at
from tests.factories import message

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prefix(redis_url):
    name = f"qunyun-test:{uuid.uuid4().hex[:8]}"
    yield name
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def consumer(redis_url, prefix, community, name, **kw):
    runtimes = {}

    def runtime_for(slug):
        assert slug == community.slug
        return runtimes.setdefault(slug, Runtime(community, mode="import"))

    return StreamConsumer(redis_url, consumer=name, runtime_for=runtime_for, partitions=4, prefix=prefix, **kw)


def test_published_events_are_stored_once_by_the_workers(redis_url, prefix, community):
    events = [message(i, i % 5, at(i), chat=f"fake:room{i % 3}") for i in range(60)]
    worker_a = consumer(redis_url, prefix, community, "a")
    worker_b = consumer(redis_url, prefix, community, "b")
    publisher = StreamPublisher(redis_url, partitions=4, prefix=prefix)
    assert publisher.publish(community.slug, events) == 60
    publisher.publish(community.slug, events[:10])  # a platform that delivered twice
    total = 0
    for _ in range(4):
        total += worker_a.run_once(count=25, block_ms=10).stored
        total += worker_b.run_once(count=25, block_ms=10).stored
    assert total == 60
    assert Event.objects.count() == 60


def test_one_chat_stays_in_one_partition():
    assert len({stream_name("telegram:-100123", 8) for _ in range(5)}) == 1
    assert len({stream_name(f"telegram:{n}", 8) for n in range(200)}) == 8


def test_a_worker_that_dies_before_acknowledging_is_taken_over(redis_url, prefix, community):
    publisher = StreamPublisher(redis_url, partitions=4, prefix=prefix)
    publisher.publish(community.slug, [message(i, 1, at(i)) for i in range(5)])
    dying = consumer(redis_url, prefix, community, "dying")
    # It reads the entries, then dies before storing and acknowledging them.
    dying.client.xreadgroup(dying.group, "dying", {s: ">" for s in dying.streams}, count=100)
    survivor = consumer(redis_url, prefix, community, "survivor", claim_idle_ms=0)
    report = survivor.run_once(block_ms=10)
    assert report.stored == 5
    assert Event.objects.count() == 5
    assert survivor.run_once(block_ms=10).entries == 0  # acknowledged: nothing left pending


def test_an_undecodable_entry_is_reported_and_acknowledged(redis_url, prefix, community):
    worker = consumer(redis_url, prefix, community, "w")
    worker.client.xadd(f"{prefix}:0", {"c": community.slug, "e": "{not json"})
    report = worker.run_once(block_ms=10)
    assert len(report.bad) == 1 and f"{prefix}:0" in report.bad[0]
    assert worker.run_once(block_ms=10).entries == 0

"""Redis Streams between adapters and workers: the path beyond one process.

On the embedded default an adapter calls :meth:`Runtime.ingest` directly. With
``QUNYUN_REDIS_URL`` set, adapters *publish* normalized events to Redis Streams and any number
of worker processes (``qunyun worker``) consume them in a consumer group:

* events are partitioned by chat (``qunyun:events:<n>``, ``n = crc32(chat) % partitions``),
  so one group's events keep their order while different groups spread over workers;
* a worker acknowledges (``XACK``) only after the batch's transaction committed; a worker that
  dies before that leaves its entries pending, and another worker claims them after
  ``claim_idle_ms`` (``XAUTOCLAIM``). Storing is idempotent by event key, so a re-delivered
  event is stored, handled and acted upon once;
* an entry that cannot be decoded is acknowledged and reported, never retried forever.

Entries carry the community slug and the event in qunyun's JSON shape
(:mod:`qunyun.core.codec`), with the raw payload.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from qunyun.core.codec import DecodeError, event_from_dict, event_to_dict
from qunyun.core.events import Event

log = logging.getLogger(__name__)

STREAM_PREFIX = "qunyun:events"
GROUP = "qunyun-workers"
DEFAULT_PARTITIONS = 8


def stream_name(chat: str, partitions: int = DEFAULT_PARTITIONS, prefix: str = STREAM_PREFIX) -> str:
    """The stream a chat's events go to (stable across processes and restarts)."""
    return f"{prefix}:{zlib.crc32(chat.encode()) % partitions}"


def _redis(url: str):
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from qunyun.core.errors import InvalidInput

        raise InvalidInput("Redis support needs redis-py: pip install 'qunyun[redis]'") from exc
    return redis.Redis.from_url(url)


class StreamPublisher:
    """Publishes events for workers to consume."""

    def __init__(self, url: str, *, partitions: int = DEFAULT_PARTITIONS, prefix: str = STREAM_PREFIX,
                 maxlen: int | None = 1_000_000) -> None:
        self.client = _redis(url)
        self.partitions = partitions
        self.prefix = prefix
        self.maxlen = maxlen

    def publish(self, community: str, events: Iterable[Event]) -> int:
        """Append ``events`` of the community called ``community``; returns how many."""
        pipe = self.client.pipeline(transaction=False)
        count = 0
        for event in events:
            body = json.dumps(event_to_dict(event, with_raw=True), ensure_ascii=False, separators=(",", ":"))
            pipe.xadd(stream_name(event.chat, self.partitions, self.prefix), {"c": community, "e": body},
                      maxlen=self.maxlen, approximate=True)
            count += 1
        pipe.execute()
        return count


@dataclass
class ConsumeReport:
    """What one :meth:`StreamConsumer.run_once` pass did."""

    entries: int = 0
    stored: int = 0
    duplicates: int = 0
    bad: list[str] = field(default_factory=list)


class StreamConsumer:
    """A worker's consumer: reads its share of the streams and feeds the runtime.

    ``runtime_for(slug)`` returns the :class:`~qunyun.bus.runtime.Runtime` of a community
    (workers keep one per community, for its caches).
    """

    def __init__(self, url: str, *, consumer: str, runtime_for, partitions: int = DEFAULT_PARTITIONS,
                 prefix: str = STREAM_PREFIX, group: str = GROUP, claim_idle_ms: int = 60_000) -> None:
        self.client = _redis(url)
        self.consumer = consumer
        self.runtime_for = runtime_for
        self.streams = [f"{prefix}:{n}" for n in range(partitions)]
        self.group = group
        self.claim_idle_ms = claim_idle_ms
        for stream in self.streams:
            try:
                self.client.xgroup_create(stream, group, id="0", mkstream=True)
            except Exception as exc:  # BUSYGROUP: it exists already, which is the normal case
                if "BUSYGROUP" not in str(exc):
                    raise

    def _claim_stale(self, count: int) -> list[tuple[str, list]]:
        claimed = []
        for stream in self.streams:
            _next, entries, *_ = self.client.xautoclaim(stream, self.group, self.consumer,
                                                        min_idle_time=self.claim_idle_ms, start_id="0-0", count=count)
            if entries:
                claimed.append((stream, entries))
        return claimed

    def run_once(self, *, count: int = 1000, block_ms: int | None = 1000) -> ConsumeReport:
        """Claim stale entries of dead workers, read new ones, store them, acknowledge."""
        report = ConsumeReport()
        batches = self._claim_stale(count)
        if not batches:
            read = self.client.xreadgroup(self.group, self.consumer, {s: ">" for s in self.streams},
                                          count=count, block=block_ms)
            batches = [(stream.decode() if isinstance(stream, bytes) else stream, entries)
                       for stream, entries in (read or [])]
        for stream, entries in batches:
            self._handle(stream, entries, report)
        return report

    def _handle(self, stream: str, entries: list, report: ConsumeReport) -> None:
        by_community: dict[str, list[Event]] = defaultdict(list)
        ids = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed away while pending
                ids.append(entry_id)
                continue
            ids.append(entry_id)
            report.entries += 1
            try:
                community = fields[b"c"].decode()
                event = event_from_dict(json.loads(fields[b"e"]))
            except (KeyError, ValueError, DecodeError) as exc:
                where = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                report.bad.append(f"{stream} {where}: {exc}")
                log.warning("stream entry %s %s skipped: %s", stream, where, exc)
                continue
            by_community[community].append(event)
        for community, events in by_community.items():
            result = self.runtime_for(community).ingest(events)
            report.stored += result.stored
            report.duplicates += result.duplicates
        if ids:
            self.client.xack(stream, self.group, *ids)

"""Live events into the runtime: one cached :class:`~qunyun.bus.runtime.Runtime` per community.

Every connector and webhook calls :func:`ingest_events`. Before storing, joins are attributed
to a channel when the platform gives no channel of its own: a per-group channel link of the
channel's routes (活码), or the joiner's recent visit to the channel's /j/ page (Matrix).
"""

from __future__ import annotations

import dataclasses
import threading
import time

from django.db import close_old_connections

from qunyun.bus.runtime import IngestResult, Runtime
from qunyun.communities.models import Community
from qunyun.core import events as ev

#: A cached runtime is rebuilt after this many seconds so community edits (rules, settings) apply.
RUNTIME_TTL = 30.0

_runtimes: dict[int, tuple[float, Runtime]] = {}
_lock = threading.Lock()


def _wake() -> None:
    from qunyun.server import outbox_doorbell

    bell = outbox_doorbell()
    if bell is not None:
        bell()


def runtime_for(community_id: int) -> Runtime:
    """The live runtime of a community (cached; rebuilt every :data:`RUNTIME_TTL` seconds)."""
    now = time.monotonic()
    with _lock:
        hit = _runtimes.get(community_id)
        if hit is not None and now - hit[0] < RUNTIME_TTL:
            return hit[1]
        runtime = Runtime(Community.objects.get(pk=community_id), mode="live", wake=_wake)
        _runtimes[community_id] = (now, runtime)
        return runtime


def runtimes_forget() -> None:
    with _lock:
        _runtimes.clear()


def attribute_join(community_id: int, event: ev.MemberJoined) -> ev.MemberJoined:
    """The join with its channel filled in from routes or /j/ visits, when the platform gave none."""
    from qunyun.onboarding.services import invite_link_channel, join_intent_claim

    if event.channel or event.member.is_bot:
        return event
    code = None
    if event.invite_link:
        code = invite_link_channel(community_id=community_id, invite_link=event.invite_link)
    if code is None:
        code = join_intent_claim(community_id=community_id, account_id=event.member.id)
    return dataclasses.replace(event, channel=code) if code else event


def ingest_events(community_id: int, events: list[ev.Event], *, group_names: dict[str, str] | None = None,
                  connection_id: int | None = None) -> IngestResult:
    """Store and handle live events of one community (from any thread)."""
    if not events:
        return IngestResult()
    close_old_connections()
    runtime = runtime_for(community_id)
    if group_names:
        runtime.store.group_names.update(group_names)
    events = [attribute_join(community_id, e) if isinstance(e, ev.MemberJoined) else e for e in events]
    result = runtime.ingest(events)
    if connection_id is not None:
        from .services import connection_touch

        connection_touch(connection_id=connection_id)
    return result

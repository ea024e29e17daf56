"""The guard: a fixed quick rule on live messages — delete what the detectors block and mute
its author for a set time. Off by default.

The moderation app's handler (:func:`qunyun.moderation.handlers.moderate_message`) is the full
enforcement (policy, penalty ladder with warnings first, cases, appeals). The guard is for an
operator who wants one simple rule now, with a mute length of their choosing (``qunyun
onboarding guard --on --mute-seconds 600``): the verdict still comes from
:func:`qunyun.moderation.detection.verdict.moderate` (:func:`verdict_for` is the one line to
change for another detector); when the moderation handler runs for the community, the guard
takes the verdict it reached on the same message (the community's policy) instead of judging
the message a second time. Settings live in the community's ``settings["guard"]``:
``enabled`` (default off) and ``mute_seconds`` (default 600).
"""

from __future__ import annotations

import functools

from collections.abc import Iterator
from datetime import timedelta

from qunyun.core import events as ev
from qunyun.core.decisions import Decision, DeleteMessage, Mute, NotifyOperator
from qunyun.moderation.detection.verdict import Message, moderate
from qunyun.moderation.policy import Action

DEFAULT_MUTE_SECONDS = 600


def verdict_for(event: ev.MessagePosted):
    """The moderation verdict for a message (the one line to change for another detector)."""
    return moderate(Message.from_event(event))


def guard_settings(community_settings: dict) -> dict:
    settings = dict(community_settings.get("guard") or {})
    settings.setdefault("enabled", False)
    settings.setdefault("mute_seconds", DEFAULT_MUTE_SECONDS)
    return settings


@functools.lru_cache(maxsize=8)
def _moderation_handles(handlers: tuple) -> bool:
    """Whether moderation's message handler is in a handler table's tuple (asked per message; the
    table is fixed once loaded, so the answer is kept per tuple)."""
    return any(f"{h.__module__}.{h.__qualname__}" == "qunyun.moderation.handlers.moderate_message" for h in handlers)


def _moderation_runs(event: ev.MessagePosted, ctx) -> bool:
    """Whether the moderation app's handler runs for this community (then it has judged the
    message before the guard, and deletes what its verdict blocks: not deleted twice)."""
    from qunyun.bus.handlers import EVENT_HANDLERS

    if not _moderation_handles(EVENT_HANDLERS.get(ev.MessagePosted, ())):
        return False
    try:
        from qunyun.moderation import live

        return bool(live.config_for(ctx.community.id, theme_text=ctx.community.theme).enabled)
    except Exception:  # its settings unreadable: judge and delete here (better twice than not at all)
        return False


def guard_message(event: ev.Event, ctx) -> Iterator[Decision]:
    """Delete a blocked message; mute its author when the policy says to penalize."""
    if not isinstance(event, ev.MessagePosted) or event.author.is_bot or not event.text:
        return
    if ctx.member is not None and ctx.member.is_bot:
        return
    settings = guard_settings(ctx.community.settings)
    if not settings["enabled"]:
        return
    verdict = None
    if _moderation_runs(event, ctx):
        from qunyun.moderation import live

        # The moderation handler already judged this message with the community's policy: one
        # verdict per message. Not a shadow verdict: the guard itself is never in shadow mode.
        verdict = live.shared_verdict(ctx.community.id, event.key)
        if verdict is not None and verdict.shadow:
            verdict = None
    # With the handler's own verdict, the handler deletes the message itself (see
    # moderation.enforce.message_decisions); otherwise the guard does.
    moderation_deletes = verdict is not None and bool(verdict.categories)
    if verdict is None:
        verdict = verdict_for(event)
    if verdict.action.rank < Action.DELETE.rank or verdict.shadow:
        return
    why = "guard: " + ",".join(verdict.categories)
    if not moderation_deletes:
        yield DeleteMessage(chat=event.chat, message_id=event.message_id, reason=why[:200])
    if verdict.action is Action.DELETE_PENALIZE and settings["mute_seconds"]:
        yield Mute(chat=event.chat, member=event.author.id,
                   until=ctx.now + timedelta(seconds=int(settings["mute_seconds"])), reason=why[:200])
    who = ctx.member.display_name if ctx.member else event.author.id
    yield NotifyOperator(chat=event.chat, severity="warning",
                         text=f"removed a message by {who} ({', '.join(verdict.categories)})", reason=why[:200])

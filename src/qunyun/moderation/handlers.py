"""Live moderation handlers (registered in :mod:`qunyun.bus.handlers`).

* :func:`moderate_message` — judge each new message with the community's policy and return
  the decisions (delete, ladder step, case; only the case in shadow mode). A message that is
  an appeal command (``/appeal 12 why`` or ``申诉 12 理由``) is not judged but recorded as an
  appeal (:class:`~qunyun.moderation.decisions.RecordAppeal`).
* :func:`moderate_edit` — judge the new text of an edited message the same way.
* :func:`moderate_join` — feed joins to the behaviour window; a wave of joins (raid) opens a
  case (review by default) or removes the newcomers when the policy says to act.

Handlers write nothing: they read the cached policy (:mod:`.live`) and, only when a penalty
is due, the member's earlier penalties (one query). Decisions go through the outbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

from qunyun.core import events as ev
from qunyun.core.decisions import Decision, NotifyOperator
from qunyun.guard import guard_settings

from . import enforce, live
from .decisions import RecordAppeal
from .detection.verdict import ALLOW, BLOCK, REVIEW, Message, Verdict, moderate
from .ladder import PriorPenalty
from .policy import Action

APPEAL_RE = re.compile(r"^\s*(?:/appeal(?:@\w+)?|申诉|申訴)\s*[#＃]?\s*(\d{1,9})\s*[:：,，]?\s*(.*)$", re.S | re.I)
"""``/appeal 12 text`` (Telegram style, ``/appeal@bot`` too) or ``申诉 12 理由``."""

SKIPPED_KINDS = frozenset({ev.MessageKind.SYSTEM})

WAITING_HORIZON = timedelta(hours=1)
"""Penalties still waiting in the outbox are looked for among the member's messages of this span
(the worker executes them within seconds; the process also remembers its own for a day)."""


def parse_appeal(text: str) -> tuple[str, str] | None:
    """``(case number, reason)`` when ``text`` is an appeal command."""
    m = APPEAL_RE.match(text or "")
    if not m:
        return None
    return m.group(1), m.group(2).strip()


def moderate_message(event: ev.Event, ctx) -> Iterator[Decision]:
    """Judge a new message and enforce the community's policy."""
    if not isinstance(event, ev.MessagePosted) or event.author.is_bot or event.kind in SKIPPED_KINDS:
        return
    if ctx.member is None or ctx.member.is_bot:
        return
    appeal = parse_appeal(event.text)
    if appeal is not None:
        number, why = appeal
        yield RecordAppeal(chat=event.chat, member=event.author.id, case_number=number, text=why[:4000],
                           message_id=event.message_id, reason="moderation:appeal")
        return
    config = live.config_for(ctx.community.id, theme_text=ctx.community.theme)
    if not config.enabled or (event.chat, ctx.member.id) in config.exempt:
        return
    window = live.window_for(ctx.community.id, before=event.at)
    context = config.context_for(event.chat, window)
    verdict = moderate(Message(text=event.text or "", member=live.member_key(ctx.member.id), group=event.chat,
                               at=event.at, mentions=len(event.mentions)), context)
    if guard_settings(ctx.community.settings)["enabled"]:
        live.share_verdict(ctx.community.id, event.key, verdict)  # the guard judges this message too
    if verdict.findings and not verdict.shadow:  # most messages have no finding at all
        yield from _group_flood_notice(event, ctx, verdict, window)
    if verdict.action is Action.ALLOW:
        return
    yield from _enforce_message(event, ctx, verdict, config)


def _group_flood_notice(event: ev.MessagePosted, ctx, verdict: Verdict, window) -> Iterator[Decision]:
    """Tell the operators once per wave when a whole group is flooding.

    The group-flood finding is about the group, not about the member whose message crossed the
    line, so it opens no case (its score stays below review) — one notice per wave instead.
    """
    found = next((f for f in verdict.findings if f.detector == "behaviour.flood_group"), None)
    if found is None or verdict.shadow:
        return
    state = live.state_of(ctx.community.id)
    until = state.flood_until.get(event.chat)
    state.flood_until[event.chat] = event.at + timedelta(seconds=window.config.flood_group_seconds)
    if until is None or until < event.at:
        yield NotifyOperator(chat=event.chat, severity="warning", reason="moderation:flood_group",
                             text=f"{ctx.group.name} is very busy: {found.reason}")


def moderate_edit(event: ev.Event, ctx) -> Iterator[Decision]:
    """Judge an edited message's new text (an ad added after posting is still an ad).

    The edit is judged by the text detectors only: it is not a new message for the flood and
    duplicate windows.
    """
    if not isinstance(event, ev.MessageEdited) or event.author.is_bot or not event.text:
        return
    if ctx.member is None or ctx.member.is_bot:
        return
    config = live.config_for(ctx.community.id, theme_text=ctx.community.theme)
    if not config.enabled or (event.chat, ctx.member.id) in config.exempt:
        return
    context = config.context_for(event.chat, live.window_for(ctx.community.id, before=event.at))
    verdict = moderate(Message(text=event.text, member=live.member_key(ctx.member.id), group=event.chat, at=None),
                       context)
    if verdict.action is Action.ALLOW:
        return
    yield from _enforce_message(event, ctx, verdict, config)


def _enforce_message(event: ev.MessagePosted | ev.MessageEdited, ctx, verdict: Verdict,
                     config: live.Config) -> Iterator[Decision]:
    shadow = bool(verdict.shadow)
    prior: list[PriorPenalty] = []
    if verdict.action is Action.DELETE_PENALIZE:
        prior = _prior(ctx.community.id, ctx.member.id, shadow=shadow, current=event.key,
                       since=event.at - WAITING_HORIZON)
    outcome = enforce.outcome_for(verdict, ladder=config.ladder, prior=prior, now=ctx.now)
    if outcome is None:
        return
    if outcome.penalty is not None:
        live.remember_penalty(ctx.community.id, ctx.member.id, event.key,
                              PriorPenalty(step=outcome.penalty.step, at=ctx.now, category=outcome.rule),
                              shadow=shadow)
    yield from enforce.message_decisions(
        chat=event.chat, account=event.author.id, message_id=event.message_id, verdict=verdict, outcome=outcome,
        details_extra={"member_pk": ctx.member.id, "group_pk": ctx.group.id, "event_key": event.key,
                       "source": "live"})


def _prior(community_id: int, member_id: int, *, shadow: bool, current: str, since) -> list[PriorPenalty]:
    """Earlier penalties: recorded ones, waiting ones, and ones decided here moments ago.

    ``current`` is the event being judged: a penalty remembered for it (its batch was rolled
    back and is being retried) is not its own prior.
    """
    from .selectors import prior_penalties

    counted, recorded = prior_penalties(community_id=community_id, member_id=member_id, shadow=shadow,
                                        since=since)
    seen: dict[str, PriorPenalty] = {}
    for key, prior in counted:
        seen[key or f"row:{len(seen)}"] = prior
    for key, prior in live.pending_penalties(community_id, member_id, shadow=shadow, recorded=recorded):
        if key != current:
            seen.setdefault(key, prior)
    seen.pop(current, None)
    return list(seen.values())


def moderate_join(event: ev.Event, ctx) -> Iterator[Decision]:
    """Watch joins for raids (many joins in a short time) and remember newcomers."""
    if not isinstance(event, ev.MemberJoined) or ctx.member is None or event.member.is_bot:
        return
    config = live.config_for(ctx.community.id, theme_text=ctx.community.theme)
    if not config.enabled:
        return
    window = live.window_for(ctx.community.id, before=event.at)
    findings = window.observe_join(group=event.chat, member=live.member_key(ctx.member.id), at=event.at)
    if not findings:
        return
    policy = config.policy_for(event.chat)
    verdict = join_verdict(findings, policy)
    outcome = enforce.outcome_for(verdict, ladder=config.ladder, prior=(), now=ctx.now)
    if outcome is None:
        return
    state = live.state_of(ctx.community.id)
    wave_active = state.raid_until.get(event.chat)
    state.raid_until[event.chat] = event.at + _raid_span(window)
    acting = not outcome.shadow and outcome.action.rank >= Action.DELETE.rank
    if wave_active is not None and wave_active >= event.at and not acting:
        return  # one review case per wave is enough; removal applies to every newcomer of it
    yield from enforce.join_decisions(
        chat=event.chat, account=event.member.id, verdict=verdict, outcome=outcome,
        details_extra={"member_pk": ctx.member.id, "group_pk": ctx.group.id, "event_key": event.key,
                       "source": "live"})
    if wave_active is None or wave_active < event.at:
        yield NotifyOperator(chat=event.chat, severity="warning", reason="moderation:raid",
                             text=f"a wave of joins in {ctx.group.name}: {findings[0].reason}")


def join_verdict(findings, policy) -> Verdict:
    """The verdict on a join from behaviour findings alone (the strongest per category)."""
    scores: dict[str, float] = {}
    for f in findings:
        scores[f.category] = max(scores.get(f.category, 0.0), f.score)
    action, why = policy.action_for(scores)
    flagged = tuple(c for c in sorted(scores, key=lambda c: -scores[c])
                    if policy.rule_for(c).decide(scores[c]) is not Action.ALLOW)
    word = BLOCK if action.rank >= Action.DELETE.rank else REVIEW if action is Action.REVIEW else ALLOW
    return Verdict(word, flagged, max(scores.values(), default=0.0), action, tuple(findings), policy.shadow)


def _raid_span(window):
    return timedelta(seconds=window.config.raid_seconds)

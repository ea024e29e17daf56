"""The policy run over imported history in shadow mode: who would have been moderated, and why.

Messages are read from the event log in id order (streamed, never all in memory) and judged as
the live path would judge them — the community's policy (group overrides included), a
behaviour window fed in the same order, the penalty ladder over the would-be penalties — but
nothing is sent and no real penalty exists. By default only a report is made; with
``record=True`` every would-be case is also stored as a *shadow* case (source ``history``) so
moderators can confirm or overturn them in the console and so grow the training examples.
Recording is idempotent: a message already recorded is skipped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import transaction

from qunyun.communities.models import Event

from . import enforce
from .detection.behaviour import Window
from .detection.verdict import Context, Message, moderate
from .ladder import ORDER, PriorPenalty, Step
from .live import load_config, member_key
from .models import Case
from .policy import Action


@dataclass
class Offender:
    """One member's would-be record over the history."""

    member_id: int
    name: str
    cases: int = 0
    worst: Step | None = None
    categories: Counter = field(default_factory=Counter)
    example: str = ""
    example_score: float = -1.0
    first_at: datetime | None = None
    last_at: datetime | None = None


@dataclass
class HistoryReport:
    messages: int = 0
    cases: int = 0
    recorded: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    by_action: Counter = field(default_factory=Counter)
    offenders: list[Offender] = field(default_factory=list)


def history_scan(*, community, limit: int = 20, record: bool = False, chunk_size: int = 2000) -> HistoryReport:
    """Run the community's policy over its stored messages in shadow mode; the worst offenders first."""
    config = load_config(community.pk, theme_text=community.theme)
    window = Window()
    contexts: dict[str, Context] = {}
    prior: dict[int, list[PriorPenalty]] = defaultdict(list)
    offenders: dict[int, Offender] = {}
    report = HistoryReport()
    already = set(Case.objects.filter(community=community, source=Case.Source.HISTORY).values_list(
        "event_id", flat=True)) if record else set()
    rows = (Event.objects.filter(community=community, type="message").exclude(member__is_bot=True)
            .exclude(kind="system").order_by("id")
            .values_list("id", "key", "at", "group__chat_id", "group_id", "member_id", "member__display_name",
                         "message_id", "text", "mentions"))
    pending: list[Case] = []
    for event_id, key, at, chat, group_id, member_id, name, message_id, text, mentions in rows.iterator(
            chunk_size=chunk_size):
        report.messages += 1
        report.first_at = report.first_at or at
        report.last_at = at
        if not text or member_id is None or (chat, member_id) in config.exempt:
            continue
        ctx = contexts.get(chat)
        if ctx is None:
            policy = replace(config.policy_for(chat), shadow=True)
            ctx = contexts[chat] = Context(policy=policy, lexicon=config.lexicon, links=config.links, window=window,
                                           theme=config.theme, model=config.model)
        verdict = moderate(Message(text=text, member=member_key(member_id), group=chat, at=at,
                                   mentions=len(mentions or ())), ctx)
        if verdict.action is Action.ALLOW:
            continue
        outcome = enforce.outcome_for(verdict, ladder=config.ladder, prior=prior[member_id], now=at)
        if outcome is None:
            continue
        report.cases += 1
        label = enforce.action_label(outcome)
        report.by_action[label] += 1
        off = offenders.get(member_id)
        if off is None:
            off = offenders[member_id] = Offender(member_id=member_id, name=name or f"#{member_id}", first_at=at)
        off.cases += 1
        off.last_at = at
        off.categories.update(verdict.categories)
        if outcome.penalty is not None:
            step = outcome.penalty.step
            prior[member_id].append(PriorPenalty(step=step, at=at, category=outcome.rule))
            if off.worst is None or ORDER.index(step) > ORDER.index(off.worst):
                off.worst = step
        if verdict.score > off.example_score:
            spans = [e.text for e in verdict.evidence if e.text.strip()]
            off.example, off.example_score = (" … ".join(spans[:3]) if spans else text)[:120], verdict.score
        if record and event_id not in already:
            details = enforce.case_details(verdict, outcome, member_pk=member_id, group_pk=group_id, event_key=key,
                                           source=Case.Source.HISTORY)
            pending.append(Case(
                community=community, group_id=group_id, member_id=member_id, chat=chat, event_id=event_id,
                event_key=key, message_id=message_id, text=text, action=label, at=at, needs_review=False,
                shadow=True, source=Case.Source.HISTORY, categories=details["categories"], score=details["score"],
                evidence=details["evidence"], findings=details["findings"], rule=str(details["rule"] or "")[:100],
                step=details["step"] or "", outbox_key=f"history:{event_id}"))
            if len(pending) >= 500:
                report.recorded += _store(community, pending)
                pending = []
    if pending:
        report.recorded += _store(community, pending)
    ranked = sorted(offenders.values(), key=lambda o: (
        -o.cases, -(ORDER.index(o.worst) if o.worst is not None else -1), o.member_id))
    report.offenders = ranked[:limit]
    return report


def _store(community, cases: list[Case]) -> int:
    """Number and store shadow cases (one transaction; numbers continue the community's)."""
    from .models import CaseCounter

    with transaction.atomic():
        CaseCounter.objects.get_or_create(community=community)
        counter = CaseCounter.objects.select_for_update().get(community=community)
        for case in cases:
            counter.last += 1
            case.number = counter.last
            case.account_id = ""
        counter.save(update_fields=["last"])
        Case.objects.bulk_create(cases, batch_size=500)
    return len(cases)

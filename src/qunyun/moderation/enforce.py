"""From a verdict to what the community does: the one place that enforces (pure, no Django).

Detectors decide (:func:`qunyun.moderation.detection.verdict.moderate`), the policy picks the
action, and this module turns the action into decisions:

* ``review`` — a case for the review queue; nothing happens in the group;
* ``delete`` — the message is deleted, a case records it;
* ``delete_penalize`` — deleted, and the member takes the next step of the ladder
  (:class:`qunyun.moderation.ladder.Ladder`): a warning, a timed mute (its end is scheduled by
  the runtime) or a permanent ban;
* in shadow mode only the case is written, marked ``shadow``, with what would have been done.

The case itself is an :class:`~qunyun.core.decisions.OpenCase` decision, carried out by
qunyun after commit (:mod:`qunyun.moderation.executors`), which numbers it, stores the penalty
and tells the member (with the case number and how to appeal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from qunyun.core.decisions import Ban, Decision, DeleteMessage, Kick, Mute, OpenCase

from . import taxonomy
from .ladder import Ladder, NextPenalty, PriorPenalty, Step
from .policy import Action

CASE_FORMAT = 1
"""Version of the ``details`` shape of an OpenCase decision."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the policy does about one verdict."""

    action: Action
    rule: str | None  # the category whose rule decided
    penalty: NextPenalty | None
    shadow: bool

    @property
    def needs_review(self) -> bool:
        return self.action is Action.REVIEW


def ladder_category(categories: Iterable[str], finding_categories: Iterable[str] = ()) -> str | None:
    """The category the ladder should see: an aggravated one if any was found, else the lead."""
    cats = list(categories)
    for cat in [*cats, *finding_categories]:
        known = taxonomy.CATEGORIES.get(cat)
        if known is not None and known.aggravated:
            return cat
    return cats[0] if cats else None


def outcome_for(verdict: Any, *, ladder: Ladder, prior: Iterable[PriorPenalty], now: datetime) -> Outcome | None:
    """The outcome of a verdict, or ``None`` when it is allowed."""
    action = verdict.action
    if action is Action.ALLOW or not verdict.categories:
        return None
    penalty = None
    if action is Action.DELETE_PENALIZE:
        strong = [f.category for f in verdict.findings if f.score >= 0.5]
        penalty = ladder.next(prior, category=ladder_category(verdict.categories, strong), now=now)
    return Outcome(action=action, rule=verdict.categories[0], penalty=penalty, shadow=bool(verdict.shadow))


def action_label(outcome: Outcome) -> str:
    """A short stable label of what was done: ``review``, ``delete``, ``delete+mute_7d`` …"""
    if outcome.penalty is not None:
        return f"delete+{outcome.penalty.step.value}"
    return outcome.action.value


def case_details(verdict: Any, outcome: Outcome, **extra: Any) -> dict[str, Any]:
    """The JSON carried by the OpenCase decision (never the message text: the log has it)."""
    penalty = outcome.penalty
    return {
        "format": CASE_FORMAT,
        "policy_action": outcome.action.value,
        "rule": outcome.rule,
        "categories": list(verdict.categories),
        "score": round(float(verdict.score), 4),
        "evidence": [e.to_dict() for e in verdict.evidence],
        "findings": [f.to_dict() for f in verdict.findings],
        "step": penalty.step.value if penalty else None,
        "until": penalty.until.isoformat() if penalty and penalty.until else None,
        "ladder_reason": penalty.reason if penalty else "",
        "shadow": outcome.shadow,
        "needs_review": outcome.needs_review,
        **extra,
    }


def penalty_decisions(*, chat: str, account: str, penalty: NextPenalty, reason: str) -> list[Decision]:
    """The platform decisions of a ladder step (a warning has none: the notice says it)."""
    if penalty.is_mute:
        return [Mute(chat=chat, member=account, until=penalty.until, reason=reason)]
    if penalty.step is Step.BAN:
        return [Ban(chat=chat, member=account, until=None, reason=reason)]
    return []


def message_decisions(*, chat: str, account: str, message_id: str, verdict: Any, outcome: Outcome,
                      details_extra: dict[str, Any]) -> list[Decision]:
    """Everything to do about one judged message, the case last."""
    reason = f"moderation:{outcome.rule}"[:200]
    out: list[Decision] = []
    if not outcome.shadow and outcome.action.rank >= Action.DELETE.rank:
        out.append(DeleteMessage(chat=chat, message_id=message_id, reason=reason))
        if outcome.penalty is not None:
            out += penalty_decisions(chat=chat, account=account, penalty=outcome.penalty, reason=reason)
    out.append(OpenCase(chat=chat, member=account, message_id=message_id, action=action_label(outcome),
                        details=case_details(verdict, outcome, **details_extra), reason=reason))
    return out


def join_decisions(*, chat: str, account: str, verdict: Any, outcome: Outcome,
                   details_extra: dict[str, Any]) -> list[Decision]:
    """What to do about a join judged part of a raid: a case, and removal when the rule says act."""
    reason = f"moderation:{outcome.rule}"[:200]
    out: list[Decision] = []
    acted = not outcome.shadow and outcome.action.rank >= Action.DELETE.rank
    if acted:
        out.append(Kick(chat=chat, member=account, reason=reason))
    label = "kick" if outcome.action.rank >= Action.DELETE.rank else outcome.action.value
    flat = Outcome(action=outcome.action, rule=outcome.rule, penalty=None, shadow=outcome.shadow)
    out.append(OpenCase(chat=chat, member=account, message_id=None, action=label,
                        details=case_details(verdict, flat, **details_extra), reason=reason))
    return out

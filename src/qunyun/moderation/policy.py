"""Moderation policy as plain data: what to do for each category, at which score.

A community has one :class:`Policy`; a group may override parts of it with a
:class:`PolicyOverride` (only the fields it sets). :func:`Policy.merged` gives the effective
policy of a group. Everything round-trips through JSON (``to_dict`` / ``from_dict``) so the
Django side can keep it in a JSONField.

The detectors produce a :class:`~qunyun.moderation.detection.verdict.Verdict`; the policy turns
it into an :class:`Action` with :meth:`Policy.action_for`. Detectors decide, one place enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Iterable, Mapping

from . import taxonomy


class Action(StrEnum):
    """What the community does about a finding. Ordered from mildest to harshest."""

    ALLOW = "allow"
    REVIEW = "review"  # put it in the moderators' queue, leave the message up
    DELETE = "delete"
    DELETE_PENALIZE = "delete_penalize"  # delete and take the next step of the penalty ladder

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Action.ALLOW: 0, Action.REVIEW: 1, Action.DELETE: 2, Action.DELETE_PENALIZE: 3}

POLICY_VERSION = 1
"""Version of the JSON shape written by :meth:`Policy.to_dict`."""


@dataclass(frozen=True, slots=True)
class Rule:
    """The policy for one category.

    ``review_at`` / ``act_at`` are score thresholds (0..1): a finding scoring at least
    ``act_at`` gets ``action``; one scoring at least ``review_at`` (but below ``act_at``) goes to
    review; below that it is allowed. A disabled rule allows everything.
    """

    action: Action = Action.REVIEW
    enabled: bool = True
    review_at: float = 0.6
    act_at: float = 0.85

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "enabled": self.enabled,
            "review_at": self.review_at,
            "act_at": self.act_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Rule":
        rule = cls(
            action=Action(data.get("action", Action.REVIEW)),
            enabled=bool(data.get("enabled", True)),
            review_at=float(data.get("review_at", 0.6)),
            act_at=float(data.get("act_at", 0.85)),
        )
        rule.check()
        return rule

    def check(self) -> None:
        """Raise ``ValueError`` when the thresholds make no sense."""
        if not (0.0 <= self.review_at <= self.act_at <= 1.0):
            raise ValueError(f"thresholds must satisfy 0 <= review_at <= act_at <= 1, got {self}")

    def decide(self, score: float) -> Action:
        """The action for a finding of this category with ``score``."""
        if not self.enabled or score < self.review_at:
            return Action.ALLOW
        if score >= self.act_at:
            return self.action
        return Action.REVIEW if self.action is not Action.ALLOW else Action.ALLOW


@dataclass(frozen=True, slots=True)
class Policy:
    """A community's moderation policy.

    ``rules`` maps category ids (or a family id such as ``"spam"``, which covers its
    sub-categories) to a :class:`Rule`; a category with no rule, directly or through its
    family, uses ``default``. In ``shadow`` mode the policy's actions are recorded, never taken.
    """

    rules: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule = field(default_factory=Rule)
    shadow: bool = False

    def rule_for(self, category_id: str) -> Rule:
        """The rule that applies to a category (exact id, then its family, then the default)."""
        if category_id in self.rules:
            return self.rules[category_id]
        fam = taxonomy.family(category_id)
        if fam in self.rules:
            return self.rules[fam]
        return self.default

    def action_for(self, scores: Mapping[str, float]) -> tuple[Action, str | None]:
        """The harshest action over ``{category: score}``, with the category that caused it."""
        best, why = Action.ALLOW, None
        for cat, score in scores.items():
            action = self.rule_for(cat).decide(score)
            if action.rank > best.rank:
                best, why = action, cat
        return best, why

    def merged(self, override: "PolicyOverride | None") -> "Policy":
        """This policy with a group's override laid over it."""
        if override is None:
            return self
        rules = dict(self.rules)
        for cat, partial in override.rules.items():
            base = self.rule_for(cat)
            rules[cat] = Rule.from_dict({**base.to_dict(), **partial})
        return replace(
            self,
            rules=rules,
            shadow=self.shadow if override.shadow is None else override.shadow,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable key order)."""
        return {
            "version": POLICY_VERSION,
            "shadow": self.shadow,
            "default": self.default.to_dict(),
            "rules": {k: self.rules[k].to_dict() for k in sorted(self.rules)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Policy":
        """Read :meth:`to_dict` output; unknown category ids raise ``ValueError``."""
        version = data.get("version", POLICY_VERSION)
        if version != POLICY_VERSION:
            raise ValueError(f"policy format version {version} is not supported (expected {POLICY_VERSION})")
        rules = {}
        for cat, raw in (data.get("rules") or {}).items():
            _check_category(cat)
            rules[cat] = Rule.from_dict(raw)
        return cls(
            rules=rules,
            default=Rule.from_dict(data.get("default") or {}),
            shadow=bool(data.get("shadow", False)),
        )


@dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A group's changes to its community's policy: partial rules and an optional shadow switch."""

    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    shadow: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"shadow": self.shadow, "rules": {k: dict(v) for k, v in sorted(self.rules.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PolicyOverride":
        rules = {}
        for cat, raw in (data.get("rules") or {}).items():
            _check_category(cat)
            rules[cat] = dict(raw)
        shadow = data.get("shadow")
        return cls(rules=rules, shadow=None if shadow is None else bool(shadow))


def _check_category(cat: str) -> None:
    if cat not in taxonomy.CATEGORIES:
        raise ValueError(f"unknown moderation category {cat!r} in policy")


def default_policy(*, shadow: bool = False, extra: Iterable[tuple[str, Rule]] = ()) -> Policy:
    """The policy a new community starts with (see docs/moderation.md).

    Ads and spam are deleted and start the penalty ladder; flooding is deleted without a
    penalty; off-topic and water are signals a machine should not act on, so they are off;
    everything else goes to review for a person to judge.
    """
    rules: dict[str, Rule] = {
        "spam": Rule(Action.DELETE_PENALIZE, review_at=0.6, act_at=0.85),
        "flood": Rule(Action.DELETE, review_at=0.7, act_at=0.9),
        "illegal": Rule(Action.REVIEW, review_at=0.6, act_at=0.6),
        "off_topic": Rule(Action.REVIEW, enabled=False),
        "water": Rule(Action.REVIEW, enabled=False),
    }
    rules.update(extra)
    return Policy(rules=rules, default=Rule(Action.REVIEW, review_at=0.6, act_at=0.85), shadow=shadow)

"""The policy page's form: rows per category in, a :class:`Policy` (or group override) out.

Parsing collects every problem (with the field it belongs to) instead of stopping at the
first, so the operator sees all of them at once; nothing is saved while any remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping

from django.utils.translation import gettext as _

from . import taxonomy
from .ladder import Ladder
from .policy import Action, Policy, PolicyOverride, Rule

INHERIT = "inherit"


@dataclass
class CategoryRow:
    """One category on the policy page, with its effective rule and whether it is set here."""

    id: str
    label: str
    depth: int
    rule: Any  # a Rule, or a PostedRule when the form is shown again
    explicit: bool
    override: Mapping[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class PostedRule:
    """A rule as the operator typed it (shown again when the form had errors)."""

    action: str
    enabled: bool
    review_at: str
    act_at: str


def _posted_rule(data: Mapping[str, Any], prefix: str) -> PostedRule:
    return PostedRule(str(data.get(f"{prefix}action", "")), bool(data.get(f"{prefix}enabled")),
                      str(data.get(f"{prefix}review_at", "")), str(data.get(f"{prefix}act_at", "")))


def category_rows(policy: Policy, *, language: str = "en", override: PolicyOverride | None = None,
                  posted: Mapping[str, Any] | None = None) -> list[CategoryRow]:
    """One row per category (and the default), from the policy or from a posted form."""
    default = _posted_rule(posted, "default-") if posted is not None else policy.default
    rows = [CategoryRow("default", _("Everything else (default)"), 0, default, True)]
    for cat in taxonomy.CATEGORIES.values():
        label = cat.zh if language.startswith("zh") else cat.en
        if posted is not None:
            rule: Any = _posted_rule(posted, f"{cat.id}-")
            explicit = rule.action != INHERIT
        else:
            rule, explicit = policy.rule_for(cat.id), cat.id in policy.rules
        rows.append(CategoryRow(cat.id, label, 1 if cat.parent else 0, rule, explicit,
                                dict(override.rules.get(cat.id, {})) if override is not None else {}))
    return rows


def attach_errors(rows: list[CategoryRow], errors: Mapping[str, str]) -> list[CategoryRow]:
    """Put each field error on its category's row."""
    for row in rows:
        row.errors = [msg for key, msg in errors.items() if key.startswith(row.id + "-")]
    return rows


def _float(data: Mapping[str, Any], name: str, errors: dict[str, str], *, blank_ok: bool = False) -> float | None:
    raw = str(data.get(name, "")).strip().replace(",", ".")
    if raw == "" and blank_ok:
        return None
    try:
        value = float(raw)
    except ValueError:
        errors[name] = _("a number between 0 and 1 is needed")
        return None
    if not 0.0 <= value <= 1.0:
        errors[name] = _("a number between 0 and 1 is needed")
        return None
    return value


def _rule_from(data: Mapping[str, Any], prefix: str, errors: dict[str, str]) -> Rule | None:
    action = str(data.get(f"{prefix}action", ""))
    if action not in {a.value for a in Action}:
        errors[f"{prefix}action"] = _("choose an action")
        return None
    review_at = _float(data, f"{prefix}review_at", errors)
    act_at = _float(data, f"{prefix}act_at", errors)
    if review_at is None or act_at is None:
        return None
    if review_at > act_at:
        errors[f"{prefix}act_at"] = _("the action threshold must not be below the review threshold")
        return None
    return Rule(Action(action), enabled=bool(data.get(f"{prefix}enabled")), review_at=review_at, act_at=act_at)


def policy_from_post(data: Mapping[str, Any]) -> tuple[Policy | None, dict[str, str]]:
    """The policy described by the policy page's POST data, or the errors by field name."""
    errors: dict[str, str] = {}
    default = _rule_from(data, "default-", errors)
    rules: dict[str, Rule] = {}
    for cat in taxonomy.CATEGORIES.values():  # families come before their sub-categories
        prefix = f"{cat.id}-"
        if data.get(f"{prefix}action") == INHERIT:
            inherited = rules.get(cat.parent or "", default) if default is not None else None
            if inherited is None:
                continue
            # "as its family" with the switch or a threshold changed: keep the inherited action
            # but make the rule this category's own, so the change is not silently dropped.
            mixed = {name: data.get(f"{prefix}{name}") for name in ("enabled", "review_at", "act_at")}
            mixed = {f"{prefix}{k}": v for k, v in mixed.items() if v is not None}
            mixed[f"{prefix}action"] = inherited.action.value
            own = _rule_from(mixed, prefix, errors)
            if own is not None and own != inherited:
                rules[cat.id] = own
            continue
        rule = _rule_from(data, prefix, errors)
        if rule is not None:
            rules[cat.id] = rule
    if errors or default is None:
        return None, errors
    return Policy(rules=rules, default=default, shadow=bool(data.get("shadow"))), errors


def ladder_from_post(data: Mapping[str, Any], errors: dict[str, str]) -> Ladder | None:
    values = {}
    for name, low, high in (("warning_ttl_days", 0.0, 3650.0), ("record_ttl_days", 0.0, 3650.0),
                            ("aggravated_jump", 0.0, 4.0)):
        raw = str(data.get(name, "")).strip()
        try:
            value = float(raw)
        except ValueError:
            errors[name] = _("a number is needed")
            continue
        if not low <= value <= high:
            errors[name] = _("between %(low)s and %(high)s") % {"low": f"{low:g}", "high": f"{high:g}"}
            continue
        values[name] = value
    if len(values) < 3:
        return None
    return Ladder(warning_ttl=timedelta(days=values["warning_ttl_days"]),
                  record_ttl=timedelta(days=values["record_ttl_days"]),
                  aggravated_jump=int(values["aggravated_jump"]))


def lines(text: str) -> list[str]:
    return [line.strip() for line in str(text or "").replace(",", "\n").splitlines() if line.strip()]


def override_from_post(data: Mapping[str, Any]) -> tuple[PolicyOverride | None, dict[str, str]]:
    """A group's override: only what the form sets differently from "inherit"."""
    errors: dict[str, str] = {}
    rules: dict[str, dict[str, Any]] = {}
    for cat in taxonomy.CATEGORIES.values():
        prefix = f"{cat.id}-"
        partial: dict[str, Any] = {}
        action = str(data.get(f"{prefix}action", INHERIT))
        if action != INHERIT:
            if action not in {a.value for a in Action}:
                errors[f"{prefix}action"] = _("choose an action")
            else:
                partial["action"] = action
        enabled = str(data.get(f"{prefix}enabled", INHERIT))
        if enabled in ("on", "off"):
            partial["enabled"] = enabled == "on"
        for name in ("review_at", "act_at"):
            value = _float(data, f"{prefix}{name}", errors, blank_ok=True)
            if value is not None:
                partial[name] = value
        if partial:
            rules[cat.id] = partial
    shadow_raw = str(data.get("shadow", INHERIT))
    shadow = None if shadow_raw not in ("on", "off") else shadow_raw == "on"
    if errors:
        return None, errors
    return PolicyOverride(rules=rules, shadow=shadow), errors

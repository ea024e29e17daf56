"""Policy decisions, group overrides, JSON round trips, and the penalty ladder of seed 004."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from qunyun.moderation import taxonomy
from qunyun.moderation.ladder import Ladder, PriorPenalty, Step
from qunyun.moderation.policy import Action, Policy, PolicyOverride, Rule, default_policy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_taxonomy_has_the_stable_ids_of_seed_004():
    for cid in ["illegal", "unfriendly.threat", "spam.repeated_ad", "spam.coordinated_ad", "spam.deceptive_link",
                "spam.symbol_trick", "vulgar", "false_info", "superstition", "clickbait", "fan_disorder", "flood",
                "off_topic", "water"]:
        assert taxonomy.get(cid).zh
    assert taxonomy.family("spam.deceptive_link") == "spam"


def test_default_policy_deletes_spam_with_penalty_and_reviews_the_rest():
    p = default_policy()
    assert p.rule_for("spam.deceptive_link").decide(0.9) is Action.DELETE_PENALIZE
    assert p.rule_for("spam").decide(0.7) is Action.REVIEW
    assert p.rule_for("vulgar").decide(0.95) is Action.REVIEW
    assert p.rule_for("off_topic").decide(1.0) is Action.ALLOW  # off by default
    assert p.action_for({"spam": 0.9, "vulgar": 0.7}) == (Action.DELETE_PENALIZE, "spam")


def test_group_override_is_merged_over_the_community_policy():
    p = default_policy()
    o = PolicyOverride(rules={"off_topic": {"enabled": True}, "spam": {"act_at": 0.95}}, shadow=True)
    g = p.merged(o)
    assert g.shadow and not p.shadow
    assert g.rule_for("off_topic").decide(0.9) is Action.REVIEW
    assert g.rule_for("spam").decide(0.9) is Action.REVIEW
    assert g.rule_for("spam").action is Action.DELETE_PENALIZE


def test_policy_round_trips_through_json():
    p = default_policy(shadow=True)
    again = Policy.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p
    o = PolicyOverride(rules={"water": {"enabled": True}})
    assert PolicyOverride.from_dict(json.loads(json.dumps(o.to_dict()))) == o


def test_policy_rejects_unknown_categories_and_bad_thresholds():
    with pytest.raises(ValueError, match="unknown moderation category"):
        Policy.from_dict({"rules": {"spamm": {}}})
    with pytest.raises(ValueError, match="thresholds"):
        Rule.from_dict({"review_at": 0.9, "act_at": 0.5})


def test_ladder_climbs_one_step_per_offence():
    lad = Ladder()
    prior = []
    steps = []
    for i in range(6):
        nxt = lad.next(prior, category="spam", now=NOW + timedelta(hours=i))
        steps.append(nxt.step)
        prior.append(PriorPenalty(nxt.step, NOW + timedelta(hours=i)))
    assert steps == [Step.WARNING, Step.MUTE_1D, Step.MUTE_7D, Step.MUTE_15D, Step.BAN, Step.BAN]
    mute = lad.next([PriorPenalty(Step.WARNING, NOW)], category="spam", now=NOW)
    assert mute.duration == timedelta(days=1) and mute.until == NOW + timedelta(days=1)
    assert lad.next([PriorPenalty(Step.MUTE_15D, NOW)], category="spam", now=NOW).until is None


def test_warnings_expire():
    lad = Ladder(warning_ttl=timedelta(days=30))
    old = [PriorPenalty(Step.WARNING, NOW - timedelta(days=31))]
    assert lad.next(old, category="spam", now=NOW).step is Step.WARNING
    recent = [PriorPenalty(Step.WARNING, NOW - timedelta(days=29))]
    assert lad.next(recent, category="spam", now=NOW).step is Step.MUTE_1D


def test_aggravated_categories_jump_steps():
    lad = Ladder(aggravated_jump=2)
    assert lad.next([], category="illegal.minors", now=NOW).step is Step.MUTE_7D
    assert lad.next([], category="spam.coordinated_ad", now=NOW).step is Step.MUTE_7D
    assert lad.next([PriorPenalty(Step.MUTE_7D, NOW)], category="multi_account", now=NOW).step is Step.BAN


def test_ladder_round_trips():
    lad = Ladder(warning_ttl=timedelta(days=7), aggravated_jump=1)
    assert Ladder.from_dict(json.loads(json.dumps(lad.to_dict()))) == lad

"""Joins feed the behaviour window: a wave of joins (raid) is one case, or removal when the policy acts."""

from __future__ import annotations

import pytest

from qunyun.bus.models import Notification
from qunyun.moderation.models import Case
from qunyun.moderation.policy import Action, Rule, default_policy
from qunyun.moderation.services import policy_save
from tests.conftest import at
from tests.factories import join

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_wave_of_joins_opens_one_review_case_and_warns_the_operator(live_path):
    live_path.ingest([join(i, 100 + i, at(i * 0.05)) for i in range(12)], now=at(1))
    live_path.run(at(2))
    case = Case.objects.get()
    assert (case.action, case.needs_review, case.categories) == ("review", True, ["multi_account"])
    assert case.account_id == "fake:u109"  # the tenth join within the minute
    assert Notification.objects.filter(reason="moderation:raid").count() == 1
    assert live_path.calls("kick") == []
    # A quiet hour later, ordinary joins are fine.
    live_path.ingest([join(50, 200, at(90))], now=at(90))
    live_path.run(at(91))
    assert Case.objects.count() == 1


def test_when_the_policy_acts_on_raids_every_newcomer_of_the_wave_is_removed(live_path, community):
    policy_save(community=community, policy=default_policy(extra=[("multi_account", Rule(Action.DELETE, act_at=0.6))]))
    live_path.ingest([join(i, 100 + i, at(i * 0.05)) for i in range(12)], now=at(1))
    live_path.run(at(2))
    assert [d.member for d in live_path.calls("kick")] == ["fake:u109", "fake:u110", "fake:u111"]
    assert Case.objects.filter(action="kick").count() == 3


def test_the_first_message_of_a_newcomer_with_a_contact_id_counts_against_them(live_path):
    from tests.factories import message

    live_path.ingest([join(1, 7, at())], now=at())
    live_path.ingest([message(2, 7, at(1), "大家好，有事加我 vx: tea88888")], now=at(1))
    live_path.run(at(2))
    case = Case.objects.get()
    assert "behaviour.new_member_bait" in {f["detector"] for f in case.findings}


def test_the_behaviour_window_is_rebuilt_from_the_log_after_a_restart(live_path):
    from qunyun.moderation import live
    from tests.factories import message

    ad = "诚招兼职宝妈，日结300，加VX：job6666 详聊"
    live_path.ingest([message(1, 11, at(0), ad), message(2, 12, at(0.5), ad)], now=at(1))
    live.forget()  # a new process: nothing in memory
    live_path.ingest([message(3, 13, at(1), ad)], now=at(1.1))
    live_path.run(at(2))
    third = Case.objects.get(member__display_name="user13")
    assert "spam.coordinated_ad" in {f["category"] for f in third.findings}

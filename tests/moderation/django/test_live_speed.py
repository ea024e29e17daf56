"""The guard and the moderation handler judge a message once between them, and behave as before."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qunyun import guard
from qunyun.moderation import handlers
from qunyun.moderation.models import Case
from qunyun.moderation.policy import default_policy
from qunyun.moderation.services import policy_save
from tests.conftest import at
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)

SPAM = "加我微信 wx123456789 低价出售游戏币，需要的老板滴滴"
SPAM2 = "加V信：abc8888 兼职日赚500元"


@pytest.fixture
def judged(monkeypatch):
    """Counts the detector runs of both handlers (the real detectors still run)."""
    runs: list[str] = []

    def counting(name, real):
        def run(*args, **kwargs):
            runs.append(name)
            return real(*args, **kwargs)
        return run

    monkeypatch.setattr(handlers, "moderate", counting("moderation", handlers.moderate))
    monkeypatch.setattr(guard, "moderate", counting("guard", guard.moderate))
    return runs


def guard_on(community, seconds=600):
    community.settings = {"guard": {"enabled": True, "mute_seconds": seconds}}
    community.save()


def test_with_moderation_on_the_guard_reuses_its_verdict_and_still_mutes(live_path, community, judged):
    guard_on(community)
    live_path.ingest([message(1, 7, at(), "早上好，今天喝什么茶？"), message(2, 7, at(1), SPAM)], now=at(2))
    live_path.run(at(3))
    assert judged == ["moderation", "moderation"]  # one detector run per message, none by the guard
    assert [d.message_id for d in live_path.calls("delete")] == ["2"]  # deleted once, not twice
    mutes = live_path.calls("mute")
    assert len(mutes) == 1 and mutes[0].until - at(2) == timedelta(seconds=600)  # the guard's mute, its own length
    assert Case.objects.get().number == 1


def test_with_moderation_in_shadow_mode_the_guard_judges_for_itself(live_path, community, judged):
    guard_on(community)
    policy_save(community=community, policy=default_policy(shadow=True))
    live_path.ingest([message(1, 7, at(), SPAM)], now=at(1))
    live_path.run(at(2))
    assert judged == ["moderation", "guard"]  # a shadow verdict must not silence the guard
    assert [d.message_id for d in live_path.calls("delete")] == ["1"]
    assert len(live_path.calls("mute")) == 1
    assert Case.objects.get().shadow is True


def test_cases_are_numbered_one_after_another_in_a_batch(live_path, community):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 8, at(1), SPAM2), message(3, 9, at(2), SPAM)],
                     now=at(3))
    live_path.run(at(4))
    cases = list(Case.objects.order_by("number"))
    assert [c.number for c in cases] == [1, 2, 3]
    assert [c.member.display_name for c in cases] == ["user7", "user8", "user9"]
    assert [c.event.message_id for c in cases] == ["1", "2", "3"]

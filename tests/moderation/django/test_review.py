"""A moderator confirms or overturns a case; an overturn undoes the penalty and teaches the model."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from qunyun.bus.models import OutboxItem
from qunyun.moderation.models import Case, LabelledExample, Penalty
from qunyun.moderation.services import ModerationError, case_confirm, case_overturn, training_examples_export
from tests.conftest import at
from tests.factories import message

from .test_live import SPAM, SPAM2

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def moderator(db):
    return get_user_model().objects.create_user("mod", password="x" * 12, is_staff=True)


def test_overturning_a_mute_unmutes_now_cancels_the_scheduled_end_and_becomes_an_ok_example(live_path, moderator):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 7, at(1), SPAM2)], now=at(2))
    live_path.run(at(3))
    muted = Case.objects.get(number=2)
    assert muted.step == "mute_1d"
    end = OutboxItem.objects.get(pk=muted.penalty.end_item_id)

    case_overturn(case=muted, by=moderator, note="it was a joke between friends", now=at(10))
    live_path.run(at(11))
    assert live_path.kinds.count("unmute") == 1  # at once, not at the end of the day
    end.refresh_from_db()
    assert end.status == "cancelled"
    penalty = Penalty.objects.get(case=muted)
    assert penalty.overturned_at == at(10) and penalty.lifted_at == at(11)
    muted.refresh_from_db()
    assert (muted.status, muted.reviewed_by, muted.review_note) == ("overturned", moderator, "it was a joke between friends")
    assert LabelledExample.objects.get(case=muted).label == "ok"
    live_path.run(at(days=2))
    assert live_path.kinds.count("unmute") == 1  # the cancelled end never runs

    # The overturned penalty no longer counts: the next offence is a mute 1d again, not 7d.
    live_path.ingest([message(3, 7, at(60), SPAM)], now=at(60))
    live_path.run(at(61))
    assert Case.objects.get(number=3).step == "mute_1d"


def test_confirming_a_review_case_deletes_the_message_and_takes_the_next_step(live_path, moderator):
    live_path.ingest([message(1, 7, at(), "你这个傻逼")], now=at())
    live_path.run(at(1))
    case = Case.objects.get()
    assert case.needs_review and live_path.adapter.calls == []
    case_confirm(case=case, by=moderator, now=at(5))
    live_path.run(at(6))
    assert live_path.kinds[:1] == ["delete"] and live_path.calls("delete")[0].message_id == "1"
    case.refresh_from_db()
    assert (case.status, case.step, case.action, case.decided_by) == ("confirmed", "warning", "delete+warning", moderator)
    assert "#1" in live_path.calls("send")[0].text
    assert LabelledExample.objects.get(case=case).label == "unfriendly.abuse"


def test_confirming_without_penalty_only_deletes(live_path, moderator):
    live_path.ingest([message(1, 7, at(), "你这个傻逼")], now=at())
    live_path.run(at(1))
    case_confirm(case=Case.objects.get(), by=moderator, penalize=False, now=at(5))
    live_path.run(at(6))
    assert live_path.kinds == ["delete"] and not Penalty.objects.exists()


def test_confirming_an_automatic_case_only_labels_it(live_path, moderator):
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    calls = len(live_path.adapter.calls)
    case = case_confirm(case=Case.objects.get(), by=moderator, now=at(5))
    live_path.run(at(6))
    assert len(live_path.adapter.calls) == calls and case.status == "confirmed"
    assert LabelledExample.objects.get().label.startswith("spam")


def test_an_overturned_case_cannot_be_confirmed(live_path, moderator):
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    case = case_overturn(case=Case.objects.get(), by=moderator, now=at(2))
    with pytest.raises(ModerationError, match="overturned"):
        case_confirm(case=case, by=moderator)


def test_overturning_a_ban_unbans(live_path, community, moderator):
    from qunyun.moderation.ladder import Ladder
    from qunyun.moderation.policy import default_policy
    from qunyun.moderation.services import policy_save

    policy_save(community=community, policy=default_policy(), ladder=Ladder(aggravated_jump=4))
    live_path.ingest([message(i, 10 + i, at(i * 0.2), "诚招兼职宝妈，日结300，加VX：job6666 详聊") for i in range(1, 4)],
                     now=at(1))
    live_path.run(at(2))
    banned = Case.objects.get(step="ban")
    assert live_path.calls("ban")[0].until is None
    case_overturn(case=banned, by=moderator, now=at(3))
    live_path.run(at(4))
    assert [d.member for d in live_path.calls("unban")] == [banned.account_id]
    assert Penalty.objects.get(case=banned).lifted_at == at(4)


def test_training_examples_export_writes_the_train_format(live_path, community, moderator):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 8, at(1), "你这个傻逼")], now=at(2))
    live_path.run(at(3))
    case_overturn(case=Case.objects.get(number=1), by=moderator, now=at(4))
    case_confirm(case=Case.objects.get(number=2), by=moderator, now=at(4))
    out = io.StringIO()
    assert training_examples_export(community=community, out=out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [{"text": SPAM, "label": "ok"}, {"text": "你这个傻逼", "label": "unfriendly.abuse"}]


def test_a_mute_that_already_ended_is_not_unmuted_again_on_overturn(live_path, moderator):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 7, at(1), SPAM2)], now=at(2))
    live_path.run(at(3))
    live_path.run(at(2) + timedelta(days=1, minutes=1))
    assert live_path.kinds.count("unmute") == 1
    case_overturn(case=Case.objects.get(number=2), by=moderator, now=at(days=3))
    live_path.run(at(days=3, minutes=1))
    assert live_path.kinds.count("unmute") == 1

"""The live path: a message in, the policy enforced through the outbox, a numbered case out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qunyun.bus.models import OutboxItem
from qunyun.moderation.ladder import Ladder
from qunyun.moderation.models import Case, Penalty
from qunyun.moderation.policy import Action, Rule, default_policy
from qunyun.moderation.services import policy_save
from tests.conftest import at
from tests.factories import CHAT, message

pytestmark = pytest.mark.django_db(transaction=True)

SPAM = "加我微信 wx123456789 低价出售游戏币，需要的老板滴滴"
SPAM2 = "加V信：abc8888 兼职日赚500元"


def test_a_spam_message_is_deleted_and_opens_case_number_one_with_a_warning(live_path):
    live_path.ingest([message(1, 7, at(), "早上好，今天喝什么茶？"), message(2, 7, at(0.1), SPAM)], now=at(0.2))
    live_path.run(at(0.3))
    deletes = live_path.calls("delete")
    assert [d.message_id for d in deletes] == ["2"]
    case = Case.objects.get()
    assert (case.number, case.action, case.step, case.status, case.shadow) == (1, "delete+warning", "warning", "open", False)
    assert case.text == SPAM and "spam" in case.categories[0]
    assert any(SPAM[e["start"]:e["end"]] == e["text"] for e in case.evidence)
    assert case.member.display_name == "user7" and case.event.message_id == "2"
    penalty = Penalty.objects.get()
    assert (penalty.step, penalty.start, penalty.end) == ("warning", at(0.2), at(0.2))
    # The member is told, with the case number and both ways to appeal.
    notice = live_path.calls("send")[0]
    assert notice.to_member == "fake:u7" and "#1" in notice.text and "/appeal/" in notice.text and "/appeal 1 " in notice.text
    assert live_path.calls("mute") == []


def test_opening_a_case_twice_from_the_same_outbox_row_keeps_one_case(live_path):
    """A row executed again (its first run's transaction committed the case, say, but the worker
    died before it knew) finds the case its key made, on SQLite and PostgreSQL alike."""
    from qunyun.core.codec import decision_from_dict
    from qunyun.moderation.executors import case_open

    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    row = OutboxItem.objects.get(kind="open_case")
    first = Case.objects.get()
    again = case_open(row, decision_from_dict(row.payload))
    assert again == {"case": first.pk, "number": 1}
    assert Case.objects.count() == 1 and Penalty.objects.count() == 1
    # ... and the next case still gets the next number
    live_path.ingest([message(2, 8, at(2), SPAM2)], now=at(2))
    live_path.run(at(3))
    assert list(Case.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_the_ladder_climbs_warning_then_mute_1d_then_7d(live_path):
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    live_path.ingest([message(2, 7, at(60), SPAM2)], now=at(60))
    live_path.run(at(61))
    live_path.ingest([message(3, 7, at(days=2), SPAM)], now=at(days=2))
    live_path.run(at(days=2) + timedelta(minutes=1))
    steps = list(Case.objects.order_by("number").values_list("number", "step"))
    assert steps == [(1, "warning"), (2, "mute_1d"), (3, "mute_7d")]
    mutes = live_path.calls("mute")
    assert [m.until for m in mutes] == [at(60) + timedelta(days=1), at(days=2) + timedelta(days=7)]
    assert all(m.member == "fake:u7" and m.chat == CHAT for m in mutes)


def test_two_offences_in_one_batch_still_climb_the_ladder(live_path):
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 7, at(0.5), SPAM2)], now=at(1))
    live_path.run(at(2))
    assert list(Case.objects.order_by("number").values_list("step", flat=True)) == ["warning", "mute_1d"]


def test_a_penalty_still_waiting_in_the_outbox_counts_after_a_restart(live_path):
    """The first case is decided but not yet opened when the process restarts: the ladder finds
    it in the outbox (not in memory, which the restart lost) and climbs."""
    from qunyun.moderation import live

    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live.forget()  # a new process
    live_path.ingest([message(2, 7, at(1), SPAM2)], now=at(1))
    live_path.run(at(2))
    assert list(Case.objects.order_by("number").values_list("step", flat=True)) == ["warning", "mute_1d"]
    assert live_path.calls("mute")[0].until == at(1) + timedelta(days=1)
    # Recorded now, and a recorded penalty that was overturned stops counting.
    Penalty.objects.filter(step="mute_1d").update(overturned_at=at(3))
    live.forget()
    live_path.ingest([message(3, 7, at(4), SPAM)], now=at(4))
    live_path.run(at(5))
    assert Case.objects.get(number=3).step == "mute_1d"


def test_the_end_of_a_mute_fires_on_time_and_marks_the_penalty_lifted(live_path):
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.ingest([message(2, 7, at(5), SPAM2)], now=at(5))
    live_path.run(at(6))
    penalty = Penalty.objects.get(step="mute_1d")
    assert penalty.end == at(5) + timedelta(days=1) and penalty.lifted_at is None
    end = OutboxItem.objects.get(pk=penalty.end_item_id)
    assert (end.kind, end.status, end.due_at) == ("unmute", "pending", at(5) + timedelta(days=1))
    live_path.run(at(5) + timedelta(hours=23))
    assert "unmute" not in live_path.kinds
    live_path.run(at(5) + timedelta(days=1, seconds=1))
    assert live_path.kinds.count("unmute") == 1
    penalty.refresh_from_db()
    assert penalty.lifted_at == at(5) + timedelta(days=1, seconds=1)


def test_warnings_expire_so_a_later_offence_starts_again_at_a_warning(live_path, community):
    policy_save(community=community, policy=default_policy(), ladder=Ladder(warning_ttl=timedelta(days=7)))
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    live_path.ingest([message(2, 7, at(days=8), SPAM2)], now=at(days=8))
    live_path.run(at(days=8, minutes=1))
    assert list(Case.objects.order_by("number").values_list("step", flat=True)) == ["warning", "warning"]
    # Within the expiry time the second offence is a mute.
    live_path.ingest([message(3, 7, at(days=9), SPAM)], now=at(days=9))
    live_path.run(at(days=9, minutes=1))
    assert Case.objects.get(number=3).step == "mute_1d"


def test_an_aggravated_category_jumps_steps(live_path, community):
    # Coordinated ads from several accounts (multi-account abuse, seed 004) is aggravated.
    ad = "诚招兼职宝妈，日结300，加VX：job6666 详聊"
    live_path.ingest([message(i, 10 + i, at(i * 0.2), ad) for i in range(1, 4)], now=at(1))
    live_path.run(at(2))
    third = Case.objects.get(member__display_name="user13")
    assert "spam.coordinated_ad" in {f["category"] for f in third.findings}
    assert third.step == "mute_7d"  # no earlier penalty, jumped two steps past the warning
    first = Case.objects.get(member__display_name="user11")
    assert first.step == "warning"


def test_shadow_mode_records_what_it_would_do_and_does_nothing(live_path, community):
    policy_save(community=community, policy=default_policy(shadow=True))
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 7, at(1), SPAM2)], now=at(2))
    live_path.run(at(3))
    assert live_path.adapter.calls == []
    cases = list(Case.objects.order_by("number"))
    assert [(c.shadow, c.action, c.step) for c in cases] == [(True, "delete+warning", "warning"),
                                                            (True, "delete+mute_1d", "mute_1d")]
    assert not OutboxItem.objects.filter(kind__in=["delete", "mute", "unmute", "send"]).exists()
    # Shadow penalties never count for the real ladder: switching shadow off starts at a warning.
    policy_save(community=community, policy=default_policy(shadow=False))
    live_path.ingest([message(3, 7, at(10), SPAM)], now=at(10))
    live_path.run(at(11))
    assert Case.objects.get(number=3).step == "warning" and live_path.kinds[0] == "delete"


def test_a_group_override_can_put_one_group_in_shadow(live_path, community):
    from qunyun.communities.services import group_create
    from qunyun.moderation.policy import PolicyOverride
    from qunyun.moderation.services import group_override_save

    group = group_create(community=community, chat_id=CHAT, name="Room 1")
    group_override_save(group=group, override=PolicyOverride(shadow=True))
    live_path.ingest([message(1, 7, at(), SPAM), message(2, 8, at(), SPAM, chat="fake:room2")], now=at(1))
    live_path.run(at(2))
    assert [d.chat for d in live_path.calls("delete")] == ["fake:room2"]
    assert set(Case.objects.values_list("chat", "shadow")) == {(CHAT, True), ("fake:room2", False)}


def test_review_findings_wait_in_the_queue_without_action(live_path):
    live_path.ingest([message(1, 7, at(), "你这个傻逼")], now=at())
    live_path.run(at(1))
    assert live_path.adapter.calls == []
    case = Case.objects.get()
    assert (case.action, case.needs_review, case.status, case.step) == ("review", True, "open", "")


def test_a_category_switched_off_is_allowed(live_path, community):
    policy = default_policy(extra=[("spam", Rule(Action.DELETE_PENALIZE, enabled=False))])
    policy_save(community=community, policy=policy)
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    assert not Case.objects.exists() and live_path.adapter.calls == []


def test_ordinary_chat_and_bots_are_left_alone(live_path):
    live_path.ingest([message(1, 7, at(), "今天的茶真好喝"), message(2, 8, at(1), SPAM, bot=True)], now=at(2))
    live_path.run(at(3))
    assert not Case.objects.exists() and live_path.adapter.calls == []


def test_dry_run_records_decisions_and_opens_no_case(live_path, community):
    community.dry_run = True
    community.save()
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    assert live_path.adapter.calls == [] and not Case.objects.exists()
    assert set(OutboxItem.objects.values_list("kind", "status")) == {("delete", "dry_run"), ("open_case", "dry_run")}


def test_a_policy_edited_into_nonsense_falls_back_to_the_default(live_path, community):
    from qunyun.moderation.models import CommunityPolicy

    CommunityPolicy.objects.create(community=community, policy={"version": 1, "rules": {"no.such": {}}})
    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    assert Case.objects.get().action == "delete+warning"


def test_batch_context_uses_the_stored_policy(community):
    from qunyun.moderation.detection.verdict import moderate
    from qunyun.moderation.live import batch_context

    policy_save(community=community, policy=default_policy(extra=[("spam", Rule(Action.REVIEW))]))
    assert moderate(SPAM, batch_context(community)).verdict == "review"


def test_an_ad_added_by_editing_a_message_is_caught(live_path):
    from qunyun.core import events as ev
    from tests.factories import account

    live_path.ingest([message(1, 7, at(), "大家好，我是新来的")], now=at())
    edit = ev.MessageEdited(chat=CHAT, event_id="e1", at=at(2), message_id="1", author=account(7), text=SPAM)
    live_path.ingest([edit], now=at(2))
    live_path.run(at(3))
    assert [d.message_id for d in live_path.calls("delete")] == ["1"]
    case = Case.objects.get()
    assert (case.message_id, case.text, case.step) == ("1", SPAM, "warning")


def test_a_busy_group_opens_no_cases_and_tells_the_operators_once(live_path):
    from qunyun.bus.models import Notification

    chat = [message(i, 100 + i, at(i * 0.005), f"第{i}个：报名周六的活动") for i in range(45)]
    live_path.ingest(chat, now=at(0.3))
    live_path.run(at(0.4))
    assert Case.objects.count() == 0
    assert Notification.objects.filter(reason="moderation:flood_group").count() == 1


def test_a_broken_community_lexicon_does_not_stop_moderation(live_path, community, tmp_path, caplog):
    """A list file edited into bad UTF-8: the starter lists still judge, the log names file and line."""
    good = tmp_path / "spam.txt"
    good.write_text("茶叶团购\n", encoding="utf-8")
    live_path.ingest([message(1, 7, at(), "茶叶团购 私聊我 加我微信 wx5566778")], now=at())
    live_path.run(at(1))
    assert Case.objects.count() == 1
    bad = tmp_path / "vulgar.txt"
    bad.write_bytes("好词\n".encode() + b"\xff\xfe\n")
    policy_save(community=community, policy=default_policy(), lexicons=[str(good), str(bad)])
    with caplog.at_level("WARNING", logger="qunyun.moderation.live"):
        live_path.ingest([message(2, 8, at(2), SPAM)], now=at(2))
    live_path.run(at(3))
    assert Case.objects.count() == 2
    assert any("vulgar.txt:2" in r.getMessage() for r in caplog.records)


def test_empty_huge_and_binary_messages_on_the_live_path_get_a_verdict(live_path, caplog):
    """Bad input reaches the live handler as it comes: nothing fails, the ad among it is caught."""
    odd = [message(1, 7, at(), ""), message(2, 8, at(0.1), "加" * 300_000),
           message(3, 9, at(0.2), "\x00\x01\x02" * 1000 + " 加我微信 wx12345678 低价出售游戏币")]
    with caplog.at_level("ERROR"):
        live_path.ingest(odd, now=at(0.5))
    live_path.run(at(1))
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    cases = {c.event.message_id: c for c in Case.objects.select_related("event")}
    assert "3" in cases and cases["3"].action.startswith("delete")
    assert "1" not in cases

"""`qunyun moderation history`: the policy over imported history, in shadow mode, worst offenders first."""

from __future__ import annotations

import pytest

from qunyun.bus.models import OutboxItem
from qunyun.bus.runtime import Runtime
from qunyun.cli.main import main
from qunyun.moderation.models import Case, Penalty
from tests.conftest import at
from tests.factories import message

from .test_live import SPAM, SPAM2

pytestmark = pytest.mark.django_db(transaction=True)


def imported_history(community):
    chat = [
        message(1, 1, at(0), "大家早上好，今天喝什么茶？", name="阿茶"),
        message(2, 2, at(1), "我在喝凤凰单丛", name="老王"),
        message(3, 9, at(2), SPAM, name="广告哥"),
        message(4, 1, at(3), "这个单丛是哪个山头的？", name="阿茶"),
        message(5, 9, at(60), SPAM2, name="广告哥"),
        message(6, 9, at(120), "加我微信 vx8888777 茶叶批发，需要的老板滴滴", name="广告哥"),
        message(7, 5, at(130), "你这个傻逼", name="火气大"),
        message(8, 2, at(140), "别吵了，喝茶", name="老王"),
    ]
    result = Runtime(community, mode="import").ingest(chat)
    assert result.stored == 8


def test_history_lists_the_worst_offenders_and_sends_nothing(community, capsys):
    imported_history(community)
    assert main(["moderation", "history", "--community", "tea"]) == 0
    out = capsys.readouterr().out
    assert "over 8 messages" in out and "Nothing was sent" in out
    assert "Would-be cases: 4" in out
    lines = [line for line in out.splitlines() if line[:1].isdigit()]
    assert lines[0].startswith("1") and "广告哥" in lines[0] and "  3  " in lines[0] and "mute_7d" in lines[0]
    assert "spam" in lines[0]
    example = lines[0].split("spam×3")[1].strip()  # evidence pieces, as the member wrote them
    pieces = [p for p in example.split(" … ") if p]
    assert pieces and all(p in SPAM or p in SPAM2 or p in "加我微信 vx8888777 茶叶批发，需要的老板滴滴" for p in pieces)
    assert "火气大" in lines[1] and "unfriendly.abuse" in lines[1]
    assert len(lines) == 2  # ordinary members are not listed
    assert not Case.objects.exists() and not OutboxItem.objects.exists() and not Penalty.objects.exists()


def test_history_record_stores_shadow_cases_once(community, capsys):
    imported_history(community)
    assert main(["moderation", "history", "--community", "tea", "--record", "--limit", "1"]) == 0
    assert "4 would-be cases stored as shadow cases" in capsys.readouterr().out
    assert main(["moderation", "history", "--community", "tea", "--record"]) == 0
    cases = list(Case.objects.order_by("number"))
    assert [c.number for c in cases] == [1, 2, 3, 4]
    assert all(c.shadow and c.source == "history" for c in cases)
    assert [c.step for c in cases if c.member.display_name == "广告哥"] == ["warning", "mute_1d", "mute_7d"]
    assert not OutboxItem.objects.exists()


def test_history_of_an_unknown_community_is_one_line(community, capsys):
    assert main(["moderation", "history", "--community", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no community 'nope'" in err[0]


def test_history_with_no_messages(community, capsys):
    assert main(["moderation", "history", "--community", "tea"]) == 0
    assert "no messages in the event log yet" in capsys.readouterr().out


def test_examples_command_writes_what_moderators_decided(community, capsys, tmp_path, live_path):
    import json

    from django.contrib.auth import get_user_model

    from qunyun.moderation.services import case_overturn

    live_path.ingest([message(1, 7, at(), SPAM)], now=at())
    live_path.run(at(1))
    case_overturn(case=Case.objects.get(), by=get_user_model().objects.create_user("m"), now=at(2))
    out = tmp_path / "ex.jsonl"
    assert main(["moderation", "examples", "--community", "tea", "--out", str(out)]) == 0
    assert "1 labelled example(s)" in capsys.readouterr().out
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"text": SPAM, "label": "ok"}]
    assert main(["moderation", "examples", "--community", "tea", "--out", str(tmp_path / "no" / "x.jsonl")]) == 1
    assert "cannot write" in capsys.readouterr().err

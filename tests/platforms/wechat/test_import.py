"""WeChat CSV (WeChatMsg / MemoTrace columns): type codes, speakers, system lines, times."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qunyun.communities.models import Event, Group, Identity
from qunyun.platforms.importing import FormatMismatch
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
CSV = fixture("wechat", "茶友群_utf8.csv")


def test_group_chat_csv_with_exact_counts(community):
    summary = run(community, "wechat", CSV)
    rows = list(csv.DictReader(Path(CSV).read_text(encoding="utf-8-sig").splitlines()))
    speaking = [r for r in rows if r["Type"] not in ("10000", "10002") and r["CreateTime"] != "not-a-time"]
    counts = db_counts(community)
    assert counts["messages"] == len(speaking) == 12
    assert counts["joins"] == 4  # 小红 and Tom invited, 阿强 by QR code, 小李 joined
    assert counts["leaves"] == 1  # Tom removed by the exporter
    assert summary.report.skipped == 1 and summary.report.skips[0].location.endswith("_utf8.csv:17")
    assert summary.report.ignored["system lines that are not joins or leaves (recalls, pats, notices…)"] == 1
    group = Group.objects.get(community=community)
    assert (group.chat_id, group.name) == ("wechat:7", "茶友群")


def test_type_codes_become_kinds(community):
    run(community, "wechat", CSV)
    kinds = list(Event.objects.filter(type="message").order_by("at", "pk").values_list("kind", flat=True))
    assert kinds[:9] == ["text", "text", "image", "sticker", "voice", "video", "link", "text", "text"]


def test_speakers_and_names_resolve_to_wxids(community):
    run(community, "wechat", CSV)
    hong = Identity.objects.get(account_id="wechat:wxid_hong").member
    assert hong.display_name == "小红"  # the nickname, not the exporter's private remark
    invited = event(community, type="join", member=hong)
    assert invited.detail == "invited" and invited.actor.display_name == "小明"
    qiang = Identity.objects.get(account_id="wechat:wxid_qiang").member
    assert event(community, type="join", member=qiang).detail == "invite_link"
    removed = event(community, type="leave")
    assert removed.member.identities.get().account_id == "wechat:wxid_tom"
    assert removed.detail == "removed" and removed.actor.identities.get().account_id == "wechat:7/me"
    # Someone named only by a system line gets an id in this chat's name space.
    assert Identity.objects.filter(account_id="wechat:7/小李").exists()


def test_times_create_time_is_utc_and_str_time_uses_the_zone(community):
    run(community, "wechat", CSV, tz="Asia/Shanghai")
    first = event(community, type="message", text="大家好，我是小红")
    assert first.at == datetime(2024, 3, 13, 1, 1, tzinfo=timezone.utc) and first.source_tz == ""
    old = event(community, type="message", text__startswith="没有 CreateTime")
    assert old.at == datetime(2024, 3, 13, 1, 10, tzinfo=timezone.utc) and old.source_tz == "Asia/Shanghai"
    assert Event.objects.filter(type="message", text="复读").count() == 2  # same second, same text: two


def test_reimport_adds_nothing(community):
    run(community, "wechat", CSV)
    before = db_counts(community)
    again = run(community, "wechat", CSV)
    assert sum(again.stored.values()) == 0 and db_counts(community) == before


def test_not_a_wechat_csv(community, tmp_path):
    other = tmp_path / "contacts.csv"
    other.write_text("UserName,Alias,Type,Remark,NickName\nwxid_a,,1,,A\n", encoding="utf-8")
    with pytest.raises(FormatMismatch, match="not a WeChat export CSV: .* has no column\\(s\\) IsSender, StrContent"):
        run(community, "wechat", other)

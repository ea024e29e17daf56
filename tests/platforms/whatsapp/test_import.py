"""WhatsApp: Android and iOS lines, clocks, date orders, multi-line messages, system lines, marks."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from qunyun.communities.models import Event, Group, Identity
from qunyun.platforms.importing import FormatMismatch
from qunyun.platforms.whatsapp.importer import detect_order
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
ANDROID = fixture("whatsapp", "android_24h_dayfirst.txt")
IOS = fixture("whatsapp", "ios_12h_monthfirst.txt")
AMBIGUOUS = fixture("whatsapp", "ambiguous_monthfirst.txt")
ZIP = fixture("whatsapp", "WhatsApp Chat - Tea lovers.zip")
HEADER = re.compile(r"^\u200e?\[?\d{1,2}/\d{1,2}/\d{2,4}, \d{1,2}:\d{2}")


def _raw_headers(path: str) -> int:
    return sum(1 for line in Path(path).read_text(encoding="utf-8").splitlines() if HEADER.match(line))


def test_android_export(community):
    summary = run(community, "whatsapp", ANDROID, group="Tea lovers", bots={"Tea Bot"})
    counts = db_counts(community)
    # 16 dated lines: 9 messages; 3 join lines (created, added three, joined by link) = 5 joins;
    # 2 leaves; 2 notices (encryption, subject).
    assert _raw_headers(ANDROID) == 16
    assert (counts["messages"], counts["joins"], counts["leaves"]) == (9, 5, 2)
    assert summary.report.ignored["system lines that are not joins or leaves (notices, subject and icon changes…)"] == 2
    assert counts["member_messages"] == counts["day_messages"] == 8  # the bot's is left out
    assert Group.objects.get(community=community).name == "Tea lovers"
    welcome = event(community, type="message", text__startswith="Welcome")
    assert welcome.text == "Welcome everyone!\nRules are in the description.\nBe kind."
    # Day-first: 13/03 is March 13; 09:02 in Shanghai is 01:02 UTC.
    assert welcome.at == datetime(2024, 3, 13, 1, 2, tzinfo=timezone.utc)
    assert welcome.source_tz == "Asia/Shanghai"
    phone = Identity.objects.get(account_id="whatsapp:+8613800138000")  # U+202A/U+202C marks removed
    assert event(community, type="message", member=phone.member).text == "你好，我是小王"
    assert event(community, type="join", member=phone.member).actor.display_name == "Ann"
    assert event(community, type="leave", detail="removed").actor.display_name == "Ann"
    assert event(community, type="join", detail="creator").member.display_name == "Ann"
    assert event(community, type="join", detail="invite_link").member.display_name == "Dan"
    # Two identical "ok" in one minute are two messages; so are the two "<Media omitted>".
    assert Event.objects.filter(type="message", text="ok").count() == 2
    assert Event.objects.filter(type="message", kind="other").count() == 2
    assert event(community, type="message", kind="link").text == "https://tea.example/shop"


def test_ios_export_with_12_hour_clock_and_marks(community):
    summary = run(community, "whatsapp", IOS, tz="UTC")
    counts = db_counts(community)
    assert (counts["messages"], counts["joins"], counts["leaves"]) == (5, 2, 1)
    assert any("month-first" in note for note in summary.report.notes)
    lunch = event(community, type="message", text__startswith="Lunch")
    assert lunch.at == datetime(2024, 3, 13, 12, 30, tzinfo=timezone.utc)  # 12:30 PM
    assert lunch.text == "Lunch tea?\nGreen, please."
    assert event(community, type="message", text__startswith="midnight").at == \
        datetime(2024, 3, 13, 0, 0, tzinfo=timezone.utc)  # 12:00 AM
    assert event(community, type="message", text="image omitted").kind == "image"
    assert event(community, type="message", text__startswith="<attached:").kind == "image"
    assert event(community, type="leave").at == datetime(2024, 3, 14, 20, 15, tzinfo=timezone.utc)


def test_date_order_is_decided_from_the_data():
    def order(*dates):
        lines = [f"{d}, 10:00 - Ann: hi" for d in dates]
        from qunyun.platforms.whatsapp.importer import _header

        return detect_order(m for m in map(_header, lines) if m)

    assert order("13/03/24", "01/04/24").day == 0  # a first part above 12: day-first
    assert order("03/13/24", "04/01/24").day == 1  # a second part above 12: month-first
    assert order("1/2/24", "1/3/24", "2/1/24").day == 1  # only month-first runs forward
    assert order("2/1/24", "3/1/24", "1/2/24").day == 0  # only day-first runs forward
    undecided = order("01/01/24", "01/01/24")
    assert undecided.day == 0 and "read day-first" in undecided.why


def test_ambiguous_file_reads_month_first(community):
    run(community, "whatsapp", AMBIGUOUS, tz="UTC")
    third = event(community, type="message", text__startswith="third")
    assert third.at.date().isoformat() == "2024-02-01"


def test_zip_export_merges_with_the_text_export(community):
    run(community, "whatsapp", ZIP)
    assert Group.objects.get().chat_id == "whatsapp:Tea lovers"  # named after the zip
    before = db_counts(community)
    again = run(community, "whatsapp", IOS, group="Tea lovers")
    assert sum(again.stored.values()) == 0 and db_counts(community) == before


def test_reimport_and_overlap_add_nothing(community, tmp_path):
    lines = Path(ANDROID).read_text(encoding="utf-8").splitlines(keepends=True)
    part = tmp_path / "WhatsApp Chat with Tea lovers.txt"
    part.write_text("".join(lines[:12]), encoding="utf-8")
    run(community, "whatsapp", part)
    run(community, "whatsapp", ANDROID, group="Tea lovers")
    counts = db_counts(community)
    assert (counts["messages"], counts["joins"], counts["leaves"]) == (9, 5, 2)
    assert Group.objects.count() == 1


def test_not_a_whatsapp_export(community, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("shopping list\n- oolong\n- puer\n", encoding="utf-8")
    with pytest.raises(FormatMismatch, match="not a WhatsApp export: no line of the first 50"):
        run(community, "whatsapp", other)


def test_text_before_the_first_dated_line_is_reported(community, tmp_path):
    path = tmp_path / "chat.txt"
    path.write_text("garbage first line\n13/03/2024, 09:02 - Ann: hi\n", encoding="utf-8")
    summary = run(community, "whatsapp", path)
    assert summary.report.skipped == 1 and summary.report.skips[0].location.endswith("chat.txt:1")
    assert db_counts(community)["messages"] == 1


def test_ios_system_lines_in_other_languages_are_not_messages(community, tmp_path):
    path = tmp_path / "WhatsApp Chat - Teegruppe.txt"
    path.write_text("[13.03.24, 09:00:00] Teegruppe: \u200eAnn hat Bob hinzugef\u00fcgt.\n"
                    "[13.03.24, 09:01:00] Ann: Hallo!\n"
                    "\u200e[13.03.24, 09:02:00] Bob: \u200eBild weggelassen\n", encoding="utf-8")
    summary = run(community, "whatsapp", path)
    assert db_counts(community)["messages"] == 2  # Ann's and Bob's picture, not the group's notice
    assert sum(summary.report.ignored.values()) == 1

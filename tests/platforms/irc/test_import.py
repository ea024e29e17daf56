"""IRC logs: styles, dates (file name, day-change lines, --date, midnight), and real Ubuntu logs."""

from __future__ import annotations

import glob
import io
import os
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from qunyun.communities.models import Event, Group, Identity, Member
from qunyun.platforms.importing import FormatMismatch, InputProblem
from tests.conftest import shared_data
from tests.platforms.import_helpers import db_counts, event, fixture, run

pytestmark = pytest.mark.django_db(transaction=True)
IRCLOGS = fixture("irc", "irclogs-2024-03-13.txt")
IRSSI = fixture("irc", "#tea/irssi.log")
WEECHAT = fixture("irc", "weechat.log")
ZNC = fixture("irc", "znc_20240315.log")
UNDATED = fixture("irc", "notes.log")


def test_irclogs_style(community):
    summary = run(community, "irc", IRCLOGS, group="#tea", tz="UTC", bots={"ubotu"})
    counts = db_counts(community)
    # 9 messages (incl. two identical lines in one minute, an action, an old-style "=== nick" action,
    # a channel notice), 2 joins, a kick and a part.
    assert (counts["messages"], counts["joins"], counts["leaves"]) == (10, 2, 2)
    assert counts["day_messages"] == 9  # ubotu is a bot
    assert summary.report.skipped == 1 and summary.report.skips[0].location.endswith("irclogs-2024-03-13.txt:17")
    assert summary.report.ignored["nick changes (each nick is its own member; merge members to join them)"] == 1
    kick = event(community, type="leave", detail="removed")
    assert kick.member.display_name == "cat" and kick.actor.display_name == "ann"
    # Lines without a time (joins) take the time before them; a time going back crossed midnight.
    assert event(community, type="join", member__display_name="bob").at == datetime(2024, 3, 13, 9, 0, tzinfo=timezone.utc)
    assert event(community, type="message", text="after midnight").at.date() == date(2024, 3, 14)
    assert Group.objects.get().chat_id == "irc:#tea"
    assert Identity.objects.filter(account_id="irc:#tea/bobby").exists()  # a nick is its own member


def test_irssi_weechat_and_znc_styles(community):
    run(community, "irc", IRSSI, tz="UTC")
    assert Group.objects.get().chat_id == "irc:#tea"  # the channel from the folder name
    assert event(community, type="message", text="morning").at == datetime(2024, 3, 14, 10, 0, tzinfo=timezone.utc)
    assert event(community, type="leave", detail="removed").actor.display_name == "anne"
    run(community, "irc", WEECHAT, ZNC, group="#tea-other", tz="UTC")
    other = Event.objects.filter(group__chat_id="irc:#tea-other")
    assert other.filter(type="message").count() == 5
    assert other.filter(type="join").count() == 2 and other.filter(type="leave").count() == 3
    assert other.get(text="next day").at == datetime(2024, 3, 14, 8, 0, tzinfo=timezone.utc)
    assert other.get(text="hi from znc").at.date() == date(2024, 3, 15)  # date from the file name


def test_the_date_comes_from_the_option_when_the_name_has_none(community):
    with pytest.raises(InputProblem, match="give the day with --date"):
        run(community, "irc", UNDATED)
    run(community, "irc", UNDATED, day=date(2024, 1, 2), tz="Asia/Shanghai")
    # 10:00 in Shanghai is 02:00 UTC.
    assert event(community, type="message").at == datetime(2024, 1, 2, 2, 0, tzinfo=timezone.utc)


def test_reimport_adds_nothing(community):
    run(community, "irc", IRCLOGS, group="#tea")
    before = db_counts(community)
    assert sum(run(community, "irc", IRCLOGS, group="#tea").stored.values()) == 0
    assert db_counts(community) == before


def test_not_an_irc_log(community, tmp_path):
    other = tmp_path / "2024-01-01.log"
    other.write_text("just some words\nmore words\n")
    with pytest.raises(FormatMismatch, match="not an IRC log"):
        run(community, "irc", other)


# --------------------------------------------------------------------------- real Ubuntu logs

_TIMED = re.compile(r"^\[(\d\d):(\d\d)\]")
_NICK = re.compile(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*$")


def _count_ubuntu(files: list[str]) -> dict:
    """Counted with plain string tests, file by file; overlapping lines (same day) counted once."""
    best: dict = {}
    messages_by = Counter()
    people: set = set()
    categories = Counter()
    for path in files:
        day = date.fromisoformat(os.path.basename(path)[:10])
        last = None
        seen = Counter()
        for line in io.StringIO(Path(path).read_text(encoding="utf-8", errors="replace")):  # lines as a file has
            line = line.rstrip()
            timed = _TIMED.match(line)
            if timed:
                minute = int(timed[1]) * 60 + int(timed[2])
                if last is not None and minute < last:
                    day += timedelta(days=1)
                last = minute
            words = line.split()
            if timed:
                kind = "message"
                nick = line[8:].split(">", 1)[0].lstrip("<@+ ").strip() if line[7:9] == " <" else None
                if nick is None:  # "* nick action", "-nick:#chan- notice", "(nick/#chan) op notice"
                    rest = line[7:].strip()
                    nick = rest.split()[1] if rest.startswith("*") else re.split(r"[-:/)]", rest.lstrip("-("))[0]
            elif " has joined " in line:
                kind, nick = "join", line[4:line.find(" [", 5)].strip()
            elif " has left " in line:
                kind, nick = "leave", line[4:line.find(" [", 5)].strip()
            elif " was kicked off " in line:
                kind, nick = "leave", words[1]
                people.add(words[6].lower())
            elif " is now known as " in line:
                kind, nick = "nick", None
            elif _NICK.match(words[1]) and not line.startswith(("=== mode/", "=== netjoined")) \
                    and " changed the topic " not in line:
                kind, nick = "message", words[1]  # the old irclogs action: "=== nick does something"
            else:
                kind, nick = "system", None
            categories[kind] += 1
            seen[(day, line)] += 1
            if nick and seen[(day, line)] > best.get((day, line), (0, None))[0]:
                best[(day, line)] = (seen[(day, line)], kind)
                people.add(nick.casefold())
                messages_by[(kind, nick.casefold())] += 1
    totals = Counter()
    for count, kind in best.values():
        totals[kind] += count
    return {"totals": totals, "people": people, "categories": categories, "by": messages_by}


def test_real_ubuntu_irc_logs_import_with_exact_counts(community):
    root = shared_data("chat-ubuntu-irc")
    files = sorted(glob.glob(os.path.join(root, "dev", "*.raw.txt")) + glob.glob(os.path.join(root, "test", "*.raw.txt"))
                   + sorted(glob.glob(os.path.join(root, "train", "*.raw.txt")))[::10])
    assert len(files) == 36  # all of dev and test, every tenth train sample: 50,587 real lines
    expected = _count_ubuntu(files)
    summary = run(community, "irc", *files, group="#ubuntu", tz="UTC", bots={"ubotu"})
    counts = db_counts(community)
    assert summary.report.skipped == 0
    assert counts["messages"] == expected["totals"]["message"]
    bot = {kind: expected["by"][(kind, "ubotu")] for kind in ("message", "join", "leave")}
    assert counts["joins"] == expected["totals"]["join"]
    assert counts["leaves"] == expected["totals"]["leave"]
    assert counts["day_joins"] == counts["joins"] - bot["join"]  # bots are kept out of the rollups
    assert counts["day_leaves"] == counts["leaves"] - bot["leave"]
    assert summary.report.ignored["nick changes (each nick is its own member; merge members to join them)"] == \
        expected["categories"]["nick"]
    assert counts["members"] + counts["bots"] == len(expected["people"])
    assert bot["message"] > 0 and counts["day_messages"] == counts["messages"] - bot["message"]
    assert Member.objects.get(community=community, is_bot=True).display_name == "ubotu"
    # Importing the same logs again stores nothing.
    assert sum(run(community, "irc", *files[:5], group="#ubuntu", tz="UTC").stored.values()) == 0

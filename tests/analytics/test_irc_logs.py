"""Figures on real IRC logs (../shared/data/chat-ubuntu-irc), checked against a count done here by hand.

The logs go in through the real importer (``qunyun import irc``). Independently, this test reads
the same files with a few regular expressions, applies the definitions of docs/metrics.md in
plain Python, and compares: messages, authors, joins, leaves, every day's figures (in the
community's zone, Asia/Shanghai, 8 hours ahead of the logs' UTC), top members, monthly
retention, conversations and the heatmap.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from qunyun.analytics.report import report_build
from qunyun.analytics.scope import scope_build
from qunyun.communities.services import community_create
from tests.conftest import shared_data

pytestmark = pytest.mark.django_db(transaction=True)

FILES = ("2004-11-15_03", "2005-06-27_12", "2009-02-23_10", "2009-03-03_10", "2011-11-13_02")
BOTS = {"ubotu"}
OFFSET = timedelta(hours=8)  # Asia/Shanghai, no DST in these years

TIMED = re.compile(r"^\[(\d\d):(\d\d)\] (.*)$")
SAYS = re.compile(r"^<([^>]+)> ?(.*)$|^\s*\* (\S+) ")  # "<nick> text" or "* nick does something"
SYSTEM = re.compile(r"^=== (?:\.\.\[topic|mode/)")
JOIN = re.compile(r"^=== (\S+)\s+\[[^\]]*\]\s+has joined")
LEAVE = re.compile(r"^=== (\S+)\s+\[[^\]]*\]\s+has (?:left|quit)")
RENAME = re.compile(r"^=== \S+ is now known as ")
ACTION = re.compile(r"^=== (\S+) \S")


def read_by_hand(folder: Path):
    """``(messages [(utc time, nick)], joins [utc time], leaves [utc time])`` from the raw files."""
    messages, joins, leaves = [], [], []
    for name in FILES:
        day = date.fromisoformat(name[:10])
        last = None
        for line in (folder / f"{name}.raw.txt").read_text(encoding="utf-8", errors="replace").splitlines():
            stamp = TIMED.match(line)
            if stamp:
                moment = datetime(day.year, day.month, day.day, int(stamp[1]), int(stamp[2]))
                if last is not None and moment < last:  # crossed midnight
                    day += timedelta(days=1)
                    moment += timedelta(days=1)
                last, rest = moment, stamp[3]
                said = SAYS.match(rest)
                nick = said and (said[1] or said[3])
                if nick and nick.casefold() not in BOTS:
                    messages.append((moment, nick.casefold()))
                continue
            if last is None or SYSTEM.match(line) or RENAME.match(line):
                continue
            if JOIN.match(line):
                joins.append(last)
            elif LEAVE.match(line):
                leaves.append(last)
            elif (action := ACTION.match(line)) and action[1].casefold() not in BOTS:
                messages.append((last, action[1].casefold()))
    return messages, joins, leaves


@pytest.fixture(scope="module")
def logs():
    return Path(shared_data("chat-ubuntu-irc", "dev"))


def test_report_matches_a_count_by_hand(logs, db):
    from qunyun.platforms.importing import ImportOptions
    from qunyun.platforms.runner import import_run

    community = community_create(slug="ubuntu", name="Ubuntu", time_zone="Asia/Shanghai")
    import_run(community=community, format_name="irc", paths=[str(logs / f"{n}.raw.txt") for n in FILES],
               options=ImportOptions(tz="UTC", group="#ubuntu", bots=frozenset(BOTS)), progress=False)
    report = report_build(scope_build(community=community, default="all"))

    messages, joins, leaves = read_by_hand(logs)
    local = [(t + OFFSET, nick) for t, nick in messages]
    assert report["messages"] == len(messages)
    assert report["authors"] == len({nick for _t, nick in messages})
    assert (report["joins"], report["leaves"]) == (len(joins), len(leaves))

    per_day = defaultdict(lambda: [0, set()])
    for t, nick in local:
        per_day[t.date()][0] += 1
        per_day[t.date()][1].add(nick)
    joins_day = Counter((t + OFFSET).date() for t in joins)
    leaves_day = Counter((t + OFFSET).date() for t in leaves)
    got = {d["date"]: (d["messages"], d["active_members"], d["joins"], d["leaves"])
           for d in report["daily"] if d["messages"] or d["joins"] or d["leaves"]}
    expected = {day.isoformat(): (n, len(who), joins_day.get(day, 0), leaves_day.get(day, 0))
                for day, (n, who) in per_day.items()}
    for day in joins_day.keys() | leaves_day.keys():
        expected.setdefault(day.isoformat(), (0, 0, joins_day.get(day, 0), leaves_day.get(day, 0)))
    assert got == expected

    counts = Counter(nick for _t, nick in messages)
    top = report["top_members"]
    assert [m["messages"] for m in top] == sorted(counts.values(), reverse=True)[:len(top)]
    assert all(counts[m["member"].casefold()] == m["messages"] for m in top)

    first_month = {}
    months_of = defaultdict(set)
    for t, nick in sorted(local):
        month = t.strftime("%Y-%m")
        first_month.setdefault(nick, month)
        months_of[nick].add(month)
    cohorts = {c["cohort"]: c for c in report["retention_monthly"]}
    for month in set(first_month.values()):
        members = [n for n, m in first_month.items() if m == month]
        assert cohorts[month]["size"] == len(members), month
        later = [m for m in cohorts if m > month]
        for index, other in enumerate(later, start=1):
            year, mon = map(int, month.split("-"))
            target = f"{year + (mon - 1 + index) // 12:04d}-{(mon - 1 + index) % 12 + 1:02d}"
            assert cohorts[month]["periods"][index] == sum(1 for n in members if target in months_of[n])
    feb_cohort = cohorts["2009-02"]
    assert feb_cohort["periods"][1] > 0  # people of the February log came back in March

    times = sorted(t for t, _n in local)
    starts = sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] >= timedelta(minutes=30))
    assert report["conversations"]["conversations"] == starts

    grid = [[0] * 24 for _ in range(7)]
    for t, _n in local:
        grid[t.weekday()][t.hour] += 1
    assert report["heatmap"]["messages"] == grid

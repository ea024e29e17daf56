"""Health alerts, each on a history built to trigger it (and only it), with the numbers it must quote."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from qunyun.analytics.health import health_get
from qunyun.analytics.scope import scope_build
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Group
from qunyun.core import events as ev
from tests.analytics.history import local

pytestmark = pytest.mark.django_db(transaction=True)

BIG, MID, SMALL = "fake:big", "fake:mid", "fake:small"


def person(n: int) -> ev.Account:
    return ev.Account(f"fake:p{n}", f"p{n}")


def history() -> list[ev.Event]:
    events: list[ev.Event] = []
    # 160 members join the big group; 60 the middle one; 8 the small one.
    for n in range(160):
        events.append(ev.MemberJoined(chat=BIG, event_id=f"jb{n}", at=local(1, 5, 10), member=person(n)))
    for n in range(200, 260):
        events.append(ev.MemberJoined(chat=MID, event_id=f"jm{n}", at=local(1, 5, 10), member=person(n)))
    for n in range(300, 308):
        events.append(ev.MemberJoined(chat=SMALL, event_id=f"js{n}", at=local(1, 5, 10), member=person(n)))
    # Two core members of the big group: p0 posts twice a day Feb 1 – Mar 2, then stops; p1 goes on.
    for i in range(48):
        day = date(2026, 2, 1) + timedelta(days=i)
        for k in range(2):
            at = local(day.month, day.day, 9 + k)
            if i < 30:
                events.append(ev.MessagePosted(chat=BIG, event_id=f"c0-{i}-{k}", at=at, author=person(0), text="茶经第一章"))
            events.append(ev.MessagePosted(chat=BIG, event_id=f"c1-{i}-{k}", at=at, author=person(1), text="今天喝什么"))
    # The middle group fades: 40, 30, 20, 10 messages in the weeks of Feb 16, Feb 23, Mar 2, Mar 9.
    for week, count in zip((date(2026, 2, 16), date(2026, 2, 23), date(2026, 3, 2), date(2026, 3, 9)), (40, 30, 20, 10)):
        for k in range(count):
            day = week + timedelta(days=k % 7)
            events.append(ev.MessagePosted(chat=MID, event_id=f"m{week}-{k}", at=local(day.month, day.day, 8, k % 60),
                                           author=person(200 + k % 10), text="讨论一下冲泡温度"))
    # The small group turns to water: 30 real messages Feb 21 – Mar 6, then 20 of 30 are "哈哈" Mar 7 – Mar 20.
    for k in range(30):
        day = date(2026, 2, 21) + timedelta(days=k % 14)
        events.append(ev.MessagePosted(chat=SMALL, event_id=f"s1-{k}", at=local(day.month, day.day, 20, k),
                                       author=person(300 + k % 8), text="这款岩茶的焙火怎么样"))
    for k in range(30):
        day = date(2026, 3, 7) + timedelta(days=k % 14)
        events.append(ev.MessagePosted(chat=SMALL, event_id=f"s2-{k}", at=local(day.month, day.day, 20, k),
                                       author=person(300 + k % 8), text="哈哈" if k < 20 else "这款岩茶的焙火怎么样"))
    return events


@pytest.fixture
def health(community):
    community.rules_text = ""  # no rules yet: a circle-sized group then gets a warning
    community.save(update_fields=["rules_text"])
    runtime = Runtime(community, mode="import")
    runtime.store.group_names.update({BIG: "Big", MID: "Middle", SMALL: "Small"})
    runtime.ingest(history())
    Group.objects.filter(community=community, chat_id=BIG).update(settings={"dunbar_band": "small"})
    return health_get(scope_build(community=community, start="2026-03-01", end="2026-03-20"))


def by_kind(report: dict, kind: str) -> list[dict]:
    return [a for a in report["alerts"] if a["kind"] == kind]


def test_dunbar_bands_and_advice(health):
    sizes = {g["group"]: (g["members_now"], g["band"]) for g in health["groups"]}
    assert sizes == {"Big": (160, "large"), "Middle": (60, "circle"), "Small": (8, "small")}
    dunbar = {(a["group"], a["title"]) for a in by_kind(health, "dunbar")}
    assert ("Big", "Big is beyond one real circle") in dunbar
    assert ("Big", "Big is outside its intended band") in dunbar
    middle = [a for a in by_kind(health, "dunbar") if a["group"] == "Middle"][0]
    assert middle["severity"] == "warning" and "no rules text" in middle["explanation"]  # the community has none
    assert not [a for a in by_kind(health, "dunbar") if a["group"] == "Small"]


def test_silent_core_members(health):
    (alert,) = by_kind(health, "silent_core")
    assert [m["member"] for m in alert["members"]] == ["p0"]
    assert alert["members"][0]["last_message_day"] == "2026-03-02"
    assert alert["numbers"] == {"silent": 1, "core_as_of": "2026-03-06", "days": 14}
    assert alert["explanation"] == "1 member who was core on 2026-03-06 has posted nothing in the 14 days since."


def test_silent_core_in_one_group_reads_the_days(community):
    runtime = Runtime(community, mode="import")
    runtime.store.group_names.update({BIG: "Big", MID: "Middle", SMALL: "Small"})
    runtime.ingest(history())
    report = health_get(scope_build(community=community, start="2026-03-01", end="2026-03-18", groups=["Big"]))
    (alert,) = by_kind(report, "silent_core")  # not the end of the data: the slower, exact path
    assert [m["member"] for m in alert["members"]] == ["p0"] and alert["numbers"]["core_as_of"] == "2026-03-04"


def test_water_drift(health):
    (alert,) = by_kind(health, "noise_share")
    assert alert["group"] == "Small" and alert["numbers"]["kind"] == "water"
    assert alert["numbers"]["share_last_14_days"] == round(20 / 30, 4)
    assert alert["numbers"]["share_previous_14_days"] == 0.0
    assert "67% of the last 14 days' 30 messages" in alert["explanation"]


def test_dying_group(health):
    (alert,) = by_kind(health, "dying")
    assert alert["group"] == "Middle"
    assert alert["numbers"] == {"weeks": ["2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09"],
                                "messages": [40, 30, 20, 10]}
    assert "40 → 30 → 20 → 10" in alert["explanation"]


def test_group_day_reads_answer_from_the_covering_indexes(community):
    """The health sums and the daily totals read the group-day rollups' counts from their community
    indexes alone (SQLite): a range of days of every group, without fetching each row (at 10M the
    health sums took 94 ms fetching rows, 33 ms from the index)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qunyun.analytics import sources

    if connection.vendor != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    runtime = Runtime(community, mode="import")
    runtime.ingest(history())
    scope = scope_build(community=community, start="2026-03-01", end="2026-03-20")
    with CaptureQueriesContext(connection) as seen:
        health_get(scope)
        sources.day_totals(scope, date(2026, 3, 1), date(2026, 3, 20))
    reads = [q["sql"] for q in seen.captured_queries if "FROM qunyun_group_day" in q["sql"]]
    # The messages and the mix of the health sums, the daily totals (and the last day of data).
    assert len([statement for statement in reads if "SUM(" in statement]) == 3
    with connection.cursor() as cursor:
        for statement in reads:
            cursor.execute("EXPLAIN QUERY PLAN " + statement)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "COVERING INDEX group_day_community_cover" in plan or \
                "COVERING INDEX group_day_mix_community_cover" in plan, (statement, plan)

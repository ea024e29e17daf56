"""Every figure of the hand-made "tea" history (tests/analytics/history.py), checked by hand."""

from __future__ import annotations

import pytest

from qunyun.analytics.cohorts import lifecycle_get, retention_get
from qunyun.analytics.config import layer_thresholds_set
from qunyun.analytics.funnel import funnel_get
from qunyun.analytics.heatmap import heatmap_get
from qunyun.analytics.layers import layer_members, layers_get
from qunyun.analytics.leaders import leaders_get
from qunyun.analytics.overview import daily_series, overview_get
from qunyun.analytics.report import report_build
from qunyun.analytics.rollups import rollups_rebuild
from qunyun.analytics.scope import AnalyticsError, scope_build
from qunyun.analytics.talk import talk_get
from qunyun.bus.runtime import Runtime
from qunyun.communities.services import channel_create
from tests.analytics.history import POSTER_LINK, tea_history

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tea(community):
    channel_create(community=community, code="poster", name="Poster", invite_link=POSTER_LINK)
    Runtime(community, mode="import").ingest(tea_history(), batch_size=4)
    return community


@pytest.fixture
def scope(tea):
    return scope_build(community=tea, start="2026-03-01", end="2026-03-10")


def test_overview(scope):
    o = overview_get(scope)
    assert (o["messages"], o["authors"], o["active_members"]) == (7, 2, 4)  # Bob, Cat post; Dan, Ann react
    assert (o["joins"], o["leaves"], o["net_growth"]) == (3, 2, 1)  # Bob twice, Fay; Fay and Bob leave
    assert o["new_members"] == 4  # Bob, Cat, Fay (Mar 2), Dan (Mar 4); Ann and Eve came before
    assert o["members_now"] == 5  # Ann, Bob (back), Cat, Dan, Eve; Fay left; the bot is no member
    assert o["messages_per_day"] == 0.7 and o["quiet_days"] == 6
    assert (o["dau"], o["wau"], o["mau"]) == (2, 4, 5)
    assert o["average_dau_30"] == round(11 / 30, 2) and o["dau_mau"] == round((11 / 30) / 5, 4)
    assert o["active_days"]["last_7_days"] == {"1": 3, "2": 1, "3": 0, "4": 0, "5": 0, "6": 0, "7": 0}
    dist30 = {k: v for k, v in o["active_days"]["last_30_days"].items() if v}
    assert dist30 == {"1": 2, "2": 1, "3": 1, "4": 1}


def test_daily_rows_use_local_days(scope):
    daily = {row["date"]: row for row in daily_series(scope)}
    assert len(daily) == 10
    # Bob's 23:59 and 00:01 messages are one UTC day but two local days.
    assert (daily["2026-03-02"]["messages"], daily["2026-03-02"]["active_members"], daily["2026-03-02"]["joins"]) == (2, 2, 2)
    assert (daily["2026-03-03"]["messages"], daily["2026-03-03"]["leaves"]) == (2, 1)
    assert (daily["2026-03-04"]["messages"], daily["2026-03-04"]["active_members"]) == (1, 2)
    for quiet in ("2026-03-01", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"):
        assert daily[quiet]["messages"] == 0
    assert (daily["2026-03-09"]["joins"], daily["2026-03-09"]["active_members"], daily["2026-03-09"]["authors"]) == (1, 1, 0)
    assert daily["2026-03-02"]["new_members"] == 3 and daily["2026-03-04"]["new_members"] == 1


def test_heatmap(scope):
    h = heatmap_get(scope)
    assert h["days_per_weekday"] == [2, 2, 1, 1, 1, 1, 2]  # Mar 1–10: Sun 1 … Tue 10
    cells = {(w, hour): n for w in range(7) for hour, n in enumerate(h["messages"][w]) if n}
    assert cells == {(0, 10): 1, (0, 23): 1, (1, 0): 1, (1, 8): 1, (2, 12): 1, (1, 20): 2}
    assert h["member_hours"][2][12] == 2 and h["active_members"][2][12] == 2.0  # Dan reacts, Cat posts, one Wednesday
    assert h["active_members"][1][20] == 1.0  # Bob and Cat on one of two Tuesdays
    assert h["active_members"][0][12] == 0.5  # Ann's reaction on one of two Mondays


def test_lifecycle_weekly(scope):
    rows = {r["period"]: r for r in lifecycle_get(scope, period="week")}
    assert list(rows) == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert {k: rows["2026-02-23"][k] for k in ("new", "returning", "resurrecting", "dormant")} == \
        {"new": 0, "returning": 0, "resurrecting": 0, "dormant": 1}  # Ann's Feb 20 week was the one before
    assert {k: rows["2026-03-02"][k] for k in ("new", "returning", "resurrecting", "dormant")} == \
        {"new": 3, "returning": 0, "resurrecting": 0, "dormant": 0}
    last = rows["2026-03-09"]
    assert (last["new"], last["returning"], last["resurrecting"], last["dormant"], last["active"]) == (0, 2, 1, 1, 3)
    assert last["partial"] and not rows["2026-03-02"]["partial"]
    for r in rows.values():
        assert r["new"] + r["returning"] + r["resurrecting"] == r["active"]


def test_retention_monthly_message_and_activity_bases(tea):
    scope = scope_build(community=tea, start="2026-02-01", end="2026-03-10")
    by_message = {c["cohort"]: c for c in retention_get(scope, period="month", basis="message")["cohorts"]}
    assert (by_message["2026-02"]["size"], by_message["2026-02"]["periods"]) == (2, [2, 0])  # Eve, Ann
    assert (by_message["2026-03"]["size"], by_message["2026-03"]["periods"]) == (2, [2])  # Bob, Cat
    by_activity = {c["cohort"]: c for c in retention_get(scope, period="month", basis="activity")["cohorts"]}
    assert by_activity["2026-02"]["periods"] == [2, 1]  # Ann's reaction in March counts as activity
    assert by_activity["2026-03"]["size"] == 3  # Dan too


def test_retention_weekly_in_period_and_or_later(tea):
    scope = scope_build(community=tea, start="2026-02-16", end="2026-03-10")
    cohorts = {c["cohort"]: c for c in retention_get(scope, period="week", basis="activity")["cohorts"]}
    assert list(cohorts) == ["2026-02-16", "2026-02-23", "2026-03-02", "2026-03-09"]
    ann = cohorts["2026-02-16"]
    assert (ann["size"], ann["periods"], ann["or_later"]) == (1, [1, 0, 0, 1], [1, 1, 1, 1])
    march = cohorts["2026-03-02"]
    assert (march["size"], march["periods"], march["or_later"]) == (3, [3, 2], [3, 2])
    joins = {c["cohort"]: c for c in retention_get(scope, period="week", basis="join")["cohorts"]}
    assert (joins["2026-03-02"]["size"], joins["2026-03-02"]["periods"]) == (2, [1, 1])  # Bob and Fay; Fay silent


def test_retention_by_channel(tea):
    scope = scope_build(community=tea, start="2026-03-01", end="2026-03-10")
    rows = {r["channel"]: r for r in retention_get(scope, period="week", basis="join")["by_channel"]}
    assert rows["poster"]["size"] == 2
    assert rows["poster"]["periods"][0] == {"n": 1, "eligible": 2, "retained": 1, "rate": 0.5}


def test_channel_filter(tea):
    scope = scope_build(community=tea, start="2026-03-01", end="2026-03-10", channel="poster")
    o = overview_get(scope)
    assert (o["messages"], o["authors"], o["joins"], o["leaves"], o["members_now"]) == (3, 1, 3, 2, 1)


def test_funnel_by_channel(scope):
    f = funnel_get(scope)
    assert [c["channel"] for c in f["channels"]] == ["poster"]
    poster = f["channels"][0]
    assert {k: poster[k] for k in ("acquired", "activated", "retained", "retention_eligible", "converted", "referred")} \
        == {"acquired": 2, "activated": 1, "retained": 0, "retention_eligible": 0, "converted": 1, "referred": 1}
    assert poster["activation_rate"] == 0.5 and poster["retention_rate"] is None


def test_layers_default_and_custom_thresholds(scope, tea):
    layers = layers_get(scope)
    # Cathy was active on 4 days (the default minimum for "active"); Eve, Ann and Bob posted on fewer.
    assert layers["counts"] == {"core": 0, "active": 1, "occasional": 3, "lurker": 1, "churned": 1}
    assert layers["window"] == {"from": "2026-02-09", "to": "2026-03-10"}
    layer_thresholds_set(community=tea, values={"core_min_active_days": 3, "core_min_messages": 3,
                                                "active_min_active_days": 2})
    assert layers_get(scope)["counts"] == {"core": 2, "active": 1, "occasional": 1, "lurker": 1, "churned": 1}
    core = layer_members(scope, "core")
    assert [(m["member"], m["messages"], m["active_days"]) for m in core["members"]] == [("Cathy", 4, 4), ("Bob", 3, 3)]
    churned = layer_members(scope, "churned")["members"]
    assert [(m["member"], m["in_group"]) for m in churned] == [("Fay", False)]


def test_conversations_and_answers(scope):
    t = talk_get(scope)
    assert t["messages"] == 7 and t["conversations"] == 5
    # c1 (reply b1), b1 (reply c2), b3 (Cat mentions Bob 10 minutes later); c3's mention of Bob is too late for b2.
    assert t["answered"] == 3 and t["answered_share"] == round(3 / 7, 4)
    assert (t["questions"], t["questions_answered"], t["questions_answered_24h_share"]) == (1, 1, 1.0)
    assert t["median_first_answer_seconds"] == 13 * 3600 + 59 * 60
    per_day = {d["date"]: d["conversations"] for d in t["daily"] if d["conversations"]}
    assert per_day == {"2026-03-02": 2, "2026-03-03": 1, "2026-03-04": 1, "2026-03-10": 1}


def test_opinion_leaders_with_evidence(scope):
    leaders = leaders_get(scope)
    assert [x["member"] for x in leaders] == ["Bob", "Cathy"]
    bob = leaders[0]
    assert (bob["replies_received"], bob["mentions_received"], bob["answered_by_members"]) == (1, 2, 1)
    assert bob["answered_by"] == [{"member_id": bob["answered_by"][0]["member_id"], "member": "Cathy", "count": 3}]
    assert [a["member"] for a in bob["answers"]] == ["Cathy"]


def test_report_json_fields(tea):
    scope = scope_build(community=tea, default="all")
    assert (scope.start.isoformat(), scope.end.isoformat()) == ("2026-02-10", "2026-03-10")
    report = report_build(scope)
    for key in ("messages", "authors", "joins", "leaves", "daily", "top_members", "retention_monthly",
                "lifecycle_weekly", "layers", "opinion_leaders", "health"):
        assert key in report
    assert (report["messages"], report["authors"], report["joins"], report["leaves"]) == (9, 4, 4, 2)
    assert report["top_members"] == [
        {"member": "Cathy", "member_id": report["top_members"][0]["member_id"], "messages": 4},
        {"member": "Bob", "member_id": report["top_members"][1]["member_id"], "messages": 3},
        {"member": "Ann", "member_id": report["top_members"][2]["member_id"], "messages": 1},
        {"member": "Eve", "member_id": report["top_members"][3]["member_id"], "messages": 1},
    ]
    assert report["retention_monthly"] == [
        {"cohort": "2026-02", "size": 2, "periods": [2, 0], "or_later": [2, 0]},
        {"cohort": "2026-03", "size": 2, "periods": [2], "or_later": [2]},
    ]
    assert sum(d["messages"] for d in report["daily"]) == report["messages"]
    assert report["daily"][0] == {"date": "2026-02-10", "messages": 1, "reactions": 0, "active_members": 1,
                                  "authors": 1, "joins": 0, "leaves": 0, "net": 0, "new_members": 1}


def test_figures_are_the_same_after_a_rebuild(tea, scope):
    before = report_build(scope)
    rollups_rebuild(tea)
    after = report_build(scope)
    before.pop("generated_at"), after.pop("generated_at")
    assert after == before


def test_scope_errors_are_one_line(tea):
    with pytest.raises(AnalyticsError, match="no group 'nope'"):
        scope_build(community=tea, groups=["nope"])
    with pytest.raises(AnalyticsError, match="is not a date"):
        scope_build(community=tea, start="March")
    with pytest.raises(AnalyticsError, match="after to"):
        scope_build(community=tea, start="2026-03-10", end="2026-03-01")
    with pytest.raises(AnalyticsError, match="no channel 'tv'.*known: poster"):
        scope_build(community=tea, channel="tv")

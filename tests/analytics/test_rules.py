"""The pure rules behind the figures, on small inputs: periods, cohorts, lifecycle, layers, graph, alerts."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from qunyun.analytics import charts
from qunyun.analytics.cohorts import lifecycle_table, retention_table
from qunyun.analytics.config import LayerThresholds
from qunyun.analytics.definitions import DEFINITIONS
from qunyun.analytics.health import dying_check, share_alert
from qunyun.analytics.layers import layer_of
from qunyun.analytics.leaders import pagerank
from qunyun.analytics.periods import add_months, period_index, periods_between, week_start
from qunyun.analytics.rollups import message_has_link, message_is_water
from qunyun.analytics.talk import answers_find

D = date


def test_weeks_start_on_monday_and_months_roll_over_years():
    assert week_start(D(2026, 3, 8)) == D(2026, 3, 2)  # a Sunday belongs to the week before
    assert week_start(D(2026, 3, 9)) == D(2026, 3, 9)
    assert add_months(D(2025, 12, 31), 1) == D(2026, 1, 1) and add_months(D(2026, 1, 15), -1) == D(2025, 12, 1)
    assert periods_between(D(2026, 1, 31), D(2026, 3, 1), "month") == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert period_index(D(2027, 2, 1), D(2026, 11, 1), "month") == 3


def test_retention_in_period_and_or_later():
    m = [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1), D(2026, 4, 1)]
    rows = retention_table(
        cohort_of={1: m[0], 2: m[0], 3: m[0], 4: m[1]},
        active={1: {m[0], m[2]}, 2: {m[0], m[1]}, 3: {m[0]}, 4: {m[1], m[3]}},
        cohorts=m[:2], last=m[3], period="month")
    jan, feb = rows
    assert (jan["size"], jan["periods"], jan["or_later"]) == (3, [3, 1, 1, 0], [3, 2, 1, 0])
    assert (feb["size"], feb["periods"], feb["or_later"]) == (1, [1, 0, 1], [1, 1, 1])
    assert jan["rates"][1] == round(1 / 3, 4)


def test_lifecycle_adds_up():
    w = [D(2026, 3, 2) + timedelta(days=7 * i) for i in range(4)]
    active = {w[0]: {1, 2}, w[1]: {2, 3}, w[2]: set(), w[3]: {1, 3, 4}}
    rows = lifecycle_table(active_by_period=active, first_period={1: w[0], 2: w[0], 3: w[1], 4: w[3]},
                           periods=w[1:], period="week")
    assert [(r["new"], r["returning"], r["resurrecting"], r["dormant"]) for r in rows] == [
        (1, 1, 0, 1), (0, 0, 0, 2), (1, 0, 2, 0)]


def test_layer_rules_and_boundaries():
    t = LayerThresholds()
    assert layer_of(active_days=12, messages=30, replies=0, current=True, thresholds=t) == "core"
    assert layer_of(active_days=12, messages=5, replies=10, current=True, thresholds=t) == "core"  # contribution
    assert layer_of(active_days=11, messages=300, replies=50, current=True, thresholds=t) == "active"
    assert layer_of(active_days=4, messages=1, replies=0, current=False, thresholds=t) == "active"
    assert layer_of(active_days=4, messages=0, replies=0, current=True, thresholds=t) == "lurker"  # reactions only
    assert layer_of(active_days=1, messages=1, replies=0, current=True, thresholds=t) == "occasional"
    assert layer_of(active_days=0, messages=0, replies=0, current=False, thresholds=t) == "churned"


def test_dying_and_share_alerts():
    assert dying_check([100, 80, 70, 60], last_to_first=0.6, min_first=20)
    assert not dying_check([100, 80, 80, 50], last_to_first=0.6, min_first=20)  # not falling every week
    assert not dying_check([100, 90, 80, 70], last_to_first=0.6, min_first=20)  # not far enough
    assert not dying_check([10, 8, 6, 2], last_to_first=0.6, min_first=20)  # too small to say
    assert share_alert(30, 50, 10, 50, level=0.5, rise=0.1) == (True, 0.6, 0.2)
    assert share_alert(30, 50, 27, 50, level=0.5, rise=0.1)[0] is False  # high but not rising
    assert share_alert(9, 10, 0, 10, level=0.5, rise=0.1)[0] is False  # too few messages


def test_pagerank_favours_the_member_everyone_answers():
    # 1, 2, 3 all answer 4; 4 answers 1. Message count plays no part.
    ranks = pagerank({(1, 4): 1, (2, 4): 1, (3, 4): 1, (4, 1): 1})
    assert max(ranks, key=ranks.get) == 4 and ranks[1] > ranks[2] == ranks[3]
    assert abs(sum(ranks.values()) - 1) < 1e-9


def test_answers_reply_or_mention_within_a_day_never_oneself():
    t0 = datetime(2026, 3, 2, tzinfo=timezone.utc)

    def row(minutes, member, mid, reply_to="", mentions=(), group=1):
        return (group, t0 + timedelta(minutes=minutes), t0.date(), member, mid, reply_to, None, list(mentions), False)

    rows = [
        row(0, 1, "a"),
        row(1, 1, "b", reply_to="a"),  # answering oneself is no answer
        row(40, 2, "c", mentions=[1]),  # answers 1's latest message ("b")
        row(60 * 30, 3, "d", mentions=[2]),  # 2's latest is more than 24 h old
        row(0, 9, "a", group=2),  # another group: silence and ids start afresh
    ]
    answered, starts = answers_find(rows)
    assert answered == [None, t0 + timedelta(minutes=40), None, None, None]
    assert starts == [True, False, True, True, True]


def test_water_and_links():
    assert message_is_water("text", " 哈哈 ") and message_is_water("text", "👍") and message_is_water("sticker", "")
    assert not message_is_water("text", "哈哈哈哈") and not message_is_water("image", "")
    assert message_has_link("text", "see WWW.example.com") and message_has_link("link", "")
    assert not message_has_link("text", "no url here")


def test_charts_escape_labels_and_draw_marks():
    svg = charts.bar_chart(["<b>"], [("joins", [3]), ("leaves", [-1])], title="t & t")
    assert "&lt;b&gt;" in svg and "t &amp; t" in svg and svg.count('class="mark"') == 2
    assert "chart-empty" in charts.line_chart(["a"], [("x", [0])], title="empty")


def test_every_definition_has_its_anchor_in_docs():
    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z_0-9]+)"></a>', text))
    assert set(DEFINITIONS) <= anchors, set(DEFINITIONS) - anchors

"""The fast paths agree with the plain rules: SQL counts vs. the same definitions applied to sets.

A seeded six-week history of a lively group (the browser test's), many scopes and as-of dates.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from qunyun.analytics import sources
from qunyun.analytics.cohorts import lifecycle_get, lifecycle_table, retention_get, retention_table
from qunyun.analytics.config import layer_thresholds
from qunyun.analytics.layers import layers_compute, layers_count
from qunyun.analytics.periods import period_start, periods_between, previous_period
from qunyun.analytics.scope import scope_build
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Group
from qunyun.communities.services import channel_create
from tests.analytics.test_dashboard_browser import busy_history

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def busy(community):
    channel_create(community=community, code="poster", name="Poster", invite_link="https://t.me/+poster")
    events = busy_history(seed=11)
    # A second group: the same people, a few weeks of it, so group filters and cross-group distinct matter.
    second = [replace(e, chat="fake:room2", event_id=f"2-{e.event_id}")
              for e in events[::3] if e.type in ("message", "join")]
    Runtime(community, mode="import").ingest(events + second)
    return community


def scopes(community):
    group = Group.objects.get(community=community, chat_id="fake:room2")
    for end in ("2026-02-15", "2026-02-28", "2026-03-10"):
        yield scope_build(community=community, start="2026-01-26", end=end)
        yield scope_build(community=community, start="2026-02-09", end=end, groups=[group.pk])
        yield scope_build(community=community, start="2026-02-01", end=end, channel="poster")


def test_layer_counts_match_the_full_classification(busy):
    thresholds = layer_thresholds(busy)
    for scope in scopes(busy):
        full = Counter(layer for layer, _f, _c in layers_compute(scope, scope.end, thresholds).values())
        assert layers_count(scope, scope.end, thresholds) == full, scope


def _sets(scope, period):
    active = defaultdict(set)
    first = periods_between(scope.start, scope.end, period)[0]
    for member, start, messages, reactions in sources.member_periods(scope, period, previous_period(first, period),
                                                                       scope.end):
        if messages or reactions:
            active[start].add(member)
    return active


def test_lifecycle_in_sql_matches_the_rule_on_sets(busy):
    for scope in scopes(busy):
        for period in ("week", "month"):
            firsts = sources.first_days(scope, scope.end)
            expected = lifecycle_table(
                active_by_period=_sets(scope, period),
                first_period={m: period_start(v[0], period) for m, v in firsts.items() if v[0]},
                periods=periods_between(scope.start, scope.end, period), period=period)
            got = [{k: v for k, v in row.items() if k != "partial"} for row in lifecycle_get(scope, period=period)]
            assert got == expected, (scope, period)


def test_clipped_period_counts_from_the_window_match_a_direct_count(busy):
    """Distinct members of a period the range cuts are read off the range's member window (minus those
    active only in the few days left out); that must equal counting the period's days directly."""
    for scope in scopes(busy):
        span = (scope.end - scope.start).days
        for k in (0, 1, 3, span // 2, span - 1, span):
            for first, last in ((scope.start, scope.end - timedelta(days=k)), (scope.start + timedelta(days=k), scope.end)):
                if first > last:
                    continue
                with sources.memo():
                    expected = sources.distinct_members(scope, first, last)
                    got = sources.period_active_clipped(scope, "month", first - timedelta(days=1), first, last)
                assert got == expected, (scope, first, last)


def test_active_day_counts_match_the_member_window(busy):
    """The distribution of active days counted in the database (distinct days per member) equals
    counting the members' windows, for day-only ranges and ranges holding whole weeks."""
    for scope in scopes(busy):
        for days_back in (0, 3, 6, 13, 29):
            first = scope.end - timedelta(days=days_back)
            with sources.memo():
                window = sources.member_window(scope, first, scope.end)
                assert sources.window_day_counts(scope, first, scope.end) == Counter(v[0] for v in window.values()), \
                    (scope, first)


def test_retention_cohort_path_matches_the_rule_on_sets(busy):
    for scope in scopes(busy):
        for period in ("week", "month"):
            for basis, position in (("activity", 0), ("message", 1), ("join", 2)):
                firsts = sources.first_days(scope, scope.end)
                cohorts = periods_between(scope.start, scope.end, period)
                active = defaultdict(set)
                for member, start, messages, reactions in sources.member_periods(scope, period, cohorts[0], scope.end):
                    if messages or (basis != "message" and reactions):
                        active[member].add(start)
                expected = retention_table(
                    cohort_of={m: period_start(v[position], period) for m, v in firsts.items() if v[position]},
                    active=active, cohorts=cohorts, last=period_start(scope.end, period), period=period)
                assert retention_get(scope, period=period, basis=basis)["cohorts"] == expected, (scope, period, basis)


def test_memo_gives_the_same_answers(busy):
    scope = scope_build(community=busy, start="2026-01-26", end="2026-03-10")
    from qunyun.analytics.dashboard import rollup_figures

    plain = rollup_figures(scope)
    with sources.memo():
        assert rollup_figures(scope) == plain
    assert date(2026, 3, 10) - timedelta(days=29) == date(2026, 2, 9)


def test_reply_edge_rollup_matches_the_rule_on_messages(busy):
    from qunyun.analytics.leaders import edges_from_rows

    for scope in scopes(busy):
        if scope.channel_id is not None:
            continue
        rows = sources.message_rows(scope, scope.start, scope.end)
        expected = edges_from_rows(rows, scope.start, scope.end, excluded=sources.bot_ids(scope))
        assert sorted(sources.reply_edges(scope, scope.start, scope.end)) == expected


def test_kept_conversation_figures_match_the_log_and_follow_new_messages(busy):
    from qunyun.analytics.models import TalkDay
    from qunyun.analytics.talk import talk_compute, talk_get
    from qunyun.core import events as ev
    from tests.analytics.history import local

    for scope in scopes(busy):
        if scope.channel_id is not None:
            continue
        from_log = talk_compute(sources.message_rows(scope, scope.start - timedelta(days=1), scope.end),
                                scope.start, scope.end)
        assert talk_get(scope) == from_log  # computed and kept
        assert talk_get(scope) == from_log  # read back
    assert TalkDay.objects.filter(community=busy).exists()
    scope = scope_build(community=busy, start="2026-02-09", end="2026-03-10")
    before = talk_get(scope)
    # A question late on Feb 20 and its answer the next morning (a new day invalidates the day before).
    asker, helper = ev.Account("fake:u3", "Mei"), ev.Account("fake:u4", "老王")
    Runtime(busy, mode="import").ingest([
        ev.MessagePosted(chat="fake:room1", event_id="late-q", at=local(2, 20, 23, 50), author=asker, text="有人在吗?"),
        ev.MessagePosted(chat="fake:room1", event_id="late-a", at=local(2, 21, 8, 0), author=helper, text="在",
                         reply_to="late-q"),
    ])
    after = talk_get(scope)
    assert after["questions"] == before["questions"] + 1
    assert after["answered"] == before["answered"] + 1
    assert after == talk_compute(sources.message_rows(scope, scope.start - timedelta(days=1), scope.end),
                                 scope.start, scope.end)


def test_funnel_from_rollups_matches_the_log(busy):
    from qunyun.analytics.funnel import funnel_get

    for scope in scopes(busy):  # (with a group filter: the joiners from the members' firsts per group)
        assert funnel_get(scope) == funnel_get(scope, from_events=True), scope


def test_first_days_in_groups_match_the_log(busy):
    """A member's first active, message and join days in a set of groups, from the per-group firsts,
    equal the earliest events in those groups' log (bots, system lines and later days left out)."""
    from qunyun.communities.models import Event

    groups = list(Group.objects.filter(community=busy).values_list("pk", flat=True))
    poster = scope_build(community=busy, start="2026-02-01", end="2026-03-10", channel="poster").channel_id
    assert len(groups) == 2
    for chosen in ([groups[0]], [groups[1]], groups):
        for end in ("2026-02-11", "2026-03-10"):
            for channel in (None, "poster"):
                scope = scope_build(community=busy, start="2026-02-01", end=end, groups=chosen, channel=channel)
                expected: dict[int, list] = {}
                log = Event.objects.filter(community=busy, group_id__in=chosen, member__is_bot=False, day__lte=end)
                if channel:
                    log = log.filter(member__channel_id=poster)
                for member, kind, day, system in log.values_list("member_id", "type", "day", "kind").order_by("at"):
                    row = expected.setdefault(member, [None, None, None])
                    active = kind == "reaction" or (kind == "message" and system != "system")
                    for position, counts in ((0, active), (1, active and kind == "message"), (2, kind == "join")):
                        if counts and row[position] is None:
                            row[position] = day
                expected = {m: tuple(v) for m, v in expected.items() if v != [None, None, None]}
                got = sources.first_days(scope, scope.end)
                assert got == expected, (chosen, end, channel)
                assert any(v[2] for v in got.values()) and any(v[1] for v in got.values())


def test_member_window_from_whole_weeks_equals_the_member_days(busy):
    """Whole weeks come from the member-week rows, the days around them from member-days: the same figures."""
    from qunyun.analytics.sources import activity

    everyone = scope_build(community=busy, start="2026-01-26", end="2026-03-10")
    channel = scope_build(community=busy, start="2026-01-26", end="2026-03-10", channel="poster")
    for scope in (everyone, channel):
        for first, last in ((date(2026, 2, 1), date(2026, 3, 2)), (date(2026, 2, 2), date(2026, 3, 1)),
                            (date(2026, 2, 4), date(2026, 2, 24)), (date(2026, 2, 10), date(2026, 2, 15))):
            statement, params = activity._day_window_sql(scope, first, last)
            plain = {m: [int(d), int(n), int(r), int(x)] for m, d, n, r, x in sources._query(statement, params)}
            assert plain and sources.member_window(scope, first, last) == plain, (scope, first, last)


def test_goals_on_the_dashboard_are_the_communities_goal_progress(busy):
    """Without a filter the dashboard passes the figures it read already; the progress is the same."""
    from qunyun.analytics.report import goals_get
    from qunyun.communities.models import Goal
    from qunyun.communities.selectors import goals_progress
    from qunyun.communities.services import goal_create

    from qunyun.bus.runtime import Runtime
    from qunyun.communities.merging import member_merge
    from qunyun.communities.models import Member
    from qunyun.core import events as ev

    # A bot in the group and two accounts of one person merged: neither counts twice as a member now.
    bot = ev.Account("fake:helperbot", "Helper", is_bot=True)
    Runtime(busy, mode="import").ingest([
        ev.MemberJoined(chat="fake:room1", event_id="bot-join", at=datetime(2026, 2, 3, 9, tzinfo=timezone.utc), member=bot),
        ev.MessagePosted(chat="fake:room1", event_id="bot-hi", at=datetime(2026, 2, 3, 9, 1, tzinfo=timezone.utc),
                         author=bot, text="hi")])
    source, target = Member.objects.filter(community=busy, is_bot=False).order_by("pk")[:2]
    member_merge(source=source, target=target)
    for metric in (Goal.Metric.MEMBERS, Goal.Metric.WEEKLY_ACTIVE, Goal.Metric.WEEKLY_ACTIVE_RATE,
                   Goal.Metric.MESSAGES_PER_DAY):
        goal_create(community=busy, title=str(metric), target=40, due=date(2026, 6, 1), metric=metric,
                    start=date(2026, 1, 1))
    for scope in list(scopes(busy)) + [scope_build(community=busy, start="2026-02-25", end="2026-02-28")]:
        with sources.memo():
            shown = [(g["metric"], g["current"], g["status"]) for g in goals_get(scope)]
        plain = [(p.goal.metric, p.current, p.status) for p in goals_progress(busy, today=scope.end)]
        assert shown == plain and all(current is not None for _m, current, _s in shown), scope

"""What an operator sees on the community, member and group pages, in English and Chinese."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from qunyun.bus.adapters import FakeAdapter
from qunyun.bus.outbox import outbox_run_due
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Goal
from qunyun.communities.selectors import community_figures, dunbar_band, goals_progress
from qunyun.core import events as ev
from qunyun.core.decisions import Mute, NotifyOperator
from tests.console.conftest import TEA, TODAY, t
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    return client


def test_the_community_page_shows_profile_figures_goals_groups_and_channels(tea, operator):
    response = operator.get("/c/tea/")
    html = response.content.decode()
    for text in ("Chinese tea, brewed well", "Tea drinkers in Shanghai", "Learn to brew; meet people who care",
                 "一杯好茶", "Lin", "Asia/Shanghai", "1. Be kind. 2. No ads."):
        assert text in html
    figures = response.context["figures"]
    assert (figures.members_now, figures.weekly_active, figures.messages_7d) == (4, 2, 8)
    assert 'data-kpi="members_now">4<' in html
    goals = {p.goal.title: p for p in response.context["goals"]}
    assert (goals["300 members"].current, goals["300 members"].status) == (4, "behind")
    assert (goals["Weekly active 4"].current, goals["Weekly active 4"].percent) == (2, 50)
    assert 'aria-valuenow="50"' in html and "102 days left" in html
    groups = {g.group.name: g for g in response.context["groups"]}
    assert (groups["Tea Room"].members_now, groups["Tea Room"].group.size_cap, groups["Tea Room"].band) == (3, 500, "small")
    assert (groups["Matcha Club"].members_now, groups["Matcha Club"].messages_7d) == (2, 2)
    assert "Poster QR" in html and "poster" in html


def test_recent_decisions_show_dry_run_ones_and_notifications_show_after_execution(tea, operator):
    def rule(event, ctx):
        if "buy" in event.text:
            yield Mute(chat=event.chat, member=event.author.id, until=event.at + timedelta(days=1), reason="spam.ads")
            yield NotifyOperator(chat=event.chat, text=f"{ctx.member.display_name} advertised", severity="warning")

    handlers = {ev.MessagePosted: (rule,)}
    Runtime(tea, handlers=handlers, dry_run=True, clock=lambda: t(3, 20, 1)).ingest([message("d1", 2, t(3, 20, 1), chat=TEA, text="buy now",
                                                                  name="Bob")])
    Runtime(tea, handlers=handlers, clock=lambda: t(3, 20, 2)).ingest([message("d2", 1, t(3, 20, 2), chat=TEA, text="buy tea", name="Ann")])
    outbox_run_due(adapters={"fake": FakeAdapter()}, now=t(3, 20, 3))

    response = operator.get("/c/tea/")
    rows = response.context["decisions"]
    dry = [r for r in rows if r.item.status == "dry_run"]
    assert {(r.item.kind, r.member_name, r.group_name) for r in dry} == {("mute", "Bob", "Tea Room"),
                                                                          ("notify", "", "Tea Room"),
                                                                          ("unmute", "Bob", "Tea Room")}
    html = response.content.decode()
    assert "dry run (not executed)" in html and "spam.ads" in html
    assert [n.text for n in response.context["notifications"]] == ["Ann advertised"]
    assert "Ann advertised" in html and "1 unread" in html


def test_goal_progress_is_computed_from_what_exists(tea):
    Goal.objects.create(community=tea, title="Sponsors", metric="manual", target=5, manual_value=5, due=date(2026, 6, 1))
    Goal.objects.create(community=tea, title="Unfilled", metric="manual", target=5, due=date(2026, 6, 1))
    Goal.objects.create(community=tea, title="Late", metric="members", target=10, baseline=2, due=date(2026, 3, 1),
                        start=date(2026, 1, 1))
    Goal.objects.create(community=tea, title="Rate", metric="weekly_active_rate", target=100, due=date(2026, 6, 1))
    Goal.objects.create(community=tea, title="Chatty", metric="messages_per_day", target=2, due=date(2026, 6, 1))
    progress = {p.goal.title: p for p in goals_progress(tea, today=TODAY)}
    assert (progress["Sponsors"].current, progress["Sponsors"].status, progress["Sponsors"].percent) == (5, "done", 100)
    assert (progress["Unfilled"].current, progress["Unfilled"].status, progress["Unfilled"].percent) == (None, "unknown", None)
    # (4 - 2) / (10 - 2) = 25 %, due date passed.
    assert (progress["Late"].percent, progress["Late"].status, progress["Late"].days_left) == (25, "overdue", -19)
    assert progress["Rate"].current == 50.0  # 2 of 4 members active this week
    assert progress["Chatty"].current == pytest.approx(8 / 7)
    # Another day: a week earlier (03-07…03-13) only Cheng was active (03-10).
    assert community_figures(tea, today=date(2026, 3, 13)).weekly_active == 1


@pytest.mark.parametrize("members, band", [(0, "small"), (50, "small"), (51, "circle"), (150, "circle"),
                                           (151, "large")])
def test_dunbar_bands(members, band):
    assert dunbar_band(members) == band


def test_the_member_page_shows_identities_over_time_groups_and_activity(tea, operator, ids):
    response = operator.get(f"/c/tea/members/{ids['Bob']}/")
    html = response.content.decode()
    names = [n.name for i in response.context["identities"] for n in i.names.all()]
    assert names == ["Bobby", "Bob"]
    assert "fake:u2" in html and "since 2026-02-01" in html and "since 2026-03-17" in html
    assert [m.group.name for m in response.context["memberships"]] == ["Tea Room"]
    week, month, ever = response.context["activity"].windows
    assert (week["messages"], week["replies"], week["days"]) == (3, 1, 3)
    assert (ever["messages"], ever["days"]) == (3, 3)
    assert [w["window"] for w in (week, month, ever)] == [7, 30, None]
    assert "Last 7 days" in html and "Last 30 days" in html and "All time" in html
    cheng = operator.get(f"/c/tea/members/{ids['Cheng 程']}/").context["activity"].windows
    assert (cheng[0]["messages"], cheng[1]["messages"], cheng[2]["messages"]) == (0, 1, 3)
    eve = operator.get(f"/c/tea/members/{ids['Eve']}/")
    assert [(m.group.name, m.is_member) for m in eve.context["memberships"]] == [("Tea Room", False)]
    assert operator.get("/c/tea/members/999999/").status_code == 404


def test_a_page_follows_the_browser_language_and_the_selector(tea, operator):
    english = operator.get("/c/tea/").content.decode()
    assert "Members now" in english and 'lang="en"' in english
    chinese = operator.get("/c/tea/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "当前成员" in chinese and "目标" in chinese and 'lang="zh-hans"' in chinese
    # The selector in the page posts to Django's set_language view and comes back to the page.
    assert 'action="/i18n/setlang/"' in english
    switched = operator.post("/i18n/setlang/", {"language": "zh-hans", "next": "/c/tea/members/"})
    assert switched.status_code == 302 and switched["Location"] == "/c/tea/members/"
    members = operator.get("/c/tea/members/").content.decode()
    assert "成员" in members and "导出 CSV" in members and "4 位成员" in members
    back = operator.post("/i18n/setlang/", {"language": "en", "next": "/c/tea/"})
    assert back.status_code == 302 and "Members now" in operator.get("/c/tea/").content.decode()


def test_the_login_page_is_translated_too(client, db):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "登录" in page and "用户名" in page and "密码" in page


def test_groups_and_placeholder_sections_render(tea, operator):
    groups = operator.get("/c/tea/groups/").content.decode()
    assert "Tea Room" in groups and "Matcha Club" in groups and "Above a real circle" in groups
    assert operator.get("/c/tea/soon/analytics/").status_code == 200
    assert operator.get("/c/tea/soon/moderation/").status_code == 200
    assert operator.get("/c/tea/soon/nothing/").status_code == 404

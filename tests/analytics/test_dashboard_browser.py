"""The analytics dashboard in a real browser: every chart drawn, no console errors, nothing fetched outside.

Headless Debian Chromium driven by Playwright; screenshots go to ``test-artifacts/analytics/``.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from qunyun.core import events as ev
from tests.analytics.history import local

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "analytics"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["小林", "阿杰", "Mei", "老王", "Lina", "茶茶", "Tom", "大雄", "Yuki", "阿珍", "Ken", "小美",
         "Omar", "阿福", "Iris", "老周", "Sam", "小雨", "Leo", "安安"]


def busy_history(seed: int = 7) -> list[ev.Event]:
    """Six weeks of a lively group: joins through two channels, replies, mentions, reactions, a payment."""
    rng = random.Random(seed)
    chat = "fake:room1"
    events: list[ev.Event] = []
    start = local(1, 26, 0)
    people = [ev.Account(f"fake:u{i}", name) for i, name in enumerate(NAMES)]
    last_id: list[tuple[str, ev.Account]] = []
    for i, person in enumerate(people):
        joined = start + timedelta(days=rng.randrange(0, 30), hours=rng.randrange(8, 22))
        link = "https://t.me/+poster" if i % 2 else "https://t.me/+friends"
        events.append(ev.MemberJoined(chat=chat, event_id=f"j{i}", at=joined, member=person,
                                      via=ev.JoinMethod.INVITE_LINK, invite_link=link,
                                      inviter=people[0] if i % 5 == 0 and i else None))
        activity = rng.choice([0, 2, 5, 12, 30])
        for n in range(activity):
            at = joined + timedelta(days=rng.randrange(0, 40), hours=rng.choice([9, 12, 20, 21, 22]),
                                    minutes=rng.randrange(60))
            mid = f"m{i}-{n}"
            reply = rng.choice(last_id)[0] if last_id and rng.random() < 0.4 else None
            mentions = (rng.choice(people).id,) if rng.random() < 0.15 else ()
            events.append(ev.MessagePosted(chat=chat, event_id=mid, at=at, author=person,
                                           text=rng.choice(["早", "哈哈", "How do I start?", "新茶到了吗", "agreed"]),
                                           reply_to=reply, mentions=mentions))
            last_id.append((mid, person))
            if rng.random() < 0.3:
                events.append(ev.ReactionAdded(chat=chat, event_id=f"r{i}-{n}", at=at + timedelta(minutes=5),
                                               message_id=mid, author=rng.choice(people), emoji="👍"))
        if i % 7 == 3:
            events.append(ev.MemberLeft(chat=chat, event_id=f"l{i}", at=joined + timedelta(days=20), member=person))
    events.append(ev.PaymentMade(chat=chat, event_id="p1", at=start + timedelta(days=20), member=people[1],
                                 amount="49.00"))
    return events


@pytest.fixture
def tea_busy(community):
    from qunyun.bus.runtime import Runtime
    from qunyun.communities.services import channel_create

    channel_create(community=community, code="poster", name="海报", invite_link="https://t.me/+poster")
    channel_create(community=community, code="friends", name="Friends", invite_link="https://t.me/+friends")
    Runtime(community, mode="import").ingest(busy_history())
    return community


@pytest.fixture
def owner(tea_busy, django_user_model):
    from qunyun.operators.services import access_grant

    user = django_user_model.objects.create_user("lin", password="tea-secret-1")
    access_grant(user=user, community=tea_busy, role="owner")
    return user


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei to run browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_dashboard_charts_render_without_errors(owner, live_server, browser, locale):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = urlparse(live_server.url).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    def only_local(route):
        if urlparse(route.request.url).netloc == server:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(f"{live_server.url}/login/?next=/c/tea/analytics/")
    page.fill("input[name=username]", "lin")
    page.fill("input[name=password]", "tea-secret-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/c/tea/analytics/")
    page.goto(f"{live_server.url}/c/tea/analytics/?from=2026-01-26&to=2026-03-10")

    charts = page.query_selector_all("svg.chart")
    assert len(charts) >= 8
    for chart in charts:
        kind = chart.get_attribute("data-chart")
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 40, kind
        assert chart.query_selector_all(".mark"), f"{kind} chart {chart.get_attribute('aria-label')} drew nothing"
        assert not chart.query_selector(".chart-empty"), kind
    heat = page.query_selector('svg[data-chart="heatmap"]')
    assert any(float((r.bounding_box() or {}).get("width", 0)) > 5 for r in heat.query_selector_all("rect.mark"))
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{locale}.png"), full_page=True)

    page.click('a[data-layer="occasional"]')
    page.wait_for_selector('table[data-table="layer"]')
    assert page.query_selector_all('table[data-table="layer"] tbody tr')
    assert not errors, errors
    assert not outside, outside
    context.close()

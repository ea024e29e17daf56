"""The console in a real browser: log in, open the community and members pages, no console errors.

Headless Debian Chromium driven by Playwright; screenshots go to ``test-artifacts/console/``.
Every request that does not go to the live server is refused and counted: the console must
work with no network.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-wqy-zenhei to run browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def owner(tea, django_user_model):
    """An operator who owns the community (made before the browser starts: Playwright's sync API
    runs an event loop, inside which Django refuses database calls)."""
    from qunyun.operators.services import access_grant

    user = django_user_model.objects.create_user("lin", password="tea-secret-1")
    access_grant(user=user, community=tea, role="owner")
    return user


def test_operator_logs_in_and_reads_the_community_and_its_members(owner, live_server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = urlparse(live_server.url).netloc

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
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

    page.goto(f"{live_server.url}/c/tea/")
    assert "/login/" in page.url  # not logged in yet: sent to the login page
    page.fill("input[name=username]", "lin")
    page.fill("input[name=password]", "tea-secret-1")
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{live_server.url}/c/tea/")
    assert page.locator("h1").first.inner_text() == "Tea lovers"
    assert page.locator("[data-kpi=members_now]").inner_text() == "4"
    assert page.locator("#goals .goal").count() == 2
    assert page.locator(".groups-table tbody tr").count() == 2
    # The stylesheet really applied (a served, parsed CSS file, not a 404).
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    page.screenshot(path=str(ARTIFACTS / "community.png"), full_page=True)

    page.click("nav.sidebar a.nav-members")
    page.wait_for_url(f"{live_server.url}/c/tea/members/")
    assert page.locator(".members-table tbody tr").count() == 4
    page.fill("input[name=q]", "bob")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator(".members-table tbody tr .member-link").all_inner_texts() == ["Bob"]
    page.screenshot(path=str(ARTIFACTS / "members.png"), full_page=True)

    # Switch the language in the page: the same page comes back in Chinese.
    with page.expect_navigation():  # the selector posts itself, the view redirects back here
        page.select_option("#lang-select", "zh-hans")
    assert page.locator("h1").first.inner_text() == "成员"
    page.screenshot(path=str(ARTIFACTS / "members-zh.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/c/tea/")
    page.click(".nav-toggle")
    assert page.locator("nav.sidebar a.nav-members").is_visible()
    page.wait_for_timeout(300)  # let the drawer finish sliding in
    page.screenshot(path=str(ARTIFACTS / "community-phone.png"), full_page=True)
    context.close()

    assert errors == []
    assert outside == []

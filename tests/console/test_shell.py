"""The console shell other areas build on: offline assets, the nav list, panels, the CSV helper."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, RequestFactory

import qunyun.console
from qunyun.console import nav, panels
from qunyun.console.export import csv_cell, csv_response

pytestmark = pytest.mark.django_db(transaction=True)

CONSOLE_DIR = Path(qunyun.console.__file__).parent
URL = re.compile(r"https?://[^\s\"'<>)]+")
# XML namespace names look like URLs but are never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(user)
    client.user = user
    return client


def test_no_template_or_static_file_points_outside():
    files = [p for p in CONSOLE_DIR.rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js", ".svg")]
    assert len(files) > 10
    found = {str(p.relative_to(CONSOLE_DIR)): set(URL.findall(p.read_text("utf-8"))) - NAMESPACES for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_served_pages_load_only_local_assets(tea, operator):
    pages = ["/login/", "/", "/c/tea/", "/c/tea/members/", "/c/tea/groups/", "/admin/"]
    for url in pages:
        html = operator.get(url).content.decode()
        for attr, value in re.findall(r'\b(src|href|action)="([^"]*)"', html):
            assert not value.startswith(("http:", "https:", "//")), (url, attr, value)
    css = b"".join(operator.get("/static/console/console.css").streaming_content).decode()
    assert "@import" not in css and not URL.findall(css)
    for asset in ("console/console.css", "console/console.js", "console/favicon.svg", "console/logo.svg"):
        assert operator.get(f"/static/{asset}").status_code == 200, asset


def test_a_nav_item_is_one_line(tea, operator, monkeypatch):
    monkeypatch.setattr(nav, "COMMUNITY_NAV", [*nav.COMMUNITY_NAV,
                                               nav.NavItem("reports", "Weekly report", "console:groups")])
    monkeypatch.setattr("qunyun.console.templatetags.console_tags.COMMUNITY_NAV", nav.COMMUNITY_NAV)
    html = operator.get("/c/tea/").content.decode()
    assert 'class="nav-reports"' in html and "Weekly report" in html
    # An item whose URL does not exist (an app that is not installed) is left out, not an error.
    monkeypatch.setattr("qunyun.console.templatetags.console_tags.COMMUNITY_NAV",
                        [nav.NavItem("ghost", "Ghost", "nowhere:page")])
    assert "Ghost" not in operator.get("/c/tea/").content.decode()


def test_panels_from_other_areas_render_on_the_pages(tea, operator, monkeypatch, ids, tmp_path, settings):
    (tmp_path / "panel.html").write_text('<section class="card" id="extra">{{ data.greeting }} {{ member }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    seen = {}

    def context(*, request, community, today, member):
        seen.update(community=community.slug, today=str(today))
        return {"greeting": "hello from analytics"}

    monkeypatch.setattr(panels, "MEMBER_PANELS", [panels.Panel("panel.html", context)])
    monkeypatch.setattr("qunyun.console.views.MEMBER_PANELS", panels.MEMBER_PANELS)
    html = operator.get(f"/c/tea/members/{ids['Ann']}/").content.decode()
    assert '<section class="card" id="extra">hello from analytics Ann</section>' in html
    assert seen == {"community": "tea", "today": "2026-03-20"}


def test_csv_cells():
    assert csv_cell(None) == ""
    assert csv_cell(True) == "1"
    assert csv_cell(["a", "b"]) == "a; b"
    assert csv_cell("-1+2") == "'-1+2"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell(-3) == -3
    assert csv_cell(datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)) == "2026-03-01 16:30:00"


def test_csv_response_streams_any_rows_with_a_bom():
    request = RequestFactory().get("/x")
    response = csv_response(request, filename="报表 weekly.csv", header=["名字", "n"],
                            rows=((f"成员{i}", i) for i in range(3)))
    assert response["Content-Disposition"] == 'attachment; filename="weekly.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == [["名字", "n"], ["成员0", "0"], ["成员1", "1"],
                                                                        ["成员2", "2"]]


def test_csv_export_streams_under_asgi_too(tea, operator):
    """Under ``qunyun serve`` (ASGI) the export is an async stream, not a list built in memory."""
    async def fetch():
        client = AsyncClient()
        await client.aforce_login(operator.user)
        response = await client.get("/c/tea/members/?format=csv&sort=name")
        assert response.is_async
        return b"".join([chunk async for chunk in response.streaming_content])

    body = async_to_sync(fetch)().decode("utf-8-sig")
    assert [row[1] for row in csv.reader(io.StringIO(body))][1:] == ["Ann", "Bob", "Cheng 程", "Dora"]

"""The console's analytics pages: dashboard, layer lists, thresholds, definitions, panels, CSV everywhere."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from qunyun.analytics.exports import EXPORTS
from qunyun.analytics.layers import LAYERS
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Group, Member
from qunyun.communities.services import channel_create, operator_create
from qunyun.operators.models import OperatorAccess
from tests.analytics.history import POSTER_LINK, tea_history

pytestmark = pytest.mark.django_db(transaction=True)

RANGE = "from=2026-03-01&to=2026-03-10"


@pytest.fixture
def client(community):
    channel_create(community=community, code="poster", name="Poster", invite_link=POSTER_LINK)
    Runtime(community, mode="import").ingest(tea_history())
    user, _ = operator_create(username="boss", password="secret-pass-1", superuser=True)
    c = Client()
    c.force_login(user)
    return c


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_dashboard_shows_figures_charts_and_definition_links(client):
    response = client.get(f"/c/tea/analytics/?{RANGE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="messages">7<' in html and 'data-kpi="conversations">5<' in html
    assert html.count('class="chart"') >= 7 and html.count('class="mark"') > 20
    assert 'href="/analytics/definitions/#messages"' in html and 'href="/analytics/definitions/#retention"' in html
    for layer in LAYERS:
        assert f'data-layer="{layer}"' in html


def test_every_dashboard_table_exports_csv(client):
    for name in EXPORTS:
        response = client.get(f"/c/tea/analytics/?{RANGE}&export={name}")
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/csv")
        rows = read_csv(response)
        assert rows and rows[0], name
    daily = read_csv(client.get(f"/c/tea/analytics/?{RANGE}&export=daily"))
    assert daily[0][:3] == ["date", "messages", "reactions"] and len(daily) == 11
    assert sum(int(r[1]) for r in daily[1:]) == 7
    assert client.get(f"/c/tea/analytics/?{RANGE}&export=nope").status_code == 404


def test_filters_by_group_and_channel_and_bad_filters(client, community):
    group = Group.objects.get(community=community)
    assert client.get(f"/c/tea/analytics/?{RANGE}&group={group.pk}").status_code == 200
    html = client.get(f"/c/tea/analytics/?{RANGE}&channel=poster").content.decode()
    assert 'data-kpi="messages">3<' in html  # only Bob came through the poster
    bad = client.get("/c/tea/analytics/?from=someday").content.decode()
    assert "is not a date" in bad  # said on the page, with the default range shown


def test_layer_list_and_csv(client):
    html = client.get(f"/c/tea/analytics/layers/churned/?{RANGE}").content.decode()
    assert "Fay" in html and "Bob" not in html.split('data-table="layer"')[1]
    rows = read_csv(client.get(f"/c/tea/analytics/layers/occasional/?{RANGE}&export=csv"))
    assert [r[1] for r in rows[1:]] == ["Bob", "Ann", "Eve"]
    assert client.get("/c/tea/analytics/layers/vip/").status_code == 404


def test_thresholds_admin_changes_viewer_reads(client, community):
    response = client.post("/c/tea/analytics/thresholds/", {"window_days": "30", "core_min_active_days": "3",
                           "core_min_messages": "3", "core_min_replies": "10", "active_min_active_days": "2"})
    assert response.status_code == 302
    assert 'data-layer="core"' in client.get(f"/c/tea/analytics/?{RANGE}").content.decode()
    community.refresh_from_db()
    assert community.settings["analytics"]["layers"]["core_min_active_days"] == 3
    user, _ = operator_create(username="viewer", password="secret-pass-2")
    OperatorAccess.objects.create(user=user, community=community, role="viewer")
    viewer = Client()
    viewer.force_login(user)
    assert b"disabled" in viewer.get("/c/tea/analytics/thresholds/").content
    assert viewer.post("/c/tea/analytics/thresholds/", {"window_days": "7"}).status_code == 404
    community.refresh_from_db()
    assert community.settings["analytics"]["layers"]["window_days"] == 30


def test_definitions_page_has_every_anchor(client):
    from qunyun.analytics.definitions import DEFINITIONS

    html = client.get("/analytics/definitions/").content.decode()
    for key in DEFINITIONS:
        assert f'id="{key}"' in html


def test_member_and_group_pages_carry_the_analytics_panels(client, community):
    bob = Member.objects.get(community=community, display_name="Bob")
    html = client.get(f"/c/tea/members/{bob.pk}/").content.decode()
    assert 'id="analytics-member"' in html and "data-member-layer=" in html
    group = Group.objects.get(community=community)
    assert 'id="analytics-group"' in client.get(f"/c/tea/groups/{group.pk}/").content.decode()
    assert 'id="analytics-summary"' in client.get("/c/tea/").content.decode()


def test_pages_need_access(community):
    assert Client().get("/c/tea/analytics/").status_code == 302  # to the login page
    stranger, _ = operator_create(username="stranger", password="secret-pass-3")
    c = Client()
    c.force_login(stranger)
    assert c.get("/c/tea/analytics/").status_code == 404


def test_dashboard_in_chinese(client):
    html = client.get(f"/c/tea/analytics/?{RANGE}", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "数据分析" in html and "留存" in html and "意见领袖" in html
    assert "活跃: " in html and "潜水: " in html and "启用" not in html  # layer names, not "enabled"
    assert "每周从周一开始" in html

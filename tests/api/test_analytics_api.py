"""The REST API: same figures as the report, session or token, per-community access, clear errors."""

from __future__ import annotations

import pytest
from django.test import Client

from qunyun.analytics.config import layer_thresholds
from qunyun.api.services import token_create, token_revoke
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Member
from qunyun.communities.services import channel_create, operator_create
from qunyun.operators.models import OperatorAccess
from tests.analytics.history import POSTER_LINK, tea_history

pytestmark = pytest.mark.django_db(transaction=True)

RANGE = "from=2026-03-01&to=2026-03-10"


@pytest.fixture
def tea(community):
    channel_create(community=community, code="poster", name="Poster", invite_link=POSTER_LINK)
    Runtime(community, mode="import").ingest(tea_history())
    return community


@pytest.fixture
def boss(tea):
    user, _ = operator_create(username="boss", password="secret-pass-1", superuser=True)
    return user


@pytest.fixture
def viewer(tea):
    user, _ = operator_create(username="viewer", password="secret-pass-2")
    OperatorAccess.objects.create(user=user, community=tea, role="viewer")
    return user


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_overview_with_a_session(boss):
    client = Client()
    client.force_login(boss)
    response = client.get(f"/api/communities/tea/overview?{RANGE}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["messages"], body["authors"], body["joins"], body["leaves"]) == (7, 2, 3, 2)
    assert body["scope"]["time_zone"] == "Asia/Shanghai" and body["scope"]["week_starts"] == "Monday"
    assert body["definitions"]["messages"] == "/analytics/definitions/#messages"


def test_token_auth_and_revocation(boss):
    _token, raw = token_create(username="boss", name="bi")
    client = Client()
    ok = client.get(f"/api/communities/tea/layers?{RANGE}", **bearer(raw))
    assert ok.status_code == 200 and ok.json()["counts"]["churned"] == 1
    assert client.get("/api/communities/tea/layers", **bearer(raw + "x")).status_code == 401
    assert client.get("/api/communities/tea/layers").status_code == 401
    token_revoke(prefix=raw[:10])
    assert client.get("/api/communities/tea/layers", **bearer(raw)).status_code == 401


def test_access_is_per_community(viewer, tea):
    client = Client()
    client.force_login(viewer)
    assert client.get(f"/api/communities/tea/heatmap?{RANGE}").status_code == 200
    assert client.get("/api/communities/nope/heatmap").status_code == 404
    stranger, _ = operator_create(username="stranger", password="secret-pass-3")
    other = Client()
    other.force_login(stranger)
    assert other.get("/api/communities/tea/overview").status_code == 404  # cannot even tell it exists
    assert [c["slug"] for c in other.get("/api/communities").json()] == []


def test_bad_filters_are_400_with_the_reason(boss):
    client = Client()
    client.force_login(boss)
    response = client.get("/api/communities/tea/overview?group=Coffee")
    assert response.status_code == 400 and "no group 'Coffee'" in response.json()["detail"]
    assert client.get("/api/communities/tea/retention?basis=vibes").status_code == 422


def test_retention_lifecycle_funnel_leaders_conversations(boss):
    client = Client()
    client.force_login(boss)
    retention = client.get("/api/communities/tea/retention?from=2026-02-01&to=2026-03-10&basis=message").json()
    assert [(c["cohort"], c["size"], c["periods"]) for c in retention["cohorts"]] == [
        ("2026-02", 2, [2, 0]), ("2026-03", 2, [2])]
    lifecycle = client.get(f"/api/communities/tea/lifecycle?{RANGE}").json()
    assert lifecycle["periods"][-1]["resurrecting"] == 1
    funnel = client.get(f"/api/communities/tea/funnel?{RANGE}").json()
    assert funnel["channels"][0]["channel"] == "poster" and funnel["total"]["referred"] == 1
    leaders = client.get(f"/api/communities/tea/opinion-leaders?{RANGE}").json()["leaders"]
    assert leaders[0]["member"] == "Bob"
    talk = client.get(f"/api/communities/tea/conversations?{RANGE}").json()
    assert talk["conversations"] == 5 and talk["definitions"]["answered_share"].endswith("#answered_share")


def test_layer_members_and_thresholds(boss, viewer, tea):
    client = Client()
    client.force_login(boss)
    churned = client.get(f"/api/communities/tea/layers/churned/members?{RANGE}").json()
    assert [m["member"] for m in churned["members"]] == ["Fay"]
    response = client.put("/api/communities/tea/layers/thresholds", data={"core_min_active_days": 3,
                          "core_min_messages": 3, "active_min_active_days": 2}, content_type="application/json")
    assert response.status_code == 200, response.content
    tea.refresh_from_db()
    assert layer_thresholds(tea).core_min_active_days == 3
    assert client.get(f"/api/communities/tea/layers?{RANGE}").json()["counts"]["core"] == 2
    bad = client.put("/api/communities/tea/layers/thresholds", data={"window_days": 0},
                     content_type="application/json")
    assert bad.status_code == 400 and "window_days" in bad.json()["detail"]
    _token, raw = token_create(username="viewer", name="read only")
    denied = Client().put("/api/communities/tea/layers/thresholds", data={"window_days": 7},
                          content_type="application/json", **bearer(raw))
    assert denied.status_code == 403


def test_member_and_report(boss, tea):
    client = Client()
    client.force_login(boss)
    bob = Member.objects.get(community=tea, display_name="Bob")
    profile = client.get(f"/api/communities/tea/members/{bob.pk}?{RANGE}").json()
    assert (profile["messages"], profile["replies_given"], profile["replies_received"]) == (3, 1, 1)
    assert profile["lifecycle"] == "returning" and [g["in_group"] for g in profile["groups"]] == [True]
    # His first day in the group: the join and the message at 23:59 local, not the UTC day after.
    assert (profile["groups"][0]["first_active_day"], profile["groups"][0]["first_message_day"]) == \
        ("2026-03-02", "2026-03-02")
    report = client.get("/api/communities/tea/report?from=2026-02-10&to=2026-03-10").json()
    assert (report["messages"], report["authors"], report["joins"], report["leaves"]) == (9, 4, 4, 2)


def test_openapi_description_lists_the_endpoints():
    schema = Client().get("/api/openapi.json").json()
    assert "/api/communities/{slug}/retention" in schema["paths"]
    docs = Client().get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn." not in docs.content and b"/static/ninja/swagger-ui-bundle.js" in docs.content  # nothing from a CDN

"""Who may see what: login, per-community access, roles, the audit log."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from qunyun.communities.services import community_create
from qunyun.operators.models import AuditEntry
from qunyun.operators.selectors import communities_for_operator, community_for_operator
from qunyun.operators.services import access_grant, access_revoke, audit_record

pytestmark = pytest.mark.django_db

PASSWORD = "good-password-1"


@pytest.fixture
def other(db):
    return community_create(slug="coffee", name="Coffee club", time_zone="Europe/Berlin")


@pytest.fixture
def make_user(django_user_model):
    def make(name, *, superuser=False, staff=False):
        if superuser:
            return django_user_model.objects.create_superuser(name, password=PASSWORD)
        return django_user_model.objects.create_user(name, password=PASSWORD, is_staff=staff)
    return make


@pytest.mark.parametrize("url", ["/", "/c/tea/", "/c/tea/members/", "/c/tea/members/1/", "/c/tea/groups/",
                                 "/c/tea/groups/1/", "/c/tea/audit/", "/c/tea/soon/analytics/",
                                 "/c/tea/members/?format=csv"])
def test_every_console_page_sends_a_stranger_to_the_login(client, community, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_an_operator_logs_in_with_the_form_and_out_with_a_post(client, community, make_user):
    make_user("lin", superuser=True)
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    wrong = client.post("/login/", {"username": "lin", "password": "nope"})
    assert wrong.status_code == 200 and b"did not match" in wrong.content
    right = client.post("/login/", {"username": "lin", "password": PASSWORD, "next": "/c/tea/"})
    assert right.status_code == 302 and right["Location"] == "/c/tea/"
    assert client.get("/c/tea/").status_code == 200
    out = client.post("/logout/")
    assert out.status_code == 302 and out["Location"] == "/login/"
    assert client.get("/c/tea/").status_code == 302


def test_the_list_shows_only_the_communities_an_operator_was_granted(client, community, other, make_user):
    root, lin, nobody = make_user("root", superuser=True), make_user("lin"), make_user("nobody")
    access_grant(user=lin, community=community, role="viewer")

    client.force_login(root)
    page = client.get("/").content.decode()
    assert "Tea lovers" in page and "Coffee club" in page

    client.force_login(lin)
    page = client.get("/").content.decode()
    assert "Tea lovers" in page and "Coffee club" not in page
    assert client.get("/c/tea/").status_code == 200
    # Another community, or one that does not exist: the same 404, so slugs cannot be probed.
    assert client.get("/c/coffee/").status_code == 404
    assert client.get("/c/coffee/members/").status_code == 404
    assert client.get("/c/coffee/members/?format=csv").status_code == 404
    assert client.get("/c/nowhere/").status_code == 404

    client.force_login(nobody)
    page = client.get("/").content.decode()
    assert "Tea lovers" not in page and "no access to any community" in page


def test_revoking_access_closes_the_community_again(client, community, make_user):
    lin = make_user("lin")
    access_grant(user=lin, community=community, role="admin")
    client.force_login(lin)
    assert client.get("/c/tea/").status_code == 200
    assert access_revoke(user=lin, community=community) is True
    assert client.get("/c/tea/").status_code == 404
    actions = list(AuditEntry.objects.filter(community=community).values_list("action", flat=True))
    assert sorted(actions) == ["access.grant", "access.revoke"]


def test_roles_decide_the_sections_and_the_audit_log(client, community, make_user):
    viewer, admin = make_user("viewer"), make_user("boss")
    access_grant(user=viewer, community=community, role="viewer")
    access_grant(user=admin, community=community, role="admin")

    client.force_login(viewer)
    page = client.get("/c/tea/").content.decode()
    assert "nav-members" in page and "nav-moderation" not in page and "nav-audit" not in page
    assert client.get("/c/tea/audit/").status_code == 403

    client.force_login(admin)
    page = client.get("/c/tea/").content.decode()
    assert "nav-moderation" in page and "nav-audit" in page
    audit = client.get("/c/tea/audit/")
    assert audit.status_code == 200 and "access.grant" in audit.content.decode()


def test_community_for_operator_is_the_one_check(community, other, make_user):
    root, mod, stranger = make_user("root", superuser=True), make_user("mod"), make_user("stranger")
    access_grant(user=mod, community=community, role="moderator")
    assert community_for_operator(root, "coffee").operator_role == "owner"
    assert community_for_operator(mod, "tea", role="moderator").operator_role == "moderator"
    assert community_for_operator(mod, "tea", role="viewer") == community
    with pytest.raises(PermissionDenied):
        community_for_operator(mod, "tea", role="admin")
    with pytest.raises(Http404):
        community_for_operator(mod, "coffee")
    with pytest.raises(Http404):
        community_for_operator(stranger, "tea")
    inactive = make_user("gone")
    access_grant(user=inactive, community=community, role="owner")
    inactive.is_active = False
    inactive.save()
    with pytest.raises(Http404):
        community_for_operator(inactive, "tea")
    assert list(communities_for_operator(mod)) == [community]
    assert set(communities_for_operator(root)) == {community, other}


def test_audit_record_keeps_who_what_where(community, make_user):
    lin = make_user("lin")
    entry = audit_record(user=lin, community=community, action="case.close", detail={"case": 7})
    lin.delete()
    entry.refresh_from_db()
    assert (entry.username, entry.user, entry.action, entry.detail) == ("lin", None, "case.close", {"case": 7})
    system = audit_record(user=None, community=None, action="system.start")
    assert system.username == "" and system.community is None

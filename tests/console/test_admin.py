"""The Django admin for operators' objects: every page loads, and is scoped to one's communities."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from qunyun.bus.models import Notification, OutboxItem
from qunyun.communities.models import Channel, Community, Goal, Group, Identity, Member, Membership
from qunyun.communities.services import community_create
from qunyun.operators.models import AuditEntry, OperatorAccess
from qunyun.operators.services import access_grant, audit_record

pytestmark = pytest.mark.django_db(transaction=True)

MODELS = [Community, Goal, Group, Channel, Member, Identity, Membership, OutboxItem, Notification,
          OperatorAccess, AuditEntry]


@pytest.fixture
def root(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(user)
    return user


def admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_operator_model_is_in_the_admin(db):
    for model in MODELS:
        assert admin.site.is_registered(model), model


def test_lists_and_detail_pages_load(tea, root, client):
    Notification.objects.create(community=tea, text="hello")
    OutboxItem.objects.create(community=tea, key="k1", chat=TEA_CHAT, kind="send", payload={"kind": "send"},
                              due_at="2026-03-20T00:00:00Z")
    access_grant(user=root, community=tea, role="owner")
    audit_record(user=root, community=tea, action="test.action")
    assert client.get(reverse("admin:index")).status_code == 200
    for model in MODELS:
        listing = client.get(admin_url(model, "changelist"))
        assert listing.status_code == 200, model
        obj = model.objects.first()
        assert obj is not None, model
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200, model
    users = client.get(reverse("admin:auth_user_change", args=[root.pk])).content.decode()
    assert "Tea lovers" in users  # the operator's community roles, inline on the user
    member = Member.objects.get(community=tea, display_name="Bob")
    page = client.get(admin_url(Member, "change", member.pk)).content.decode()
    assert "fake:u2" in page  # identities inline
    assert "Tea Room" in page  # memberships inline
    assert client.get(admin_url(Member, "changelist") + "?q=fake:u3").content.decode().count("Cheng 程") >= 1
    assert client.get(admin_url(OutboxItem, "add")).status_code == 403  # read-mostly
    assert client.get(admin_url(AuditEntry, "add")).status_code == 403


TEA_CHAT = "fake:tea"


def test_a_staff_operator_sees_only_the_communities_they_administer(tea, client, django_user_model):
    coffee = community_create(slug="coffee", name="Coffee club")
    Group.objects.create(community=coffee, platform="fake", chat_id="fake:coffee", name="Espresso")
    staff = django_user_model.objects.create_user("lin", password="lin-password-1", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="communities"))
    access_grant(user=staff, community=tea, role="admin")
    client.force_login(staff)
    groups = client.get(admin_url(Group, "changelist")).content.decode()
    assert "Tea Room" in groups and "Espresso" not in groups
    communities = client.get(admin_url(Community, "changelist")).content.decode()
    assert "Tea lovers" in communities and "Coffee club" not in communities
    espresso = Group.objects.get(name="Espresso")
    assert client.get(admin_url(Group, "change", espresso.pk)).status_code == 302  # "does not exist" → index
    # A viewer role is not enough to administer.
    OperatorAccess.objects.filter(user=staff).update(role="viewer")
    assert "Tea Room" not in client.get(admin_url(Group, "changelist")).content.decode()


def test_cancelling_pending_decisions_from_the_admin(tea, root, client):
    pending = OutboxItem.objects.create(community=tea, key="p", chat=TEA_CHAT, kind="send", payload={},
                                        due_at="2030-01-01T00:00:00Z")
    done = OutboxItem.objects.create(community=tea, key="d", chat=TEA_CHAT, kind="send", payload={},
                                     due_at="2026-01-01T00:00:00Z", status="done")
    response = client.post(admin_url(OutboxItem, "changelist"),
                           {"action": "cancel_pending", "_selected_action": [pending.pk, done.pk]})
    assert response.status_code == 302
    pending.refresh_from_db()
    done.refresh_from_db()
    assert (pending.status, done.status) == ("cancelled", "done")
    assert AuditEntry.objects.get(action="outbox.cancel").detail == {"items": [pending.pk]}

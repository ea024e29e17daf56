"""The moderation console: review queue with highlighted evidence, cases, appeals, policy pages."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from qunyun.communities.services import group_create
from qunyun.moderation.models import Appeal, Case
from qunyun.moderation.selectors import highlight, stored_policy
from qunyun.moderation.services import appeal_submit
from qunyun.operators.services import access_grant
from tests.conftest import at
from tests.factories import CHAT, message

from .test_live import SPAM

pytestmark = pytest.mark.django_db(transaction=True)


def login(community, role="owner", name="boss"):
    user = get_user_model().objects.create_user(name, password="x" * 12, is_superuser=(role == "owner"),
                                                is_staff=(role == "owner"))
    if role != "owner":
        access_grant(user=user, community=community, role=role)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def cases(live_path):
    live_path.ingest([message(1, 7, at(), "你这个傻逼，滚"), message(2, 8, at(1), SPAM)], now=at(2))
    live_path.run(at(3))
    return Case.objects.order_by("number")


def test_the_review_queue_shows_the_message_with_its_evidence_highlighted(community, cases):
    client, _ = login(community, "moderator", "mod")
    page = client.get("/c/tea/moderation/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<mark class="evidence" title="lexicon:unfriendly.abuse">傻逼</mark>' in html
    assert 'id="case-1"' in html and 'id="case-2"' not in html  # the spam was acted on, not queued
    assert 'data-key="c"' in html and 'data-key="o"' in html and "moderation/moderation.js" in html


def test_confirm_from_the_queue_returns_to_the_queue(community, cases, live_path):
    client, user = login(community, "moderator", "mod")
    response = client.post("/c/tea/moderation/cases/1/decide/", {"decision": "confirm", "next": "/c/tea/moderation/"})
    assert response.status_code == 302 and response["Location"] == "/c/tea/moderation/"
    case = Case.objects.get(number=1)
    assert (case.status, case.reviewed_by, case.step) == ("confirmed", user, "warning")
    assert 'id="case-1"' not in client.get("/c/tea/moderation/").content.decode()
    from qunyun.operators.models import AuditEntry

    assert AuditEntry.objects.filter(action="moderation.case.confirm", detail__case=1).exists()


def test_a_viewer_cannot_moderate_and_a_stranger_sees_nothing(community, cases):
    viewer, _ = login(community, "viewer", "viewer")
    assert viewer.get("/c/tea/moderation/").status_code == 403
    assert viewer.post("/c/tea/moderation/cases/1/decide/", {"decision": "overturn"}).status_code == 403
    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user("nobody", password="x" * 12))
    assert stranger.get("/c/tea/moderation/cases/").status_code == 404
    assert Case.objects.get(number=1).status == "open"


def test_case_list_and_detail(community, cases):
    client, _ = login(community)
    listing = client.get("/c/tea/moderation/cases/?which=penalties").content.decode()
    assert "#2" in listing and "#1</a>" not in listing
    detail = client.get("/c/tea/moderation/cases/2/").content.decode()
    assert "delete+warning" in detail and "/appeal/" in detail and '<mark class="evidence"' in detail
    assert client.get("/c/tea/moderation/cases/99/").status_code == 404


def test_appeals_page_and_decision(community, cases):
    appeal = appeal_submit(case=Case.objects.get(number=2), text="误判，我在卖自己的旧游戏币", via="link")
    client, _ = login(community)
    page = client.get("/c/tea/moderation/appeals/").content.decode()
    assert "误判，我在卖自己的旧游戏币" in page
    client.post(f"/c/tea/moderation/appeals/{appeal.pk}/decide/", {"decision": "accept"})
    assert Appeal.objects.get().status == "accepted" and Case.objects.get(number=2).status == "overturned"


def test_the_policy_page_switches_a_category_off_and_shadow_on(community):
    client, _ = login(community)
    page = client.get("/c/tea/moderation/policy/")
    assert page.status_code == 200 and 'name="spam-action"' in page.content.decode()
    form = _policy_form(page)
    form.update({"shadow": "on", "vulgar-action": "delete", "vulgar-act_at": "0.9", "warning_ttl_days": "14"})
    form.pop("flood-enabled", None)
    response = client.post("/c/tea/moderation/policy/", form)
    assert response.status_code == 302
    stored = stored_policy(community_id=community.pk)
    assert stored.policy.shadow and not stored.policy.rule_for("flood").enabled
    assert stored.policy.rule_for("vulgar").action == "delete" and stored.policy.rule_for("vulgar").act_at == 0.9
    assert stored.policy.rule_for("spam.deceptive_link") == stored.policy.rule_for("spam")  # inherits its family
    assert stored.ladder.warning_ttl.days == 14


def test_a_bad_threshold_is_named_and_nothing_is_saved(community):
    client, _ = login(community)
    form = _policy_form(client.get("/c/tea/moderation/policy/"))
    form.update({"spam-review_at": "0.9", "spam-act_at": "0.5", "flood-review_at": "abc"})
    page = client.post("/c/tea/moderation/policy/", form).content.decode()
    assert "the action threshold must not be below the review threshold" in page
    assert "a number between 0 and 1 is needed" in page
    assert stored_policy(community_id=community.pk).row is None


def test_a_group_override(community):
    group = group_create(community=community, chat_id=CHAT, name="Room 1")
    client, _ = login(community)
    assert client.get(f"/c/tea/moderation/policy/groups/{group.pk}/").status_code == 200
    client.post(f"/c/tea/moderation/policy/groups/{group.pk}/", {"shadow": "on", "spam-action": "review",
                                                                  "water-enabled": "on"})
    override = stored_policy(community_id=community.pk).overrides[CHAT]
    assert override.shadow is True and override.rules == {"spam": {"action": "review"}, "water": {"enabled": True}}


def test_examples_export_downloads_jsonl(community, cases):
    client, _ = login(community)
    client.post("/c/tea/moderation/cases/2/decide/", {"decision": "overturn"})
    response = client.get("/c/tea/moderation/examples.jsonl")
    assert [json.loads(line) for line in response.content.decode().splitlines()] == [{"text": SPAM, "label": "ok"}]


def test_highlight_merges_overlaps_and_ignores_bad_offsets():
    pieces = highlight("加我微信abc", [{"start": 0, "end": 3, "note": "a"}, {"start": 2, "end": 4, "note": "b"},
                                    {"start": 50, "end": 60}, {"start": "x"}])
    assert pieces == [("加我微信", "a, b"), ("abc", None)]


def _policy_form(page) -> dict:
    """The policy form as a browser would submit it (inputs, checked boxes, selected options)."""
    import re

    html = page.content.decode()
    form: dict[str, str] = {}
    for m in re.finditer(r'<input type="(number|text)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        form[m.group(2)] = m.group(3)
    for m in re.finditer(r'<input type="checkbox" name="([^"]+)"[^>]*?( checked)?>', html):
        if m.group(2):
            form[m.group(1)] = "on"
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]+)" selected>', m.group(2))
        if chosen:
            form[m.group(1)] = chosen.group(1)
    for name in ("allow_domains", "deny_domains", "lexicons"):
        form.setdefault(name, "")
    return form


def test_the_queue_in_chinese_and_the_admin_lists(community, cases):
    client, _ = login(community)
    html = client.get("/c/tea/moderation/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "复核队列" in html and "确认，不处罚" in html
    assert client.get("/admin/moderation/case/").status_code == 200
    assert client.get("/admin/moderation/penalty/").status_code == 200

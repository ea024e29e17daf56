"""Building the demo community in the database, through the bus; the demo login."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from qunyun.analytics.models import GroupDay, MemberDay
from qunyun.bus.models import OutboxItem
from qunyun.communities.models import Channel, Community, Event, Goal, Group, Identity, Member, Membership
from qunyun.communities.services import community_create
from qunyun.demo import Simulator, make_plan
from qunyun.demo.build import DemoError, build_demo, demo_login

pytestmark = pytest.mark.django_db(transaction=True)

END = datetime(2026, 3, 1, 13, 0, tzinfo=timezone.utc)  # 21:00 in Shanghai
SMALL = dict(seed=3, days=21, scale=0.25, end=END)


def _expected(seed, days, scale, end):
    sim = Simulator(make_plan(seed=seed, days=days, scale=scale, end=end), seed=seed)
    history = list(sim.events())
    return history, sim.live_tail()


def test_small_build_stores_exactly_the_simulated_events_with_profile_and_decisions():
    history, tail = _expected(**SMALL)
    build = build_demo(**SMALL)
    community = build.community
    assert not build.reused and community.slug == "demo"
    assert community.time_zone == "Asia/Shanghai" and community.dry_run
    assert all([community.theme, community.target_members, community.core_value, community.slogan,
                community.rules_text, community.owner])
    assert Goal.objects.filter(community=community).count() == 3
    groups = Group.objects.filter(community=community)
    assert {g.platform for g in groups} == {"onebot", "telegram"} and groups.count() == 3
    assert all(not g.name.startswith(("onebot:", "telegram:")) for g in groups)  # named, not chat ids
    channels = Channel.objects.filter(community=community)
    assert channels.count() == 4 and all(c.invite_link for c in channels)

    assert Event.objects.filter(community=community).count() == len({e.key for e in history + tail})
    assert build.events == len(history) + len(tail)
    assert Event.objects.filter(community=community, type="message").count() == sum(
        1 for e in history + tail if e.type == "message")
    # rollups were kept by the store, so the dashboards have data
    assert GroupDay.objects.filter(group__community=community).count() > 40
    assert MemberDay.objects.filter(group__community=community).exists()
    # joins through a channel's invite link are attributed to the channel
    attributed = Membership.objects.filter(group__community=community, channel__isnull=False).count()
    assert attributed > 0.6 * Membership.objects.filter(group__community=community).count()
    # the lurkers are on the roster
    silent = Member.objects.filter(community=community).exclude(events__type__in=("message", "reaction"))
    assert silent.count() > 10
    # the live tail went through the handlers in dry run: the rules were "sent", nothing executed
    rules = OutboxItem.objects.filter(community=community, reason="communities.rules_on_request")
    assert rules.count() == 2 and all(item.status == OutboxItem.Status.DRY_RUN for item in rules)
    assert not OutboxItem.objects.filter(community=community).exclude(status=OutboxItem.Status.DRY_RUN).exists()
    # one account in two groups is one member with two memberships
    assert Membership.objects.filter(group__community=community).values("member").distinct().count() < \
        Membership.objects.filter(group__community=community).count()
    assert Identity.objects.filter(community=community, names__isnull=False).distinct().count() > 0


def test_a_second_build_reuses_the_first_and_reset_rebuilds():
    first = build_demo(**SMALL)
    count = Event.objects.count()
    again = build_demo(**{**SMALL, "seed": 9})
    assert again.reused and again.community.pk == first.community.pk and again.seed == 3
    assert Event.objects.count() == count
    rebuilt = build_demo(**{**SMALL, "seed": 9}, reset=True)
    assert not rebuilt.reused and rebuilt.community.pk != first.community.pk
    assert Community.objects.filter(slug="demo").count() == 1
    assert Event.objects.count() != count  # another seed, another history
    # nothing of the old community is left behind, in any app's tables
    from django.apps import apps

    for model in apps.get_models():
        fields = {f.name: f for f in model._meta.concrete_fields}
        if getattr(fields.get("community"), "related_model", None) is Community:
            assert not model._base_manager.filter(community_id=first.community.pk).exists(), model
        if getattr(fields.get("member"), "related_model", None) is Member:
            assert not model._base_manager.exclude(member__isnull=True).exclude(
                member__community_id=rebuilt.community.pk).exists(), model


def test_an_interrupted_build_resumes_with_the_same_events():
    history, tail = _expected(**SMALL)

    class Stop(Exception):
        pass

    lines = []

    def stop_midway(line):
        lines.append(line)
        if "day 7/" in line:
            raise Stop

    with pytest.raises(Stop):
        build_demo(**SMALL, progress=stop_midway, batch_size=200)
    partial = Event.objects.count()
    assert 0 < partial < len(history)
    resumed = build_demo(seed=1, days=90, scale=1.0, progress=lines.append)  # stored parameters win
    assert any("resuming" in line for line in lines)
    assert not resumed.reused
    assert Event.objects.count() == len({e.key for e in history + tail})
    assert build_demo().reused


def test_a_community_called_demo_that_the_demo_did_not_make_is_not_touched():
    community_create(slug="demo", name="Mine")
    with pytest.raises(DemoError, match="--reset"):
        build_demo(**SMALL)
    assert Community.objects.get(slug="demo").name == "Mine"


def test_demo_login_is_generated_once_kept_and_works(tmp_path, client):
    username, password = demo_login(home=tmp_path)
    assert username == "demo" and len(password) >= 12
    assert (tmp_path / "demo-login.txt").stat().st_mode & 0o077 == 0
    assert demo_login(home=tmp_path) == (username, password)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="demo")
    assert user.is_superuser and user.is_staff
    user.set_password("changed-in-the-console")
    user.save()
    assert demo_login(home=tmp_path) == (username, password)  # the printed login must keep working
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302 and "/login/" not in response["Location"]
    from django.test import Client

    assert Client().post("/login/", {"username": username, "password": "wrong-password"}).status_code == 200


def test_the_default_demo_builds():
    # The 30-second budget is measured by bench/demo/ready.py; this is a generous guard only,
    # so a busy test machine does not make it flaky.
    started = time.perf_counter()
    build = build_demo(end=END)
    assert time.perf_counter() - started < 90
    assert build.events > 60_000
    community = build.community
    sizes = sorted(Membership.objects.filter(group__community=community, is_member=True)
                   .values("group").annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
                   .values_list("n", flat=True))
    # the live tail adds a newcomer and an ad account to two of the groups
    assert [abs(a - b) <= 0.1 * b for a, b in zip(sizes, (40, 140, 400))] == [True] * 3, sizes
    # The policy ran over the imported history in shadow mode: the review queue has cases, and
    # they are the ad accounts' messages, not ordinary members'.
    from qunyun.moderation.models import Case

    cases = Case.objects.filter(community=community, shadow=True)
    assert cases.count() >= 5
    from qunyun.bus.models import OutboxItem
    from qunyun.communities.models import Identity

    banned = set(Membership.objects.filter(group__community=community, leave_reason="banned")
                 .values_list("member_id", flat=True))
    # the live tail's ad account is not banned yet: its case is a dry-run decision in the outbox
    caught_live = {item.payload["member"] for item in OutboxItem.objects.filter(community=community, kind="open_case")}
    ad_accounts = banned | set(Identity.objects.filter(community=community, account_id__in=caught_live)
                               .values_list("member_id", flat=True))
    assert set(cases.values_list("member_id", flat=True)) <= ad_accounts

"""Memberships three ways: upserted batch by batch, folded over a whole load and written once
(a bulk load), and worked out from the log (a bulk load stopped early): the same rows."""

from __future__ import annotations

import random

import pytest
from django.db import connection, transaction

from qunyun.bus.memberships import MembershipFold, memberships_from_log
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Identity, Member, Membership
from qunyun.communities.services import channel_create, community_create
from qunyun.core import events as ev
from tests.conftest import at
from tests.factories import join, leave, message, reaction

pytestmark = pytest.mark.django_db(transaction=True)


def _history(rng: random.Random) -> list[ev.Event]:
    """Members posting, reacting, joining (by link, invited) and leaving (left, removed), two
    chats, with ties in time (a leave and a post in the same second) and reactions dated late."""
    events: list[ev.Event] = []
    for n in range(400):
        who = rng.randrange(12)
        when = at(rng.randrange(300) / 2)  # half minutes: many ties
        chat = "fake:room1" if rng.random() < 0.7 else "fake:room2"
        roll = rng.random()
        if roll < 0.12:
            events.append(join(f"j{n}", who, when, chat=chat, link="https://t.me/+tea" if rng.random() < 0.5 else None,
                               via=ev.JoinMethod.INVITE_LINK if rng.random() < 0.5 else ev.JoinMethod.INVITED,
                               inviter=rng.randrange(12) if rng.random() < 0.5 else None))
        elif roll < 0.22:
            events.append(leave(f"l{n}", who, when, chat=chat,
                                reason=ev.LeaveReason.LEFT if rng.random() < 0.5 else ev.LeaveReason.REMOVED))
        elif roll < 0.35:
            events.append(reaction(f"r{n}", who, n - 1, at(rng.randrange(600) / 2), chat=chat))
        else:
            events.append(message(n, who, when, chat=chat))
    # The end of the story, after every other event: 0 leaves; 1 posts and leaves in the same
    # second, 2 leaves and posts in the same second (the later one decides).
    end = at(400)
    events += [leave("l-end0", 0, end), message("m-end1", 1, end), leave("l-end1", 1, end),
               leave("l-end2", 2, end), message("m-end2", 2, end)]
    return events


def _batches(events: list[ev.Event], rng: random.Random) -> list[list[ev.Event]]:
    """The events in batches of random sizes, the batches in random order (times go back between them)."""
    out, start = [], 0
    while start < len(events):
        size = rng.randint(1, 60)
        out.append(events[start:start + size])
        start += size
    rng.shuffle(out)
    return out


def _memberships(community) -> list[tuple]:
    accounts = dict(Identity.objects.filter(community=community).values_list("member_id", "account_id"))
    rows = Membership.objects.filter(group__community=community).values_list(
        "group__chat_id", "member_id", "is_member", "joined_at", "left_at", "first_seen_at", "join_method",
        "leave_reason", "channel__code", "inviter_id", "state_at")
    members = Member.objects.filter(community=community).values_list("pk", "first_seen_at", "channel__code")
    return sorted((chat, accounts[m], *rest[:7], accounts.get(rest[7]), rest[8]) for chat, m, *rest in rows) + sorted(
        ("member", accounts[pk], first, channel) for pk, first, channel in members)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fold_over_the_whole_load_and_the_log_give_the_memberships_of_the_batch_path(seed):
    rng = random.Random(seed)
    batches = _batches(_history(rng), rng)
    results = []
    for way in ("batches", "fold", "log"):
        community = community_create(slug=f"{way}{seed}", name=way, time_zone="UTC")
        channel_create(community=community, code="tea-link", name="Tea link", invite_link="https://t.me/+tea")
        runtime = Runtime(community, mode="import")
        store = runtime.store
        if way != "batches":
            store.rollups = False
            store.membership_fold = MembershipFold()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM qunyun_event")
            since = cursor.fetchone()[0]
        for batch in batches:
            runtime.ingest_batch(batch)
        with transaction.atomic():
            if way == "fold":
                store.membership_fold.write(store._accounts, store._dt)
            elif way == "log":
                memberships_from_log(community.pk, since)
        results.append(_memberships(community))
    state = {row[1]: row[2] for row in results[0] if row[0] == "fake:room1"}
    assert (state["fake:u0"], state["fake:u1"], state["fake:u2"]) == (False, False, True)
    assert results[1] == results[0]
    assert results[2] == results[0]

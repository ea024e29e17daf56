"""Rows moderation reads with plain SQL come back converted exactly as the ORM converts them."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.db import connection

from qunyun.communities.models import Community, Event
from qunyun.moderation.executors import _event_with_community
from qunyun.moderation.rawrows import aware, in_model_order, model_from_row
from tests.conftest import at
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_raw_community_row_matches_the_orm_field_by_field(community):
    community.settings = {"welcome": {"default": "你好 {name}"}, "flags": [1, 2]}
    community.dry_run = True
    community.time_zone = "Asia/Shanghai"
    community.save()
    names = in_model_order(Community, ("settings", "id", "dry_run", "time_zone", "created_at"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(names)} FROM {Community._meta.db_table} WHERE id = %s", [community.pk])
        row = cursor.fetchone()
    raw = model_from_row(Community, names, row)
    orm = Community.objects.get(pk=community.pk)
    for name in names:
        assert getattr(raw, name) == getattr(orm, name), name
    assert raw.dry_run is True and raw.settings["flags"] == [1, 2]
    assert raw.created_at.tzinfo is not None


def test_the_event_a_case_is_about_carries_its_community_and_author(live_path, community):
    live_path.ingest([message(1, 7, at(), "早上好")], now=at(0.1))
    stored = Event.objects.get(message_id="1")
    event = _event_with_community(stored.pk)
    assert (event.pk, event.text, event.at, event.member_id) == (stored.pk, "早上好", stored.at, stored.member_id)
    assert event.at.tzinfo is not None
    assert event.community.slug == community.slug and event.community.dry_run is False
    assert event.member.display_name == "user7"
    assert _event_with_community(stored.pk + 1000) is None


def test_aware_reads_every_shape_a_driver_gives():
    utc = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    assert aware(None) is None
    assert aware(utc) is utc
    assert aware(datetime(2026, 3, 1, 12, 30)) == utc
    assert aware("2026-03-01 12:30:00") == utc
    assert aware("2026-03-01T20:30:00+08:00") == utc

"""Days, hours and weeks across daylight-saving changes (America/New_York, 2026)."""

from __future__ import annotations

import pytest

from qunyun.analytics.cohorts import lifecycle_get
from qunyun.analytics.heatmap import heatmap_get
from qunyun.analytics.overview import daily_series
from qunyun.analytics.rollups import rollups_rebuild
from qunyun.analytics.scope import scope_build
from qunyun.analytics.talk import talk_get
from qunyun.bus.runtime import Runtime
from qunyun.communities.services import community_create
from tests.analytics.history import local
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)

from zoneinfo import ZoneInfo  # noqa: E402

NY = ZoneInfo("America/New_York")


@pytest.fixture
def new_york(db):
    community = community_create(slug="ny", name="New York", time_zone="America/New_York")
    Runtime(community, mode="import").ingest([
        message("m1", 2, local(3, 7, 23, 30, tz=NY), "sat night", name="Bob"),   # EST, 04:30 UTC Mar 8
        message("m2", 2, local(3, 8, 3, 30, tz=NY), "clocks moved", name="Bob"),  # EDT: 02:00 never happened
        message("m3", 3, local(3, 8, 23, 30, tz=NY), "late", name="Cat"),  # 03:30 UTC on Mar 9
        message("m4", 3, local(3, 9, 0, 10, tz=NY), "later", name="Cat"),
        message("f3", 3, local(10, 31, 23, 59, tz=NY), "halloween", name="Cat"),
        message("f1", 2, local(11, 1, 1, 30, tz=NY), "first 1:30", name="Bob"),  # 05:30 UTC, EDT
        message("f2", 2, local(11, 1, 1, 30, tz=NY).replace(hour=6), "second 1:30", name="Bob"),  # 06:30 UTC, EST
    ])
    return community


def test_spring_forward_days_and_hours(new_york):
    scope = scope_build(community=new_york, start="2026-03-07", end="2026-03-09")
    assert [(r["date"], r["messages"]) for r in daily_series(scope)] == [
        ("2026-03-07", 1), ("2026-03-08", 2), ("2026-03-09", 1)]
    h = heatmap_get(scope)
    cells = {(w, hour): n for w in range(7) for hour, n in enumerate(h["messages"][w]) if n}
    assert cells == {(5, 23): 1, (6, 3): 1, (6, 23): 1, (0, 0): 1}  # Sat 23, Sun 03 (no 02), Sun 23, Mon 00
    # 23:30 → 00:10 is 40 minutes of silence: two conversations, on two local days.
    assert [d["conversations"] for d in talk_get(scope)["daily"]] == [1, 2, 1]


def test_weeks_start_on_monday_across_dst(new_york):
    scope = scope_build(community=new_york, start="2026-03-07", end="2026-03-09")
    rows = {r["period"]: r for r in lifecycle_get(scope, period="week")}
    assert (rows["2026-03-02"]["new"], rows["2026-03-02"]["active"]) == (2, 2)
    assert (rows["2026-03-09"]["returning"], rows["2026-03-09"]["dormant"]) == (1, 1)


def test_fall_back_repeated_hour_counts_both(new_york):
    scope = scope_build(community=new_york, start="2026-10-31", end="2026-11-01")
    assert [(r["date"], r["messages"], r["active_members"]) for r in daily_series(scope)] == [
        ("2026-10-31", 1, 1), ("2026-11-01", 2, 1)]
    h = heatmap_get(scope)
    assert h["messages"][6][1] == 2  # both passes through 01:00 on Sunday
    assert h["member_hours"][6][1] == 1 and h["active_members"][6][1] == 1.0  # one member, one local hour
    before = heatmap_get(scope)
    rollups_rebuild(new_york)
    assert heatmap_get(scope) == before


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
                                       "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"])
def test_the_sql_local_hour_is_the_zones_hour_at_every_moment(db, zone_name):
    """The local hour the rollups compute in SQL (whole-hour zones read only the UTC hour; others
    the minutes too) equals the zone's own, every 15 minutes across a year and both DST switches."""
    from datetime import datetime, timedelta, timezone

    from django.db import connection

    from qunyun.analytics import sql
    from qunyun.analytics.periods import offset_spans

    zone = ZoneInfo(zone_name)
    first = datetime(2026, 1, 1, 0, 7, 12, tzinfo=timezone.utc)
    moments = [first + timedelta(minutes=15 * k) for k in range(365 * 96)]
    spans = offset_spans(zone_name, moments[0], moments[-1])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE moments (at TEXT)" if connection.vendor == "sqlite"
                       else "CREATE TEMP TABLE moments (at TIMESTAMPTZ)")
        cursor.executemany("INSERT INTO moments (at) VALUES (%s)",
                           [(m.strftime("%Y-%m-%d %H:%M:%S.%f") if connection.vendor == "sqlite" else m,)
                            for m in moments])
        cursor.execute(f"SELECT {sql.local_hour_of('at', spans)} FROM moments ORDER BY at", [])  # (%% escapes)
        hours = [row[0] for row in cursor.fetchall()]
        cursor.execute("DROP TABLE moments")
    expected = [m.astimezone(zone).hour for m in moments]
    wrong = [(m.isoformat(), got, want) for m, got, want in zip(moments, hours, expected) if got != want]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize("zone_name", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14, UTC-11
def test_a_group_filter_reads_the_log_by_local_day_at_the_days_edges(db, zone_name):
    """With a group filter the joins, invitations and payments are found in the log by time (the
    UTC days around the local ones): events minutes inside the range's first and last local day
    count, those minutes outside do not, in zones far from UTC either way."""
    from qunyun.analytics.funnel import funnel_get
    from qunyun.core import events as ev
    from tests.factories import CHAT, account, join

    tz = ZoneInfo(zone_name)
    community = community_create(slug="far", name="Far", time_zone=zone_name)
    Runtime(community, mode="import").ingest([
        join("j0", 1, local(3, 1, 23, 55, tz=tz), name="Early"),  # the evening before the range
        join("j1", 2, local(3, 2, 0, 5, tz=tz), name="First", inviter=1),
        ev.PaymentMade(chat=CHAT, event_id="p1", at=local(3, 2, 0, 10, tz=tz), member=account(2), amount="5"),
        join("j2", 3, local(3, 4, 23, 55, tz=tz), name="Last"),
        ev.PaymentMade(chat=CHAT, event_id="p2", at=local(3, 4, 23, 58, tz=tz), member=account(3), amount="5"),
        join("j3", 4, local(3, 5, 0, 5, tz=tz), name="After"),  # the morning after it
    ])
    everyone = scope_build(community=community, start="2026-03-02", end="2026-03-04")
    group = scope_build(community=community, start="2026-03-02", end="2026-03-04", groups=[CHAT])
    for scope in (everyone, group):
        assert [(r["date"], r["joins"]) for r in daily_series(scope)] == [
            ("2026-03-02", 1), ("2026-03-03", 0), ("2026-03-04", 1)], scope
        total = funnel_get(scope)["total"]
        assert (total["acquired"], total["converted"]) == (2, 2), scope
    assert funnel_get(group, from_events=True) == funnel_get(group)

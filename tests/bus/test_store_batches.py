"""The store's batch path: stored times and local days, new rows found after partial duplicates."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from qunyun.analytics.models import GroupHour
from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Event
from qunyun.communities.services import community_create
from qunyun.core import events as ev
from tests.conftest import at
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)

UTC = timezone.utc


@pytest.mark.parametrize("zone_name", ["Asia/Kolkata", "Europe/Berlin", "America/St_Johns", "Asia/Shanghai"])
def test_stored_times_local_days_and_hours_follow_the_zone(zone_name):
    """Times are stored to the microsecond; day and hour are local, across half-hour offsets and DST."""
    community = community_create(slug="zone", name="Zone", time_zone=zone_name)
    tz = ZoneInfo(zone_name)
    moments = []
    for base in (datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
                 datetime(2026, 3, 8, 2, 0, tzinfo=UTC), datetime(2026, 11, 1, 3, 0, tzinfo=UTC)):
        # Every 7 minutes 13 seconds for 5 hours around each switch, some with microseconds.
        for i in range(42):
            moments.append(base + timedelta(seconds=433 * i, microseconds=(i % 3) * 250_001))
    Runtime(community, mode="import").ingest([message(i, i % 4, m) for i, m in enumerate(moments)], batch_size=50)
    stored = {e.message_id: e for e in Event.objects.filter(community=community)}
    assert len(stored) == len(moments)
    for i, moment in enumerate(moments):
        row = stored[str(i)]
        assert row.at == moment
        assert row.day == moment.astimezone(tz).date()
    hours: dict[tuple, int] = {}
    for i, moment in enumerate(moments):
        local = moment.astimezone(tz)
        key = (local.date(), local.hour)
        hours[key] = hours.get(key, 0) + 1
    got = {(h.day, h.hour): h.messages for h in GroupHour.objects.filter(community=community)}
    assert got == hours


def test_times_that_are_not_utc_are_stored_as_utc(community):
    shanghai = datetime(2026, 3, 2, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # 15:30 UTC
    Runtime(community, mode="import").ingest([message(1, 1, shanghai)])
    row = Event.objects.get()
    assert row.at == shanghai and row.at.astimezone(UTC).hour == 15
    assert str(row.day) == "2026-03-02"


def test_a_batch_with_some_duplicates_reports_the_new_rows_with_their_ids(community):
    runtime = Runtime(community, mode="live", handlers={})
    runtime.ingest([message(1, 1, at()), message(3, 1, at(2))])
    stored = runtime.store.store([message(1, 1, at()), message(2, 2, at(1)), message(3, 1, at(2)),
                                  message(4, 2, at(3))])
    assert [s.event.event_id for s in stored] == ["2", "4"]
    ids = dict(Event.objects.filter(community=community).values_list("message_id", "id"))
    assert [s.id for s in stored] == [ids["2"], ids["4"]]
    assert [s.member.display_name for s in stored] == ["user2", "user2"]
    assert runtime.store.store([message(2, 2, at(1))]) == []


def test_every_event_kind_is_stored_with_its_details(community):
    chat = "fake:room1"
    u1, u2 = ev.Account("fake:u1", "user1"), ev.Account("fake:u2", "user2")
    edited = at(5)
    events = [
        ev.MemberJoined(chat=chat, event_id="j", at=at(0), member=u2, via=ev.JoinMethod.INVITED, inviter=u1,
                        invite_link="https://t.me/+x"),
        ev.MessagePosted(chat=chat, event_id="m", at=at(1), author=u1, text="hi @user2 @ghost", kind=ev.MessageKind.TEXT,
                         mentions=("fake:u2", "fake:ghost"), thread="t1", forwarded=True, edited_at=edited),
        ev.MessageEdited(chat=chat, event_id="e", at=at(2), message_id="m", author=u1, text="hi all"),
        ev.ReactionAdded(chat=chat, event_id="r", at=at(3), message_id="m", author=u2, emoji="🍵"),
        ev.MessageDeleted(chat=chat, event_id="d", at=at(4), message_id="m", by=u1),
        ev.MemberRenamed(chat=chat, event_id="n", at=at(6), member=ev.Account("fake:u2", "Bob"), old_name="user2"),
        ev.PaymentMade(chat=chat, event_id="p", at=at(7), member=u2, amount="9.90", reference="order 7"),
        ev.MemberLeft(chat=chat, event_id="l", at=at(8), member=u2, reason=ev.LeaveReason.REMOVED, by=u1),
    ]
    Runtime(community, mode="import", keep_raw=False).ingest(events)
    rows = {e.type: e for e in Event.objects.filter(community=community).select_related("member", "actor")}
    assert (rows["join"].detail, rows["join"].actor.display_name, rows["join"].data) == (
        "invited", "user1", {"invite_link": "https://t.me/+x"})
    msg = rows["message"]
    assert msg.mentions == [rows["join"].member_id] and msg.data == {
        "mentions_unresolved": ["fake:ghost"], "thread": "t1", "forwarded": True,
        "edited_at": edited.isoformat()}
    assert (rows["edit"].message_id, rows["edit"].text) == ("m", "hi all")
    assert (rows["reaction"].message_id, rows["reaction"].detail) == ("m", "🍵")
    assert rows["delete"].member.display_name == "user1"
    assert rows["rename"].data == {"old_name": "user2", "new_name": "Bob"}
    assert rows["payment"].data == {"amount": "9.90", "currency": "CNY", "reference": "order 7"}
    assert (rows["leave"].detail, rows["leave"].actor.display_name) == ("removed", "user1")

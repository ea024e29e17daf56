"""A small hand-built community for the console tests, fed through the real bus.

Tea lovers (Asia/Shanghai), "today" frozen at 2026-03-20 (local):

=========  =====================  ===============================  ==================  =========
member     account                groups now                       msgs (last 30 d)    last active
=========  =====================  ===============================  ==================  =========
Ann        fake:u1                Tea Room, Matcha Club            5 (+1 reaction)     03-19
Bob        fake:u2 (was "Bobby")  Tea Room                         3                   03-18
Cheng 程   fake:u3                Matcha Club                      1 (+2 old, 02-01)   03-10
Dora       fake:u4                Tea Room                         0 (joined only)     –
Eve        fake:u5                — (left Tea Room)                2                   03-05
Spam bot   fake:u9 (bot)          Tea Room                         —                   —
=========  =====================  ===============================  ==================  =========
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from qunyun.bus.runtime import Runtime
from qunyun.communities.models import Member
from qunyun.communities.services import channel_create, goal_create, group_create
from qunyun.core import events as ev
from tests.factories import account, join, message, reaction

TEA = "fake:tea"
MATCHA = "fake:matcha"
TODAY = date(2026, 3, 20)
NOW = datetime(2026, 3, 20, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai


def t(month: int, day: int, hour: int = 2, minute: int = 0) -> datetime:
    """A UTC time (02:00 UTC = 10:00 in Shanghai, the same local day)."""
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture
def frozen_today(monkeypatch):
    """Freeze the console's "today" (and every timezone.now()) at :data:`NOW`."""
    from django.utils import timezone as dj_timezone

    monkeypatch.setattr(dj_timezone, "now", lambda: NOW)
    return TODAY


@pytest.fixture
def tea(community, frozen_today):
    """The community above, built by ingesting events."""
    community.theme = "Chinese tea, brewed well"
    community.target_members = "Tea drinkers in Shanghai"
    community.core_value = "Learn to brew; meet people who care"
    community.slogan = "一杯好茶"
    community.owner = "Lin"
    community.save()
    channel_create(community=community, code="poster", name="Poster QR", invite_link="https://t.example/poster")
    group_create(community=community, chat_id=TEA, name="Tea Room", size_cap=500)
    group_create(community=community, chat_id=MATCHA, name="Matcha Club")
    goal_create(community=community, title="300 members", target=300, due=date(2026, 12, 31),
                start=date(2026, 1, 1))
    goal_create(community=community, title="Weekly active 4", metric="weekly_active", target=4,
                due=date(2026, 6, 30), start=date(2026, 3, 1))
    events = [
        join("j1", 1, t(2, 1), chat=TEA, name="Ann", link="https://t.example/poster"),
        join("j2", 2, t(2, 1, 3), chat=TEA, name="Bobby"),
        join("j3", 3, t(2, 1, 4), chat=MATCHA, name="Cheng 程"),
        join("j4", 4, t(3, 15), chat=TEA, name="Dora"),
        join("j5", 5, t(2, 2), chat=TEA, name="Eve"),
        join("j1m", 1, t(2, 3), chat=MATCHA, name="Ann"),
        message("c-old1", 3, t(2, 1, 5), chat=MATCHA, name="Cheng 程"),
        message("c-old2", 3, t(2, 1, 6), chat=MATCHA, name="Cheng 程"),
        message("c1", 3, t(3, 10), chat=MATCHA, name="Cheng 程"),
        message("e1", 5, t(3, 4), chat=TEA, name="Eve"),
        message("e2", 5, t(3, 5), chat=TEA, name="Eve"),
        ev.MemberLeft(chat=TEA, event_id="l5", at=t(3, 6), member=account(5, "Eve")),
        message("b1", 2, t(3, 16), chat=TEA, name="Bobby"),
        message("b2", 2, t(3, 17), chat=TEA, name="Bob"),
        message("b3", 2, t(3, 18), chat=TEA, reply_to="a1", name="Bob"),
        message("a1", 1, t(3, 15), chat=TEA, name="Ann"),
        message("a2", 1, t(3, 16), chat=TEA, name="Ann"),
        message("a3", 1, t(3, 19), chat=TEA, name="Ann"),
        message("a4", 1, t(3, 19, 3), chat=MATCHA, name="Ann"),
        message("a5", 1, t(3, 19, 4), chat=MATCHA, name="Ann"),
        reaction("r1", 1, "b1", t(3, 16, 5), chat=TEA),
    ]
    # A bot is a member flagged as such: left out of figures, shown under "bots".
    events.append(message("spam1", 9, t(3, 19), chat=TEA, text="cheap tea", name="Spam bot", bot=True))
    Runtime(community, mode="import").ingest(events)
    return community


@pytest.fixture
def ids(tea):
    """``{name: member id}`` of the members above."""
    return {m.display_name: m.pk for m in Member.objects.filter(community=tea)}

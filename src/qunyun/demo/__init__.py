"""The community simulator behind ``qunyun demo`` (and a fast event generator for benchmarks).

It produces the normalized events (:mod:`qunyun.core.events`) a real platform would, so the
demo community is built through the same bus as a live group or an imported export — never
by writing tables directly.

Seeded and deterministic: the same seed, size and ``end`` give the same events, byte for byte,
on any machine (only :class:`random.Random` with string seeds is used, no hash-ordered sets).

What it simulates (the demo plan, :func:`~qunyun.demo.plan.demo_plan`):

* a tea-and-coffee learning community (profile, rules, three dated goals), time zone
  Asia/Shanghai, about 90 days ending at ``end`` (default: now);
* three groups: a paid small class of about 40 members and a 140-member group on QQ
  (``onebot:qq:…``), and a 400-member Telegram group (``telegram:…``) — below, inside and
  above the Dunbar bands;
* four acquisition channels (referral, WeChat article, Bilibili video, lucky-draw giveaway)
  with their own invite links and clearly different activation and churn; joins carry the
  link (or the inviter), so they are attributed;
* heavy-tailed activity (log-normal rates, a few very chatty members, many lurkers who join and
  never speak), workday/weekend hour profiles, a weekly live session in two groups;
* replies and mentions whose targets are chosen by "attraction", so a handful of opinion
  leaders are answered far more than their message count would suggest;
* churn (members leave; an admin removes long-silent lurkers after a notice), ad accounts whose
  ads (加V信, full-width digits, short links) are deleted and who are banned, nickname changes
  (``MemberRenamed`` on QQ, a new name on later messages everywhere), members of the big QQ group
  who pay for the small class and join it too, tea-ware orders (``PaymentMade``), reactions, and
  retracted messages.

API
---
``simulate(*, seed=1, days=90, end=None, scale=1.0, members=None, target_messages=None,
on_day=None) -> Iterator[Event]``
    The events in time order, produced one day at a time (memory holds one day, not the
    history). Without ``members`` it is the demo community (``scale`` multiplies group sizes
    and volume; ``target_messages`` overrides the volume). With ``members`` it is a big
    community of that many distinct accounts in many groups
    (:func:`~qunyun.demo.plan.scaled_plan`) with about ``target_messages`` messages, e.g.
    ``simulate(seed=7, days=90, members=200_000, target_messages=10_000_000,
    end=datetime(2026, 6, 1, tzinfo=UTC))`` for the analytics benchmark. ``end`` is an aware
    datetime (a ``date`` means the end of that local day). The roster is built before the first
    event (a few seconds for 200,000 members).

``Simulator(plan, seed=...)``
    The same, with access to the plan and the ground truth (``.population``: people, roles,
    stints) that tests compare the events with; ``.events()`` then ``.live_tail()``.

``build_demo(...)`` (in :mod:`qunyun.demo.build`, needs Django)
    Creates the community, its groups, channels and goals, and feeds the history through
    :class:`qunyun.bus.runtime.Runtime` in ``import`` mode, then the live tail in ``live`` mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from qunyun.core.events import Event
from qunyun.core.timeutil import UTC, zone

from .plan import CommunityPlan, demo_plan, scaled_plan
from .simulator import Simulator

__all__ = ["CommunityPlan", "Simulator", "demo_plan", "resolve_end", "scaled_plan", "simulate", "make_plan"]

DEMO_TIME_ZONE = "Asia/Shanghai"


def resolve_end(end: datetime | date | None, time_zone: str = DEMO_TIME_ZONE) -> datetime:
    """``end`` as an aware UTC datetime: now by default; a date is the end of that local day."""
    if end is None:
        return datetime.now(UTC).replace(microsecond=0)
    if isinstance(end, datetime):
        if end.tzinfo is None:
            raise ValueError("end must be timezone-aware (or a date)")
        return end.astimezone(UTC)
    midnight = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone(time_zone))
    return midnight.astimezone(UTC) - timedelta(seconds=1)


def make_plan(*, seed: int = 1, days: int = 90, end: datetime | date | None = None, scale: float = 1.0,
              members: int | None = None, target_messages: int | None = None) -> CommunityPlan:
    """The plan :func:`simulate` uses for these arguments."""
    if days < 1:
        raise ValueError("days must be at least 1")
    moment = resolve_end(end)
    if members is not None:
        return scaled_plan(seed=seed, members=members, target_messages=target_messages or members * 50,
                           days=days, end=moment)
    if scale <= 0:
        raise ValueError("scale must be positive")
    plan = demo_plan(seed=seed, days=days, end=moment, scale=scale)
    return replace(plan, target_messages=target_messages) if target_messages else plan


def simulate(*, seed: int = 1, days: int = 90, end: datetime | date | None = None, scale: float = 1.0,
             members: int | None = None, target_messages: int | None = None,
             on_day: Callable[[int, int], None] | None = None) -> Iterator[Event]:
    """The simulated history as a stream of events, in time order (see the module docstring)."""
    plan = make_plan(seed=seed, days=days, end=end, scale=scale, members=members, target_messages=target_messages)
    return Simulator(plan, seed=seed).events(on_day=on_day)

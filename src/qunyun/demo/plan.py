"""What the simulator builds: a community's profile, groups, channels, goals — as plain data.

:func:`demo_plan` is the curated three-group community behind ``qunyun demo``;
:func:`scaled_plan` generates many groups for a big community (benchmarks). The simulator
(:mod:`.simulator`) turns a plan into events; :mod:`.build` turns its profile into rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from qunyun.core.timeutil import UTC, zone


@dataclass(frozen=True)
class ChannelPlan:
    """An acquisition channel and how good the people it brings are.

    ``activation`` is the chance a joiner ever posts; ``activity`` multiplies the posting rate
    of those who do; ``churn_30d`` is the chance of leaving within 30 days of joining.
    """

    code: str
    name: str
    invite_link: str
    description: str
    share: float
    activation: float
    activity: float
    churn_30d: float


@dataclass(frozen=True)
class GroupPlan:
    """One group and its character.

    ``size`` is the number of members present at the end of the window (or, when
    ``size_is_joiners``, the number of accounts that ever joined). ``founded_day`` counts days
    from the start of the window. ``chattiness`` scales the posting rates of its members,
    ``activation`` the chance that a joiner ever posts; ``water`` is the share of small talk,
    ``english`` the share of English messages. ``weekly_event`` is ``(weekday, hour)`` of a
    recurring live session (Monday = 0) that makes the chat busy for ninety minutes.
    ``owner_from`` names an earlier group whose owner and admins also run this one.
    """

    chat_id: str
    name: str
    size: int
    size_cap: int | None = None
    founded_day: int = 0
    chattiness: float = 1.0
    activation: float = 1.0
    water: float = 0.25
    english: float = 0.02
    admins: int = 1
    leaders: int = 2
    chatty: int = 2
    spam_accounts: int = 0
    weekly_event: tuple[int, int] | None = None
    weekend_factor: float = 1.15
    lurker_cleanup_day: int | None = None
    owner_from: int | None = None
    size_is_joiners: bool = False

    @property
    def platform(self) -> str:
        return self.chat_id.partition(":")[0]

    @property
    def account_prefix(self) -> str:
        """Accounts on the same platform as this chat (``onebot:qq:`` for a QQ group)."""
        head, _, rest = self.chat_id.partition(":")
        if head == "onebot":
            return "onebot:" + rest.partition(":")[0] + ":"
        return head + ":"


@dataclass(frozen=True)
class OverlapPlan:
    """``count`` posting members of group ``src`` also join group ``dst`` (same platform).

    With ``payment`` (an amount as text) each of them pays before joining: the conversion
    to a paid group. ``leaders`` of them are ``src``'s opinion leaders, invited to teach.
    """

    src: int
    dst: int
    count: int
    payment: str | None = None
    reference: str = ""
    leaders: int = 0


@dataclass(frozen=True)
class GoalPlan:
    title: str
    metric: str
    target: float
    due_in_days: int  # after the end of the window


@dataclass(frozen=True)
class CommunityPlan:
    """Everything the simulator needs. ``end`` is an aware datetime: the simulated "now"."""

    slug: str
    name: str
    theme: str
    target_members: str
    core_value: str
    slogan: str
    rules_text: str
    owner: str
    time_zone: str
    groups: tuple[GroupPlan, ...]
    channels: tuple[ChannelPlan, ...]
    goals: tuple[GoalPlan, ...] = ()
    overlaps: tuple[OverlapPlan, ...] = ()
    days: int = 90
    end: datetime = field(default_factory=lambda: datetime.now(UTC))
    target_messages: int = 60_000
    organic_share: float = 0.08  # joins through no channel (found the group by search)
    rename_share: float = 0.1
    payment_share: float = 0.01  # members of any group who buy something (a tea-ware order)

    @property
    def end_day(self) -> date:
        """The last local day of the window (the day ``end`` falls on)."""
        return self.end.astimezone(zone(self.time_zone)).date()

    @property
    def start(self) -> datetime:
        """Local midnight of the first day of the window, in UTC."""
        first = self.end_day - timedelta(days=self.days - 1)
        return datetime(first.year, first.month, first.day, tzinfo=zone(self.time_zone)).astimezone(UTC)


RULES_TEXT = (
    "茶咖研习社群规 / Group rules\n"
    "1. 友善交流，对事不对人；Be kind, argue about ideas, not people.\n"
    "2. 禁止广告、引流、二维码和联系方式；No ads, contact ids or QR codes.\n"
    "3. 不刷屏、不灌水，深夜（23:00-7:00）请勿@全体；No flooding.\n"
    "4. 提问前先看群公告和精华帖；Read the pinned notes before asking.\n"
    "5. 违规处理：提醒 → 禁言1天 → 禁言7天 → 移出群聊。\n"
    "发送 /群规 或 /rules 随时查看本群规。"
)


def _channels() -> tuple[ChannelPlan, ...]:
    return (
        ChannelPlan("referral", "老带新 · 朋友推荐", "https://hm.qunyun.demo/j/ref-2024",
                    "成员邀请好友，邀请人可得积分。", share=0.22, activation=0.78, activity=1.3, churn_30d=0.05),
        ChannelPlan("wechat-article", "公众号推文", "https://hm.qunyun.demo/j/gzh-tea",
                    "公众号「一叶一豆」文末活码。", share=0.33, activation=0.58, activity=1.0, churn_30d=0.10),
        ChannelPlan("bilibili", "B站视频", "https://hm.qunyun.demo/j/bili-bv",
                    "B站手冲教学视频简介里的群链接。", share=0.27, activation=0.36, activity=0.8, churn_30d=0.22),
        ChannelPlan("giveaway", "抽奖引流活动", "https://hm.qunyun.demo/j/lucky-draw",
                    "进群抽茶样的引流活动：人多，但留不住。", share=0.18, activation=0.11, activity=0.6,
                    churn_30d=0.55),
    )


def demo_plan(*, seed: int = 1, days: int = 90, end: datetime | None = None, scale: float = 1.0) -> CommunityPlan:
    """The demo community: three groups of about 40, 140 and 400 members on QQ and Telegram.

    ``scale`` shrinks or grows group sizes and the message volume together (tests use a
    small one). ``seed`` does not change the plan, only the simulation; it is accepted here so
    callers can pass one set of arguments to both.
    """
    del seed
    end = end or datetime.now(UTC)
    groups = (
        GroupPlan("onebot:qq:872301455", "茶咖研习社 · 精品小班", size=_scaled(40, scale), size_cap=50,
                  founded_day=min(12, days // 6), chattiness=2.0, activation=1.3, water=0.15, english=0.01,
                  admins=1, leaders=0, chatty=1, spam_accounts=0, weekly_event=(1, 20), weekend_factor=0.85,
                  owner_from=1),
        GroupPlan("onebot:qq:635920118", "茶咖研习社 1群", size=_scaled(140, scale), size_cap=200,
                  chattiness=1.25, activation=1.0, water=0.25, english=0.02, admins=1, leaders=3, chatty=3,
                  spam_accounts=max(1, _scaled(3, scale)), weekly_event=(2, 20), weekend_factor=1.2),
        GroupPlan("telegram:-1001876543210", "Tea & Coffee Lab 茶咖实验室", size=_scaled(400, scale),
                  chattiness=0.9, activation=0.7, water=0.4, english=0.25, admins=2, leaders=4, chatty=5,
                  spam_accounts=max(2, _scaled(7, scale)), weekend_factor=1.4,
                  lurker_cleanup_day=int(days * 0.75) if days >= 30 else None),
    )
    overlaps = (
        OverlapPlan(src=1, dst=0, count=_scaled(24, scale), payment="199.00", reference="精品小班-第3期",
                    leaders=min(2, _scaled(2, scale))),
    )
    goals = (
        GoalPlan("社群成员达到 800 人 / 800 members", "members", 800, due_in_days=75),
        GoalPlan("周活跃率 ≥ 35% / weekly active ≥ 35%", "weekly_active_rate", 35, due_in_days=30),
        GoalPlan("日均消息 1,500 条 / 1,500 messages a day", "messages_per_day", 1500, due_in_days=120),
    )
    return CommunityPlan(
        slug="demo",
        name="一叶一豆 · 茶咖研习社 (demo)",
        theme="茶与咖啡的学习型社群：品鉴、冲煮、器具与产地。Learning tea and coffee together.",
        target_members="刚入门到进阶的茶/咖啡爱好者，一二线城市的上班族和学生，25-40 岁为主。",
        core_value="每周一次线上茶话会和冲煮打卡，有老师答疑，一起把“喝”变成“懂”。",
        slogan="一叶一豆，一起慢慢变懂。",
        rules_text=RULES_TEXT,
        owner="叶子（群主）",
        time_zone="Asia/Shanghai",
        groups=groups,
        channels=_channels(),
        goals=goals,
        overlaps=overlaps,
        days=days,
        end=end,
        target_messages=max(200, int(60_000 * scale * days / 90)),
    )


def _scaled(n: int, scale: float) -> int:
    return max(1, int(round(n * scale)))


def scaled_plan(*, seed: int = 1, members: int, target_messages: int, days: int = 90,
                end: datetime | None = None) -> CommunityPlan:
    """A big community of about ``members`` distinct accounts in many groups (benchmarks).

    Group sizes follow a seeded mix of small (≤50), middle (50-150), large (150-500) and very
    large Telegram groups; about 5 % of members are also in a second group on the same platform.
    """
    if members < 10:
        raise ValueError("members must be at least 10")
    rng = random.Random(f"{seed}:scaled-plan")
    base = demo_plan(days=days, end=end)
    groups: list[GroupPlan] = []
    total = 0
    index = 0
    while total < members:
        roll = rng.random()
        qq = index % 2 == 0
        if roll < 0.2:
            size = rng.randint(20, 50)
        elif roll < 0.6:
            size = rng.randint(60, 150)
        elif roll < 0.92:
            size = rng.randint(160, 500)
        else:
            size, qq = rng.randint(800, 3000), False
        size = min(size, members - total) if members - total >= 10 else members - total
        if size < 10 and groups:  # fold a tiny remainder into the last group
            groups[-1] = replace(groups[-1], size=groups[-1].size + size)
            break
        chat = f"onebot:qq:{700000000 + index * 7919}" if qq else f"telegram:-100{1500000000 + index * 7919}"
        groups.append(GroupPlan(
            chat, f"茶咖研习社 {index + 1}群", size=size, size_cap=500 if qq else None,
            founded_day=0 if index % 3 else min(days // 3, rng.randint(0, 20)),
            chattiness=min(2.5, 60 / math.sqrt(size) / 3 + 0.4), activation=1.3 if size <= 50 else (0.7 if size > 150 else 1.0),
            water=0.2 + 0.3 * (size > 150), english=0.02 if qq else 0.2, admins=1 + (size > 150),
            leaders=max(1, size // 90), chatty=max(1, size // 60), spam_accounts=size // 120,
            weekly_event=(index % 5, 20) if index % 3 == 0 else None,
            weekend_factor=1.0 + rng.random() * 0.35, size_is_joiners=True,
            lurker_cleanup_day=int(days * 0.75) if size > 300 and days >= 30 else None,
        ))
        total += size
        index += 1
    overlaps = []
    for i, group in enumerate(groups):
        partners = [j for j, other in enumerate(groups) if j != i and other.platform == group.platform]
        if partners and group.size >= 20:
            overlaps.append(OverlapPlan(src=i, dst=partners[(i * 31) % len(partners)], count=max(1, group.size // 20)))
    return replace(base, slug="big", name="茶咖研习社 (scaled)", groups=tuple(groups), overlaps=tuple(overlaps),
                   target_messages=target_messages)

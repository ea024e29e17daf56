"""The simulated roster: who joins which group, when, through which channel, and how they behave.

Built once from a plan, before any message is generated: people (one platform account each)
with a role, a posting rate and an "attraction" (how much others answer them), and their
stints in groups (join, leave and why). Everything that is not an ordinary chat message — joins,
leaves, renames, payments, ads and their removal, announcements, newcomers' introductions — is
put on a time-ordered schedule that the simulator replays day by day.

Times are float Unix seconds here (cheap to compare and sort); events get datetimes at the end.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from qunyun.core.events import Account, JoinMethod, LeaveReason

from .plan import ChannelPlan, CommunityPlan, GroupPlan
from .rhythm import DAY, HourSampler
from .texts import LEADER_NAMES, SPAM_NAMES, STAFF_NAMES, nickname, renamed

OWNER, ADMIN, LEADER, CHATTY, REGULAR, SPAM = "owner", "admin", "leader", "chatty", "regular", "spam"


class Person:
    """One account on one platform (a person in two groups of that platform is one Person)."""

    __slots__ = ("index", "account_id", "role", "rate", "attract", "reply_p", "channel", "account", "renamed_account",
                 "rename_at", "stints")

    def __init__(self, index: int, account_id: str, name: str, role: str, rate: float, attract: float,
                 reply_p: float, channel: ChannelPlan | None) -> None:
        self.index = index
        self.account_id = account_id
        self.role = role
        self.rate = rate
        self.attract = attract
        self.reply_p = reply_p
        self.channel = channel
        self.account = Account(id=account_id, name=name)
        self.renamed_account: Account | None = None
        self.rename_at = math.inf
        self.stints: list[Stint] = []

    def account_at(self, ts: float) -> Account:
        """The account as an event at ``ts`` shows it (the new name after a rename)."""
        return self.renamed_account if ts >= self.rename_at else self.account  # type: ignore[return-value]

    @property
    def is_poster(self) -> bool:
        return self.rate > 0


class Stint:
    """A person's time in one group: ``join`` ≤ t < ``leave`` (``inf`` while still there)."""

    __slots__ = ("person", "group", "join", "leave", "leave_reason", "leave_by", "via", "inviter", "link", "rate")

    def __init__(self, person: Person, group: int, join: float, rate: float) -> None:
        self.person = person
        self.group = group
        self.join = join
        self.leave = math.inf
        self.leave_reason: LeaveReason | None = None
        self.leave_by: Person | None = None
        self.via = JoinMethod.INVITE_LINK
        self.inviter: Person | None = None
        self.link: str | None = None
        self.rate = rate

    def present(self, ts: float) -> bool:
        return self.join <= ts < self.leave


@dataclass
class Population:
    """The roster and the schedule of non-chat happenings, ordered by time."""

    people: list[Person] = field(default_factory=list)
    stints: list[list[Stint]] = field(default_factory=list)  # by group index
    owners: list[Person] = field(default_factory=list)
    admins: list[list[Person]] = field(default_factory=list)
    leaders: list[list[Person]] = field(default_factory=list)
    founded: list[float] = field(default_factory=list)
    # (ts, seq, kind, group, payload): kinds are join, leave, rename, pay, ad, del, announce, intro
    schedule: list[tuple] = field(default_factory=list)

    def add(self, ts: float, kind: str, group: int, payload) -> None:
        self.schedule.append((ts, len(self.schedule), kind, group, payload))


class _Ids:
    """Unique platform account ids, seeded (QQ numbers, Telegram user ids)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[int] = set()

    def new(self, prefix: str) -> str:
        low, high = (5_000_000_000, 7_999_999_999) if prefix == "telegram:" else (100_000_000, 3_999_999_999)
        while True:
            number = self.rng.randint(low, high)
            if number not in self.used:
                self.used.add(number)
                return f"{prefix}{number}"


def build_population(plan: CommunityPlan, seed: object, start: float, end: float, hours: HourSampler) -> Population:
    """The roster for ``plan`` between ``start`` and ``end`` (Unix seconds), seeded."""
    rng = random.Random(f"{seed}:people")
    ids = _Ids(random.Random(f"{seed}:ids"))
    pop = Population()
    n_groups = len(plan.groups)
    pop.stints = [[] for _ in range(n_groups)]
    pop.owners = [None] * n_groups  # type: ignore[list-item]
    pop.admins = [[] for _ in range(n_groups)]
    pop.leaders = [[] for _ in range(n_groups)]
    pop.founded = [start + g.founded_day * DAY + 9.5 * 3600 + rng.random() * 3600 for g in plan.groups]
    incoming = {i: sum(o.count for o in plan.overlaps if o.dst == i) for i in range(n_groups)}
    builder = _GroupBuilder(plan, rng, ids, pop, start, end, hours)
    order = sorted(range(n_groups), key=lambda i: plan.groups[i].owner_from is not None)
    for index in order:
        builder.build(index, incoming[index])
    for overlap in plan.overlaps:
        builder.overlap(overlap)
    builder.renames_and_payments()
    pop.schedule.sort(key=lambda item: (item[0], item[1]))
    return pop


class _GroupBuilder:
    def __init__(self, plan: CommunityPlan, rng: random.Random, ids: _Ids, pop: Population, start: float,
                 end: float, hours: HourSampler) -> None:
        self.plan, self.rng, self.ids, self.pop = plan, rng, ids, pop
        self.start, self.end, self.hours = start, end, hours
        self.channels = {c.code: c for c in plan.channels}
        self.cum_share = []
        total = 0.0
        for channel in plan.channels:
            total += channel.share
            self.cum_share.append((total, channel))

    # ----------------------------------------------------------------- people

    def person(self, prefix: str, name: str, role: str, channel: ChannelPlan | None, *, poster: bool = True,
               activity: float = 1.0) -> Person:
        r = self.rng
        if role == OWNER:
            rate, attract, reply_p = 4.0, 5.0, 0.35
        elif role == ADMIN:
            rate, attract, reply_p = 3.0, 3.0, 0.35
        elif role == LEADER:
            rate, attract, reply_p = 3.5 * (0.7 + 0.6 * r.random()), 14.0 * (0.8 + 0.45 * r.random()), 0.5
        elif role == CHATTY:
            rate, attract, reply_p = 11.0 * (0.7 + 0.7 * r.random()), 0.5, 0.3
        elif role == SPAM:
            rate, attract, reply_p = 0.0, 0.0, 0.0
        else:
            rate = min(9.0, r.lognormvariate(0.0, 1.1)) * activity if poster else 0.0
            attract, reply_p = r.lognormvariate(0.0, 0.35), 0.25
        person = Person(len(self.pop.people), self.ids.new(prefix), name, role, rate, attract, reply_p, channel)
        self.pop.people.append(person)
        return person

    def pick_channel(self, component: str) -> ChannelPlan | None:
        r = self.rng
        if component == "seed":
            roll = r.random()
            return self.channels.get("referral") if roll < 0.5 else (self.channels.get("wechat-article") if roll < 0.9 else None)
        if component in self.channels:
            return self.channels[component]
        if r.random() < self.plan.organic_share:
            return None
        roll = r.random() * self.cum_share[-1][0]
        for bound, channel in self.cum_share:
            if roll < bound:
                return channel
        return self.cum_share[-1][1]

    def at_local_hour(self, day_start: float, weekend: bool) -> float:
        return day_start + self.hours.sample(self.rng, weekend)

    def join_time(self, founded: float) -> tuple[float, str]:
        """When a regular member arrives, and through which wave (seed, a campaign, or steady growth)."""
        r = self.rng
        span_days = max(1.0, (self.end - founded) / DAY)
        roll = r.random()
        if roll < 0.2:
            day, component = r.random() * min(3.0, span_days), "seed"
        elif roll < 0.28 and span_days > 20:
            day, component = self._campaign_day(founded, 0.4) + r.expovariate(1 / 1.5), "bilibili"
        elif roll < 0.36 and span_days > 20:
            day, component = self._campaign_day(founded, 0.62) + r.expovariate(1 / 1.0), "giveaway"
        else:
            day, component = span_days * math.sqrt(r.random()), "growth"  # density rising with time
        day = min(day, span_days - 1e-6)
        midnight = self.start + math.floor((founded - self.start) / DAY + day) * DAY
        weekend = self.hours.is_weekend(midnight)
        return self.before_end(max(founded + 60, self.at_local_hour(midnight, weekend)), founded + 60), component

    def before_end(self, at: float, earliest: float) -> float:
        """``at``, or a moment in the last hour before the end when ``at`` is still in the future."""
        if at < self.end:
            return at
        low = min(max(earliest, self.end - 3600), self.end - 1)
        return low + self.rng.random() * (self.end - low)

    def _campaign_day(self, founded: float, fraction: float) -> float:
        return max(0.0, (self.start + self.plan.days * DAY * fraction - founded) / DAY)

    # ----------------------------------------------------------------- a group

    def build(self, index: int, incoming: int) -> None:
        plan, pop, r = self.plan, self.pop, self.rng
        group = plan.groups[index]
        prefix = group.account_prefix
        founded = pop.founded[index]
        platform_slot = 1 if group.platform == "telegram" else 0
        if group.owner_from is not None:
            owner = pop.owners[group.owner_from]
            admins = pop.admins[group.owner_from][: group.admins]
        else:
            suffix = "" if index < 3 else f" {index + 1}"
            owner = self.person(prefix, STAFF_NAMES["owner"][platform_slot] + suffix, OWNER, None)
            names = STAFF_NAMES["admin"]
            admins = [self.person(prefix, names[(platform_slot * 2 + k) % len(names)] + suffix, ADMIN, None)
                      for k in range(group.admins)]
        pop.owners[index], pop.admins[index] = owner, list(admins)
        stints = [self.stint(owner, index, founded, JoinMethod.CREATOR)]
        for k, admin in enumerate(admins):
            stint = self.stint(admin, index, founded + 120 + k * 60, JoinMethod.INVITED)
            stint.inviter = owner
            stints.append(stint)
        for k in range(group.leaders):
            channel = self.pick_channel("seed") or self.channels.get("referral")
            name = LEADER_NAMES[(index * 3 + k) % len(LEADER_NAMES)]
            leader = self.person(prefix, name if index < 3 else f"{name}{index}", LEADER, channel)
            pop.leaders[index].append(leader)
            midnight = self.start + math.floor((founded - self.start) / DAY + r.random() * 6) * DAY
            join = self.before_end(max(founded + 300, self.at_local_hour(midnight, False)), founded + 300)
            stints.append(self.channel_stint(leader, index, join, channel))
        for _ in range(group.chatty):
            join, component = self.join_time(founded)
            channel = self.pick_channel(component)
            stints.append(self.channel_stint(self.person(prefix, nickname(r), CHATTY, channel), index, join, channel))
        for _ in range(group.spam_accounts):
            self.spammer(index, prefix, founded)
        if group.size_is_joiners:
            for _ in range(max(0, group.size - group.spam_accounts - len(stints))):
                self.regular(index, prefix, founded)
            if group.lurker_cleanup_day is not None:
                self.lurker_cleanup(index, group)
        else:
            # Members present at the end: those still in, plus the ones coming from other groups.
            self.fill(index, prefix, founded, group.size - incoming)
            if group.lurker_cleanup_day is not None:
                self.lurker_cleanup(index, group)
                self.fill(index, prefix, founded, group.size - incoming)
        self.attribute_referrals(index)
        self.announcements(index, group)

    def fill(self, index: int, prefix: str, founded: float, target: int) -> None:
        """Add regular members until ``target`` members are present at the end."""
        present = sum(1 for s in self.pop.stints[index] if s.leave == math.inf)
        for _ in range(max(0, target - present) * 20):
            if present >= target:
                break
            present += self.regular(index, prefix, founded).leave == math.inf

    def stint(self, person: Person, index: int, join: float, via: JoinMethod) -> Stint:
        stint = Stint(person, index, join, person.rate * self.plan.groups[index].chattiness)
        stint.via = via
        person.stints.append(stint)
        self.pop.stints[index].append(stint)
        self.pop.add(join, "join", index, stint)
        return stint

    def channel_stint(self, person: Person, index: int, join: float, channel: ChannelPlan | None) -> Stint:
        if channel is None:
            stint = self.stint(person, index, join, JoinMethod.REQUEST)
        else:
            stint = self.stint(person, index, join, JoinMethod.INVITED if channel.code == "referral" else JoinMethod.INVITE_LINK)
            stint.link = channel.invite_link
        self.churn(stint, channel)
        return stint

    def regular(self, index: int, prefix: str, founded: float) -> Stint:
        r = self.rng
        group = self.plan.groups[index]
        join, component = self.join_time(founded)
        channel = self.pick_channel(component)
        activation = min(0.97, (channel.activation if channel else 0.5) * group.activation)
        poster = r.random() < activation
        english = 0.6 if group.platform == "telegram" else 0.1
        person = self.person(prefix, nickname(r, english_bias=english * 0.5), REGULAR, channel, poster=poster,
                             activity=channel.activity if channel else 0.9)
        stint = self.channel_stint(person, index, join, channel)
        if poster and r.random() < 0.5:
            self.pop.add(join + 60 + r.expovariate(1 / 2400), "intro", index, stint)
        return stint

    def churn(self, stint: Stint, channel: ChannelPlan | None) -> None:
        person = stint.person
        if person.role in (OWNER, ADMIN, LEADER):
            return
        p30 = channel.churn_30d if channel else 0.12
        if person.rate == 0:
            p30 = min(0.95, p30 * 1.3)
        elif person.rate > 2:
            p30 *= 0.4
        hazard = -math.log(1 - p30) / 30.0
        leave = stint.join + self.rng.expovariate(hazard) * DAY
        if leave < self.end:
            self.leave(stint, leave, LeaveReason.LEFT, None)

    def leave(self, stint: Stint, at: float, reason: LeaveReason, by: Person | None) -> None:
        if stint.leave != math.inf:
            return
        stint.leave, stint.leave_reason, stint.leave_by = at, reason, by
        self.pop.add(at, "leave", stint.group, stint)

    def spammer(self, index: int, prefix: str, founded: float) -> None:
        r = self.rng
        giveaway = self.channels.get("giveaway")
        channel = giveaway if r.random() < 0.6 else None
        name = SPAM_NAMES[int(r.random() * len(SPAM_NAMES))]
        person = self.person(prefix, name, SPAM, channel)
        span = self.end - founded - 3 * DAY
        join = self.before_end(founded + DAY + r.random() * max(DAY, span), founded + 60)
        stint = self.stint(person, index, join, JoinMethod.INVITE_LINK if channel else JoinMethod.REQUEST)
        stint.link = channel.invite_link if channel else None
        first = join + 120 + r.expovariate(1 / 20000)
        ads = [first] + [first + 30 + r.random() * 150 for _ in range(int(r.random() * 3))]
        admins = self.pop.admins[index] or [self.pop.owners[index]]
        moderator = admins[int(r.random() * len(admins))]
        deleted = []
        for k, at in enumerate(sorted(ads)):
            if at >= self.end:
                break
            self.pop.add(at, "ad", index, (stint, k))
            deleted.append(at + 60 + r.expovariate(1 / 1500))
        if deleted:
            for k, at in enumerate(deleted):
                self.pop.add(at, "del", index, (stint, k, moderator))
            self.leave(stint, max(deleted) + 30 + r.random() * 240, LeaveReason.BANNED, moderator)

    def attribute_referrals(self, index: int) -> None:
        """Give each referral join an inviter: a member already in the group at that time."""
        r = self.rng
        stints = sorted(self.pop.stints[index], key=lambda s: s.join)
        earlier: list[Stint] = []
        for stint in stints:
            if stint.via is JoinMethod.INVITED and stint.inviter is None and stint.link:
                present = [s for s in earlier[-200:] if s.present(stint.join) and s.person.role != SPAM]
                if present:
                    weights = [1 + s.person.rate for s in present]
                    stint.inviter = r.choices(present, weights)[0].person
                else:
                    stint.via = JoinMethod.INVITE_LINK
            earlier.append(stint)

    def lurker_cleanup(self, index: int, group: GroupPlan) -> None:
        """定期清理潜水: an admin removes some long-silent members after a notice a week earlier."""
        r = self.rng
        day = self.start + group.lurker_cleanup_day * DAY
        admin = (self.pop.admins[index] or [self.pop.owners[index]])[0]
        self.pop.add(day - 7 * DAY + 11 * 3600 + r.random() * 3600, "announce", index, (admin, "cleanup"))
        at = day + 10 * 3600
        for stint in list(self.pop.stints[index]):
            if stint.person.rate == 0 and stint.person.role == REGULAR and stint.join < day - 30 * DAY \
                    and stint.present(at) and r.random() < 0.3:
                at += 5 + r.random() * 40
                self.leave(stint, at, LeaveReason.REMOVED, admin)

    def announcements(self, index: int, group: GroupPlan) -> None:
        r = self.rng
        founded = self.pop.founded[index]
        staff = self.pop.admins[index] or [self.pop.owners[index]]
        at = founded + DAY + r.random() * 5 * DAY
        while at < self.end:
            midnight = self.start + math.floor((at - self.start) / DAY) * DAY
            self.pop.add(midnight + 12 * 3600 + r.random() * 2 * 3600, "announce", index, (r.choice(staff), "notice"))
            at += (6 + r.random() * 8) * DAY

    # ----------------------------------------------------------------- across groups

    def overlap(self, overlap) -> None:
        """Members of ``src`` who also join ``dst`` (converts to a paid group, or just curious)."""
        r = self.rng
        pop = self.pop
        dst_founded = pop.founded[overlap.dst]
        chosen: list[Person] = list(pop.leaders[overlap.src][: overlap.leaders])
        candidates = [s for s in pop.stints[overlap.src]
                      if s.person.role == REGULAR and s.person.rate > 0 and s.join < self.end - 5 * DAY
                      and s.leave == math.inf and len(s.person.stints) == 1]
        weights = [s.person.rate ** 0.5 for s in candidates]
        while len(chosen) < overlap.count and candidates:
            pick = r.choices(range(len(candidates)), weights)[0]
            chosen.append(candidates.pop(pick).person)
            weights.pop(pick)
        owner = pop.owners[overlap.dst]
        for person in chosen:
            src = next(s for s in person.stints if s.group == overlap.src)
            earliest = max(src.join, dst_founded) + DAY
            if earliest >= self.end - DAY:
                continue
            join = earliest + r.random() * min(30 * DAY, self.end - DAY - earliest)
            if overlap.payment is not None:
                stint = self.stint(person, overlap.dst, join, JoinMethod.INVITED)
                stint.inviter = owner
                if person.role != LEADER:
                    pop.add(join - 600 - r.random() * 6000, "pay", overlap.src,
                            (person, overlap.payment, f"{overlap.reference}-{person.index}"))
            else:
                stint = self.channel_stint(person, overlap.dst, join, person.channel)

    def renames_and_payments(self) -> None:
        r = self.rng
        plan = self.plan
        for person in self.pop.people:
            if not person.is_poster or person.role not in (REGULAR, CHATTY) or not person.stints:
                continue
            first = min(s.join for s in person.stints)
            if r.random() < plan.rename_share and first + DAY < self.end:
                at = first + DAY + r.random() * (self.end - first - DAY)
                person.rename_at = at
                person.renamed_account = Account(id=person.account_id, name=renamed(r, person.account.name or ""))
                for stint in person.stints:
                    # QQ announces a changed group card; Telegram shows it only on later messages.
                    if stint.present(at) and plan.groups[stint.group].platform == "onebot":
                        self.pop.add(at, "rename", stint.group, person)
            if r.random() < plan.payment_share:
                stint = person.stints[0]
                until = min(stint.leave, self.end)
                if until - stint.join > DAY:
                    at = stint.join + r.random() * (until - stint.join)
                    amount = r.choice(("68.00", "128.00", "39.90", "258.00"))
                    self.pop.add(at, "pay", stint.group, (person, amount, f"茶器团购-{person.index}"))

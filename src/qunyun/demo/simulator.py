"""The day-by-day simulation: a roster and a schedule in, normalized events out, in time order.

For each local day and each group: the number of messages is a Poisson draw from the present
members' posting rates (times the weekday factor, a little day-to-day noise, and the weekly live
session); each message gets a time from the hour profile and an author in proportion to their
rate. A message answers a recent one with the author's reply probability, and the one answered
is chosen in proportion to its author's *attraction* — opinion leaders are answered far more
often than they post, which is what makes them leaders in the reply graph rather than merely
prolific. Reactions go mostly to attractive authors too. Scheduled happenings (joins, leaves,
renames, payments, ads and their deletion, announcements, introductions) are merged in.

Events are produced one local day at a time, sorted, so memory stays at one day's worth even
for ten million messages.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import accumulate
from bisect import bisect_right

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC, zone

from .people import ADMIN, CHATTY, LEADER, OWNER, REGULAR, SPAM, Person, Population, Stint, build_population
from .plan import CommunityPlan
from .rhythm import DAY, HourSampler, poisson
from .texts import CLEANUP_NOTICE, EMOJIS, TextMaker

_TEXT, _IMAGE, _STICKER, _VOICE, _VIDEO, _LINK, _FILE = (
    ev.MessageKind.TEXT, ev.MessageKind.IMAGE, ev.MessageKind.STICKER, ev.MessageKind.VOICE, ev.MessageKind.VIDEO,
    ev.MessageKind.LINK, ev.MessageKind.FILE)

# What a member starts a message with (when not answering someone), by role: (category, weight).
_CATEGORIES = {
    OWNER: (("share", 25), ("answer", 25), ("question", 5), ("water", 20), ("media", 10), ("link", 5), ("mention", 10)),
    ADMIN: (("share", 20), ("answer", 20), ("question", 5), ("water", 30), ("media", 10), ("link", 5), ("mention", 10)),
    LEADER: (("share", 35), ("answer", 20), ("question", 4), ("water", 13), ("media", 16), ("link", 7), ("file", 2),
             ("mention", 3)),
    CHATTY: (("water", 55), ("media", 20), ("share", 10), ("question", 10), ("mention", 5)),
    REGULAR: (("question", 26), ("share", 25), ("media", 12), ("link", 2), ("mention", 6), ("water", 29)),
}
_EN = {"question": "en_question", "share": "en_share", "water": "en_water", "answer": "en_answer",
       "response": "en_response"}
LIVE_MINUTES = 5  # the live tail's share of the end of the window
_WINDOW = 16  # recent messages a reply may answer (older ones weigh < 9 %)
_REPLY_HORIZON = 3 * 3600.0


def _table(pairs, water: float):
    """A cumulative category table; for regular members the water share is the group's."""
    items = [(c, float(w)) for c, w in pairs]
    if water is not None:
        rest = sum(w for c, w in items if c != "water")
        items = [(c, rest * water / (1 - water) if c == "water" else w) for c, w in items]
    return [c for c, _ in items], list(accumulate(w for _, w in items))


class Simulator:
    """Turns a :class:`~qunyun.demo.plan.CommunityPlan` into events; deterministic for a seed.

    ``events()`` yields the history (call it once); ``live_tail()`` then gives a few events
    at the very end, meant to go through the bus in live mode.
    """

    def __init__(self, plan: CommunityPlan, *, seed: int = 1) -> None:
        self.plan = plan
        self.seed = seed
        tz = zone(plan.time_zone)
        self.start = plan.start.timestamp()
        self.end = plan.end.timestamp()
        # The history stops a few minutes before ``end``: those minutes belong to the live tail.
        self.history_end = self.end - LIVE_MINUTES * 60
        self.hours = HourSampler(self.start, plan.start.astimezone(tz).weekday())
        self.texts = TextMaker(seed)
        self.population: Population = build_population(plan, seed, self.start, self.history_end, self.hours)
        self._next_id = [1000 for _ in plan.groups]
        self._windows: list[list[tuple]] = [[] for _ in plan.groups]
        self._ad_ids: dict[tuple[int, int, int], str] = {}
        self._tables = {
            g: {role: _table(pairs, group.water if role == REGULAR else None) for role, pairs in _CATEGORIES.items()}
            for g, group in enumerate(plan.groups)
        }
        n_scheduled = sum(1 for item in self.population.schedule if item[2] in ("ad", "intro", "announce"))
        expected = self._expected_messages()
        self.rate_scale = max(0.0, plan.target_messages - n_scheduled) / expected if expected else 0.0
        self.history_done = False

    # ----------------------------------------------------------------- calibration

    def _day_factor(self, g: int, day: int) -> float:
        group = self.plan.groups[g]
        day_start = self.start + day * DAY
        weekend = self.hours.is_weekend(day_start + 1)
        factor = group.weekend_factor if weekend else 1.0
        if group.weekly_event and self.hours.weekday(day_start + 1) == group.weekly_event[0]:
            factor *= 1.6
        if day_start + DAY > self.end:
            factor *= self.hours.share_before(self.end - day_start, weekend)
        return factor

    def _expected_messages(self) -> float:
        """Messages the rates give at scale 1, summed over days and groups (for calibration)."""
        days = self.plan.days
        total = 0.0
        for g, stints in enumerate(self.population.stints):
            per_day = [0.0] * (days + 1)
            diff = [0.0] * (days + 2)
            for s in stints:
                if s.rate <= 0 or s.person.role == SPAM:
                    continue
                j = max(0.0, (s.join - self.start) / DAY)
                leave = days if s.leave == math.inf else min(days, (s.leave - self.start) / DAY)
                if leave <= j:
                    continue
                jd, ld = int(j), int(leave)
                if jd == ld:
                    per_day[jd] += s.rate * (leave - j)
                    continue
                per_day[jd] += s.rate * (jd + 1 - j)
                diff[jd + 1] += s.rate
                diff[ld] -= s.rate
                if ld < days:
                    per_day[ld] += s.rate * (leave - ld)
            running = 0.0
            for day in range(days):
                running += diff[day]
                total += (running + per_day[day]) * self._day_factor(g, day)
        return total

    # ----------------------------------------------------------------- history

    def events(self, *, on_day: Callable[[int, int], None] | None = None) -> Iterator[ev.Event]:
        """Yield the history in time order; ``on_day(day_index, days)`` is called after each day."""
        if self.history_done:
            raise RuntimeError("a Simulator produces its history once; make a new one")
        rng = random.Random(f"{self.seed}:days")
        schedule = self.population.schedule
        si = 0
        carry: list[tuple[float, int, ev.Event]] = []
        seq = [0]
        for day in range(self.plan.days):
            day_start = self.start + day * DAY
            if day_start >= self.end:
                break
            next_day = day_start + DAY
            out: list[tuple[float, int, ev.Event]] = carry
            carry = []
            specs: list[list[tuple]] = [[] for _ in self.plan.groups]
            others: list[tuple] = []
            while si < len(schedule) and schedule[si][0] < next_day:
                item = schedule[si]
                si += 1
                (specs[item[3]] if item[2] in ("ad", "intro", "announce") else others).append(item)
            for g in range(len(self.plan.groups)):
                if self.population.founded[g] < next_day:
                    self._group_day(g, day, day_start, specs[g], rng, out, seq)
            for item in others:
                event = self._scheduled_event(item)
                if event is not None:
                    seq[0] += 1
                    out.append((item[0], seq[0], event))
            out.sort(key=lambda row: (row[0], row[1]))
            for ts, _seq, event in out:
                if ts >= self.history_end:
                    continue
                if ts >= next_day:
                    carry.append((ts, _seq, event))
                else:
                    yield event
            if on_day is not None:
                on_day(day, self.plan.days)
        carry.sort(key=lambda row: (row[0], row[1]))
        for ts, _seq, event in carry:
            if ts < self.history_end:
                yield event
        self.history_done = True

    def _group_day(self, g: int, day: int, day_start: float, specs: list[tuple], rng: random.Random,
                   out: list, seq: list[int]) -> None:
        plan = self.plan
        group = plan.groups[g]
        chat = group.chat_id
        next_day = day_start + DAY
        hours = self.hours
        weekend = hours.is_weekend(day_start + 1)
        present = [s for s in self.population.stints[g]
                   if s.rate > 0 and s.join < next_day and s.leave > day_start and s.person.role != SPAM]
        messages: list[tuple] = [_spec(ts, kind, payload) for ts, _n, kind, _g, payload in specs]
        if present:
            cum = list(accumulate(s.rate for s in present))
            total = cum[-1]
            lam = self.rate_scale * total * self._day_factor(g, day) * rng.lognormvariate(0.0, 0.18)
            if group.weekly_event and hours.weekday(day_start + 1) == group.weekly_event[0]:
                lam /= 1.6
                burst = poisson(rng, lam * 0.6)
                begin = day_start + group.weekly_event[1] * 3600
                messages.extend((begin + rng.random() * 5400, None, "event") for _ in range(burst))
                speaker = self._speaker(g, begin)
                if speaker is not None:
                    messages.extend((begin + 60 + rng.random() * 4800, speaker, "talk")
                                    for _ in range(8 + int(rng.random() * 7)))
            for _ in range(poisson(rng, lam)):
                messages.append((day_start + hours.sample(rng, weekend), None, "regular"))
            acum = list(accumulate(s.person.attract for s in present))
        else:
            cum = acum = []
            total = 0.0
        messages.sort(key=lambda m: m[0])
        window = self._windows[g]
        texts = self.texts
        is_qq = group.platform == "onebot"
        react_base = 0.025 if is_qq else 0.05
        for ts, who, category in messages:
            if ts >= self.history_end:
                continue
            reply_to: str | None = None
            mentions: tuple[str, ...] = ()
            kind = _TEXT
            weight = 1.0
            if who is None:
                stint = None
                for _attempt in range(4):
                    candidate = present[bisect_right(cum, rng.random() * total)] if total else None
                    if candidate is not None and candidate.join <= ts < candidate.leave:
                        stint = candidate
                        break
                if stint is None:
                    continue
                person = stint.person
            elif isinstance(who, Stint):
                person = who.person
                if not who.present(ts):
                    continue
            else:  # a Person (announcements, the live session's speaker)
                person = who
                if not any(s.group == g and s.present(ts) for s in person.stints):
                    continue
            mid = str(self._next_id[g])
            self._next_id[g] += 1
            english = rng.random() < group.english
            if category == "regular" or category == "event":
                text, kind, category, reply_to, mentions = self._compose(
                    g, person, category, ts, day_start, english, window, present, acum, rng)
            elif category == "intro":
                text = texts.pick("intro", rng)
                weight = 3.0
            elif category == "talk":
                text = texts.pick("answer" if rng.random() < 0.6 else "share", rng)
                weight = 1.5
            elif category == "announce" or category == "cleanup":
                text = CLEANUP_NOTICE if category == "cleanup" else texts.pick("announce", rng)
                weight = 1.5
            else:  # ("ad", k)
                self._ad_ids[(who.person.index, g, category[1])] = mid
                text = texts.pick("ad" if is_qq else "en_ad" if rng.random() < 0.4 else "ad", rng)
                kind = _LINK if ("http" in text or "t.me/" in text) else _TEXT
                category = "ad"
            account = person.renamed_account if ts >= person.rename_at else person.account
            seq[0] += 1
            out.append((ts, seq[0], ev.MessagePosted(chat=chat, event_id=mid, at=_dt(ts), author=account, text=text,
                                                     kind=kind, reply_to=reply_to, mentions=mentions)))
            if category == "ad":
                continue  # nobody answers an ad; the moderators delete it
            if category == "question":
                weight = 2.5
            window.append((ts, mid, person, person.attract * weight, category))
            if len(window) > _WINDOW:
                del window[0]
            # Reactions, mostly to attractive authors.
            p = min(0.6, react_base * (person.attract ** 0.8) * (2.0 if category in ("intro", "announce") else 1.0))
            n = 0
            while n < 5 and present and rng.random() < p:
                n += 1
                reactor = present[int(rng.random() * len(present))]
                at = ts + 20 + rng.expovariate(1 / 1200)
                if reactor.person is person or not reactor.present(at):
                    continue
                seq[0] += 1
                out.append((at, seq[0], ev.ReactionAdded(
                    chat=chat, event_id=f"{mid}.{n}", at=_dt(at), message_id=mid, author=reactor.person.account_at(at),
                    emoji=EMOJIS[int(rng.random() * len(EMOJIS))])))
            if rng.random() < 0.004:  # 撤回: the author takes it back within two minutes
                at = ts + 5 + rng.random() * 110
                seq[0] += 1
                out.append((at, seq[0], ev.MessageDeleted(chat=chat, event_id=f"recall-{mid}", at=_dt(at),
                                                          message_id=mid, by=account)))

    def _compose(self, g: int, person: Person, category: str, ts: float, day_start: float, english: bool,
                 window: list[tuple], present: list[Stint], acum: list[float], rng: random.Random):
        """``(text, kind, category, reply_to, mentions)`` of an ordinary message (or a live-session line).

        With the author's reply probability it answers a recent message (an answer to a
        question, a welcome to an introduction, a reaction to the rest); otherwise it starts
        something by the author's role: a question, a share, small talk, a picture, a link…
        """
        texts = self.texts
        kind = _TEXT
        mentions: tuple[str, ...] = ()
        target = self._reply_target(window, ts, person, rng) if rng.random() < person.reply_p else None
        if target is not None:
            answered = target[4]
            if answered == "question" and (person.role != REGULAR or rng.random() < 0.35):
                pool = "answer"
            elif answered == "intro":
                pool = "welcome"
            else:
                pool = "response"
            return texts.pick(_EN.get(pool, pool) if english else pool, rng), kind, "reply", target[1], mentions
        if category == "event":
            return texts.pick("event", rng), kind, category, None, mentions
        tables = self._tables[g]
        names, bounds = tables[person.role if person.role in tables else REGULAR]
        category = names[bisect_right(bounds, rng.random() * bounds[-1])]
        local_hour = int((ts - day_start) // 3600)
        if category == "water" and local_hour < 9 and rng.random() < 0.3:
            text = texts.pick("morning", rng)
        elif category == "water" and (local_hour >= 23 or local_hour < 2) and rng.random() < 0.4:
            text = texts.pick("night", rng)
        elif category == "question" and self.plan.groups[g].chattiness >= 2 and rng.random() < 0.4:
            text, category = texts.pick("checkin", rng), "share"  # the small class does homework
        elif category in _EN:
            text = texts.pick(_EN[category] if english else category, rng)
        elif category == "media":
            roll = rng.random()
            if roll < 0.55:
                kind, text = _IMAGE, texts.pick("caption", rng)
            elif roll < 0.85:
                kind, text = _STICKER, ""
            else:
                kind, text = (_VOICE if self.plan.groups[g].platform == "onebot" else _VIDEO), ""
        elif category == "link":
            kind, text = _LINK, texts.pick("link", rng)
        elif category == "file":
            kind, text = _FILE, texts.pick("file", rng)
        else:  # mention: ask someone by name, most likely someone people listen to
            text = texts.pick("question", rng)
            if acum:
                other = present[bisect_right(acum, rng.random() * acum[-1])]
                if other.person is not person and other.present(ts):
                    account = other.person.account_at(ts)
                    text = f"@{account.name} {text}"
                    mentions = (account.id,)
            category = "question"
        return text, kind, category, None, mentions

    def _speaker(self, g: int, at: float) -> Person | None:
        """Who hosts the weekly session: an opinion leader of the group, else its owner."""
        for person in self.population.leaders[g] + [self.population.owners[g]]:
            if any(s.group == g and s.present(at) for s in person.stints):
                return person
        for stint in self.population.stints[g]:  # a group whose own leaders came from elsewhere
            if stint.person.role == LEADER and stint.present(at):
                return stint.person
        return None

    @staticmethod
    def _reply_target(window: list[tuple], ts: float, person: Person, rng: random.Random):
        """A recent message by someone else, chosen by its author's attraction and its recency."""
        candidates = []
        total = 0.0
        decay = 1.0
        horizon = ts - _REPLY_HORIZON
        for entry in reversed(window):
            if entry[0] < horizon:
                break
            if entry[2] is not person:
                total += entry[3] * decay
                candidates.append((total, entry))
            decay *= 0.85
        if not candidates:
            return None
        roll = rng.random() * total
        for bound, entry in candidates:
            if roll < bound:
                return entry
        return candidates[-1][1]

    def _scheduled_event(self, item: tuple) -> ev.Event | None:
        ts, _seq, kind, g, payload = item
        chat = self.plan.groups[g].chat_id
        at = _dt(ts)
        if kind == "join":
            stint: Stint = payload
            person = stint.person
            inviter = stint.inviter.account_at(ts) if stint.inviter is not None else None
            return ev.MemberJoined(chat=chat, event_id=f"join-{int(ts)}-{_local(person)}", at=at,
                                   member=person.account_at(ts), via=stint.via, inviter=inviter, invite_link=stint.link)
        if kind == "leave":
            stint = payload
            by = stint.leave_by.account_at(ts) if stint.leave_by is not None else None
            return ev.MemberLeft(chat=chat, event_id=f"leave-{int(ts)}-{_local(stint.person)}", at=at,
                                 member=stint.person.account_at(ts), reason=stint.leave_reason or ev.LeaveReason.LEFT,
                                 by=by)
        if kind == "rename":
            person: Person = payload
            return ev.MemberRenamed(chat=chat, event_id=f"rename-{int(ts)}-{_local(person)}", at=at,
                                    member=person.renamed_account, old_name=person.account.name)
        if kind == "pay":
            person, amount, reference = payload
            return ev.PaymentMade(chat=chat, event_id=f"pay-{reference}", at=at, member=person.account_at(ts),
                                  amount=amount, reference=reference)
        if kind == "del":
            stint, k, moderator = payload
            mid = self._ad_ids.get((stint.person.index, g, k))
            if mid is None:
                return None
            return ev.MessageDeleted(chat=chat, event_id=f"del-{mid}", at=at, message_id=mid,
                                     by=moderator.account_at(ts))
        raise ValueError(f"unknown scheduled kind {kind!r}")

    # ----------------------------------------------------------------- live tail

    def live_tail(self) -> list[ev.Event]:
        """A few events in the last minutes before ``end``, for the bus in live mode.

        A newcomer joins and introduces themselves, two members ask for the rules (one in
        Chinese, one in English), an ad account posts, an opinion leader welcomes the newcomer.
        """
        if not self.history_done:
            raise RuntimeError("run events() to the end first (live message ids follow the history's)")
        rng = random.Random(f"{self.seed}:live")
        pop = self.population
        end = self.end
        qq = [g for g, group in enumerate(self.plan.groups) if group.platform == "onebot"]
        tg = [g for g, group in enumerate(self.plan.groups) if group.platform == "telegram"]
        main = max(qq or tg, key=lambda g: len(pop.stints[g]))
        other = max(tg or qq, key=lambda g: len(pop.stints[g]))
        channel = next((c for c in self.plan.channels if c.code == "wechat-article"), self.plan.channels[0])
        out: list[ev.Event] = []

        def message(g: int, ts: float, account: ev.Account, text: str, reply_to: str | None = None) -> str:
            mid = str(self._next_id[g])
            self._next_id[g] += 1
            out.append(ev.MessagePosted(chat=self.plan.groups[g].chat_id, event_id=mid, at=_dt(ts), author=account,
                                        text=text, reply_to=reply_to, kind=_LINK if "http" in text else _TEXT))
            return mid

        prefix = self.plan.groups[main].account_prefix
        newcomer = ev.Account(id=f"{prefix}{rng.randint(100_000_000, 999_999_999)}", name="新来的茶小白")
        out.append(ev.MemberJoined(chat=self.plan.groups[main].chat_id, event_id=f"join-{int(end - 240)}-live",
                                   at=_dt(end - 240), member=newcomer, via=ev.JoinMethod.INVITE_LINK,
                                   invite_link=channel.invite_link))
        intro = message(main, end - 200, newcomer, "大家好，刚从公众号进来的，请问群规在哪里看？")
        regulars = [s for s in pop.stints[main] if s.person.role == REGULAR and s.person.rate > 0 and s.present(end - 1)]
        if regulars:
            asker = regulars[int(rng.random() * len(regulars))].person
            message(main, end - 150, asker.account_at(end), "/群规")
        regulars = [s for s in pop.stints[other] if s.person.role == REGULAR and s.person.rate > 0 and s.present(end - 1)]
        if regulars:
            asker = regulars[int(rng.random() * len(regulars))].person
            message(other, end - 100, asker.account_at(end), "/rules")
        other_prefix = self.plan.groups[other].account_prefix
        spammer = ev.Account(id=f"{other_prefix}{rng.randint(100_000_000, 999_999_999)}", name="福利小助手")
        out.append(ev.MemberJoined(chat=self.plan.groups[other].chat_id, event_id=f"join-{int(end - 80)}-live",
                                   at=_dt(end - 80), member=spammer, via=ev.JoinMethod.REQUEST))
        message(other, end - 60, spammer, "新人福利🎁 免费领咖啡豆，加V信：ｃｈａ６６８８ 备注“茶友”")
        leader = next((p for p in pop.leaders[main] if any(s.group == main and s.present(end - 1) for s in p.stints)),
                      pop.owners[main])
        message(main, end - 30, leader.account_at(end), "欢迎～发送 /群规 就能看到，有问题随时问", reply_to=intro)
        return out


def _spec(ts: float, kind: str, payload) -> tuple:
    """A scheduled message as ``(ts, who, category)``."""
    if kind == "intro":
        return ts, payload, "intro"
    if kind == "ad":
        stint, k = payload
        return ts, stint, ("ad", k)
    person, what = payload  # announce
    return ts, person, "cleanup" if what == "cleanup" else "announce"


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _local(person: Person) -> str:
    return person.account_id.rpartition(":")[2]

"""The simulator: deterministic, and shaped like a real community (sizes, channels, tails, rhythm...)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
import types
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime, timezone

import pytest

from qunyun.core import events as ev
from qunyun.core.codec import event_to_dict
from qunyun.core.timeutil import zone
from qunyun.demo import Simulator, make_plan, simulate

END = date(2026, 3, 1)  # a Sunday; the window is 2025-12-02 … 2026-03-01, Asia/Shanghai
TZ = zone("Asia/Shanghai")


@pytest.fixture(scope="module")
def demo():
    """The default demo community (90 days), simulated once for this module."""
    sim = Simulator(make_plan(seed=1, end=END), seed=1)
    events = list(sim.events())
    return sim, events


def _digest(events) -> str:
    h = hashlib.sha256()
    for event in events:
        h.update(json.dumps(event_to_dict(event), ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_events_and_another_seed_does_not():
    first = list(simulate(seed=5, days=30, scale=0.3, end=END))
    again = list(simulate(seed=5, days=30, scale=0.3, end=END))
    other = list(simulate(seed=6, days=30, scale=0.3, end=END))
    assert [e.key for e in first] == [e.key for e in again]
    assert Counter(e.type for e in first) == Counter(e.type for e in again)
    assert first == again  # every field, texts and times included
    assert [e.key for e in first] != [e.key for e in other]
    assert Counter(e.author.id for e in first if e.type == "message") != Counter(
        e.author.id for e in other if e.type == "message")


def test_same_seed_gives_identical_events_in_another_process_with_another_hash_seed():
    script = (
        "import hashlib, json, sys\n"
        "from datetime import date\n"
        "from qunyun.core.codec import event_to_dict\n"
        "from qunyun.demo import simulate\n"
        "h = hashlib.sha256()\n"
        "for e in simulate(seed=5, days=20, scale=0.2, end=date(2026, 3, 1)):\n"
        "    h.update(json.dumps(event_to_dict(e), ensure_ascii=False, sort_keys=True).encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    digests.add(_digest(simulate(seed=5, days=20, scale=0.2, end=END)))
    assert len(digests) == 1


def test_events_are_in_time_order_inside_the_window_and_the_live_tail_follows():
    plan = make_plan(seed=2, days=20, scale=0.2, end=END)
    sim = Simulator(plan, seed=2)
    events = list(sim.events())
    times = [e.at for e in events]
    assert times == sorted(times)
    assert plan.start <= times[0] and times[-1] < plan.end
    assert all(e.at.tzinfo is not None and e.at.utcoffset().total_seconds() == 0 for e in events)
    tail = sim.live_tail()
    assert tail and all(times[-1] < e.at <= plan.end for e in tail)
    assert {e.key for e in tail}.isdisjoint(e.key for e in events)
    assert any(e.type == "message" and e.text.strip() in ("/群规", "/rules") for e in tail)


def test_simulate_streams_and_hits_the_message_target():
    stream = simulate(seed=3, days=30, members=3000, target_messages=60_000, end=END)
    assert isinstance(stream, types.GeneratorType)
    first = next(stream)
    assert isinstance(first, ev.Event)
    rest = [first, *stream]
    messages = sum(1 for e in rest if e.type == "message")
    assert 0.85 * 60_000 < messages < 1.15 * 60_000
    accounts = {e.subject.id for e in rest if e.subject is not None}
    assert len(accounts) == 3000  # every member joined; lurkers too
    chats = {e.chat for e in rest}
    assert len(chats) > 5 and {c.split(":")[0] for c in chats} == {"onebot", "telegram"}


def test_the_demo_volume_follows_its_target(demo):
    sim, events = demo
    messages = sum(1 for e in events if e.type == "message")
    assert abs(messages - sim.plan.target_messages) < 0.1 * sim.plan.target_messages


# ----------------------------------------------------------------------- shape


def _present_at_end(events):
    inside: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.type == "join":
            inside[event.chat].add(event.member.id)
        elif event.type == "leave":
            inside[event.chat].discard(event.member.id)
    return inside


def test_profile_and_three_groups_below_inside_and_above_the_dunbar_bands(demo):
    sim, events = demo
    plan = sim.plan
    assert plan.time_zone == "Asia/Shanghai"
    assert all([plan.theme, plan.target_members, plan.core_value, plan.slogan, plan.rules_text])
    assert len(plan.goals) >= 2
    sizes = sorted(len(members) for members in _present_at_end(events).values())
    assert len(sizes) == 3
    for size, wanted in zip(sizes, (40, 140, 400)):
        assert abs(size - wanted) <= 0.1 * wanted, sizes
    assert sizes[0] <= 50 and 50 < sizes[1] <= 150 and sizes[2] > 150
    assert {e.chat.split(":")[0] for e in events} == {"onebot", "telegram"}


def test_four_channels_of_clearly_different_quality(demo):
    sim, events = demo
    code_of = {c.invite_link: c.code for c in sim.plan.channels}
    assert len(code_of) == 4
    joined: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.type == "join" and event.invite_link:
            joined[code_of[event.invite_link]].add(event.member.id)
    posters = {e.author.id for e in events if e.type == "message"}
    leavers = {e.member.id for e in events if e.type == "leave"}
    activation = {code: len(ids & posters) / len(ids) for code, ids in joined.items()}
    churn = {code: len(ids & leavers) / len(ids) for code, ids in joined.items()}
    assert set(activation) == {"referral", "wechat-article", "bilibili", "giveaway"}
    assert all(len(ids) >= 50 for ids in joined.values())
    ranked = sorted(activation, key=activation.get, reverse=True)
    assert ranked == ["referral", "wechat-article", "bilibili", "giveaway"], activation
    values = sorted(activation.values())
    assert all(b - a >= 0.08 for a, b in zip(values, values[1:])), activation
    assert churn["giveaway"] > 2 * churn["referral"], churn


def test_joins_say_how_people_came(demo):
    _sim, events = demo
    joins = [e for e in events if e.type == "join"]
    vias = Counter(e.via for e in joins)
    assert vias[ev.JoinMethod.INVITE_LINK] and vias[ev.JoinMethod.INVITED] and vias[ev.JoinMethod.REQUEST]
    assert vias[ev.JoinMethod.CREATOR] == 3
    for join in joins:
        if join.via is ev.JoinMethod.INVITED:
            assert join.inviter is not None and join.inviter.id != join.member.id
        if join.via is ev.JoinMethod.INVITE_LINK:
            assert join.invite_link


def test_heavy_tail_core_members_and_lurkers(demo):
    _sim, events = demo
    joined = {(e.chat, e.member.id) for e in events if e.type == "join"}
    per_member = Counter((e.chat, e.author.id) for e in events if e.type == "message")
    counts = sorted((per_member.get(key, 0) for key in joined), reverse=True)
    top = counts[: len(counts) // 10]
    assert sum(top) > 0.55 * sum(counts)
    reactors = {(e.chat, e.author.id) for e in events if e.type == "reaction"}
    lurkers = [key for key in joined if key not in per_member and key not in reactors]
    assert len(lurkers) > 0.3 * len(joined)  # a roster shows people who never said a word


def _weekend_ratio(local_times) -> float:
    """Median over full weeks of (messages per weekend day) / (messages per workday): growth cancels out."""
    days = Counter(t.date() for t in local_times)
    weeks: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for day, n in days.items():
        weeks[day.isocalendar()[:2]][day.weekday() >= 5] += n
    ratios = sorted((weekend / 2) / (workday / 5) for (workday, weekend) in weeks.values() if workday and weekend)
    return ratios[len(ratios) // 2]


def test_daily_and_weekly_rhythm(demo):
    sim, events = demo
    messages = [e for e in events if e.type == "message"]
    local = [e.at.astimezone(TZ) for e in messages]
    by_hour = Counter(t.hour for t in local)
    night = sum(by_hour[h] for h in (2, 3, 4, 5)) / 4
    evening = sum(by_hour[h] for h in (20, 21, 22)) / 3
    assert evening > 8 * night
    assert max(by_hour, key=by_hour.get) in (20, 21, 22)
    # weekends differ: the big Telegram group is busier, the paid class (homework on workdays) quieter
    small, middle, big = (g.chat_id for g in sim.plan.groups)
    assert _weekend_ratio([t for e, t in zip(messages, local) if e.chat == big]) > 1.15
    assert _weekend_ratio([t for e, t in zip(messages, local) if e.chat == small]) < 0.95
    # the weekly live session: the middle group is busiest on Wednesday evenings
    at8 = Counter(t.weekday() for e, t in zip(messages, local) if e.chat == middle and t.hour == 20)
    assert max(at8, key=at8.get) == 2


def test_opinion_leaders_are_answered_more_than_the_most_prolific(demo):
    sim, events = demo
    leaders = {p.account_id for p in sim.population.people if p.role == "leader"}
    for chat in {e.chat for e in events}:
        messages = [e for e in events if e.type == "message" and e.chat == chat]
        author = {e.event_id: e.author.id for e in messages}
        posted = Counter(e.author.id for e in messages)
        answered = Counter(author[e.reply_to] for e in messages
                           if e.reply_to and author.get(e.reply_to) not in (None, e.author.id))
        top_posters = [a for a, _ in posted.most_common(5)]
        top_answered = [a for a, _ in answered.most_common(5)]
        assert set(top_posters) != set(top_answered)
        assert top_answered[0] != top_posters[0]
        assert answered[top_answered[0]] / posted[top_answered[0]] > 3 * sum(answered.values()) / sum(posted.values())
        assert leaders & set(top_answered[:3])  # the leaders the plan seeded do emerge
    mentions = [e for e in events if e.type == "message" and e.mentions]
    assert len(mentions) > 500
    assert all(e.text.startswith("@") for e in mentions)


def test_renames_and_a_new_name_on_later_messages(demo):
    _sim, events = demo
    renames = [e for e in events if e.type == "rename"]
    assert len(renames) >= 5
    assert all(e.old_name and e.member.name and e.old_name != e.member.name for e in renames)
    names: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.type == "message" and (not names[event.author.id] or names[event.author.id][-1] != event.author.name):
            names[event.author.id].append(event.author.name)
    changed = [a for a, seen in names.items() if len(seen) > 1]
    assert len(changed) >= 10
    assert any(a.startswith("telegram:") for a in changed)  # Telegram: only later messages show it
    assert all(len(seen) == 2 for seen in names.values() if len(seen) > 1)  # no flip-flopping back


def test_some_members_are_in_two_groups_and_some_pay(demo):
    _sim, events = demo
    chats_of: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.type == "join":
            chats_of[event.member.id].add(event.chat)
    both = [a for a, chats in chats_of.items() if len(chats) == 2]
    assert len(both) >= 15
    assert all(a.startswith("onebot:qq:") for a in both)  # same account on the same platform
    payments = [e for e in events if e.type == "payment"]
    assert len(payments) >= 15
    assert all(re.fullmatch(r"\d+\.\d{2}", p.amount) for p in payments)
    converted = {p.member.id for p in payments if p.amount == "199.00"}
    assert converted and converted <= set(both)


_CONTACT = re.compile(r"(v信|薇|徽信|v:|qq|扣扣)[:]?[a-z0-9]{5,}|1[3-9]\d{9}|https?://|t\.me/|@[a-z]+\d+")


def _contact_in(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", text).lower()
    return bool(_CONTACT.search(re.sub(r"[\s\-]", "", folded)))


def test_ad_accounts_post_contact_ids_and_are_deleted_and_banned(demo):
    sim, events = demo
    spam = {p.account_id for p in sim.population.people if p.role == "spam"}
    assert len(spam) >= 5
    ads = [e for e in events if e.type == "message" and e.author.id in spam]
    assert {e.author.id for e in ads} == spam
    assert all(_contact_in(e.text) for e in ads), [e.text for e in ads if not _contact_in(e.text)]
    assert any(any(0xFF10 <= ord(c) <= 0xFF5A for c in e.text) for e in ads)  # full-width evasion
    deleted = {(e.chat, e.message_id): e for e in events if e.type == "delete"}
    for ad in ads:
        removal = deleted[(ad.chat, ad.event_id)]
        assert removal.by is not None and removal.by.id not in spam and removal.at > ad.at
    bans = {e.member.id: e for e in events if e.type == "leave" and e.reason is ev.LeaveReason.BANNED}
    assert set(bans) == spam
    removed = [e for e in events if e.type == "leave" and e.reason is ev.LeaveReason.REMOVED]
    assert removed and all(e.by is not None for e in removed)  # the lurker clean-up


def test_texts_are_mostly_chinese_with_some_english_and_media(demo):
    _sim, events = demo
    messages = [e for e in events if e.type == "message"]
    texts = [e.text for e in messages if e.text]
    cjk = sum(1 for t in texts if re.search(r"[\u4e00-\u9fff]", t))
    english = sum(1 for t in texts if re.fullmatch(r"[\x20-\x7e’°😍👍]+", t) and re.search(r"[a-z]{3}", t))
    assert cjk > 0.7 * len(texts)
    assert english > 0.03 * len(texts)
    kinds = Counter(e.kind for e in messages)
    for kind in (ev.MessageKind.IMAGE, ev.MessageKind.STICKER, ev.MessageKind.LINK, ev.MessageKind.VOICE):
        assert kinds[kind] > 50
    assert sum(1 for e in events if e.type == "reaction") > 1000
    assert len(set(texts)) > 2000


def test_an_end_datetime_is_kept_and_naive_ones_are_refused():
    end = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    events = list(simulate(seed=1, days=10, scale=0.2, end=end))
    assert events[-1].at < end
    assert (end - events[-1].at).total_seconds() < 6 * 3600
    with pytest.raises(ValueError):
        make_plan(end=datetime(2026, 3, 1, 12, 30))
    assert math.isclose(make_plan(end=END).end.timestamp(),
                        datetime(2026, 3, 1, 23, 59, 59, tzinfo=TZ).timestamp())

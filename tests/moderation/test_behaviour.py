"""Behaviour detectors over an in-memory window."""

from datetime import datetime, timedelta, timezone

from qunyun.moderation.detection.behaviour import Window
from qunyun.moderation.detection.normalize import normalize

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)


def post(w, member, text, seconds, group="g1", **kw):
    return w.observe_message(group=group, member=member, at=T0 + timedelta(seconds=seconds), text=text,
                             compact=normalize(text).compact, **kw)


def detectors(findings):
    return {f.detector for f in findings}


def test_member_flood():
    w = Window()
    out = [post(w, "alice", f"hi {i}", i) for i in range(6)]
    assert "behaviour.flood_member" not in detectors(sum(out[:5], []))
    assert "behaviour.flood_member" in detectors(out[5])


def test_coordinated_ad_from_several_accounts_even_when_disguised():
    w = Window()
    assert not detectors(post(w, "a1", "低价出售游戏金币，需要的联系我", 0))
    post(w, "a2", "低價出售遊戲金幣，需要的聯繫我", 30)  # traditional characters
    out = post(w, "a3", "低 价 出 售 游 戏 金 币 ， 需 要 的 联 系 我 !", 60)  # spaced out
    assert "behaviour.coordinated" in detectors(out)


def test_same_member_repeating_an_ad():
    w = Window()
    for i in range(2):
        post(w, "spammer", "兼职日结工资高，详情私聊", i * 100, has_bait=True)
    out = post(w, "spammer", "兼职日结工资高，详情私聊！", 250, has_bait=True)
    f = [x for x in out if x.detector == "behaviour.repeat"][0]
    assert f.category == "spam.repeated_ad" and f.score >= 0.9


def test_ordinary_conversation_is_quiet():
    w = Window()
    lines = ["早上好", "今天几点开会？", "十点吧", "好的收到", "我晚点到", "没问题"]
    assert not any(post(w, f"m{i % 3}", t, i * 20) for i, t in enumerate(lines))


def test_mentions_raid_and_new_member_bait():
    w = Window()
    assert "behaviour.mentions" in detectors(post(w, "x", "look", 0, mentions=8))
    found = []
    for i in range(10):
        found += w.observe_join(group="g2", member=f"n{i}", at=T0 + timedelta(seconds=i))
    assert any(f.detector == "behaviour.raid" for f in found)
    out = post(w, "n3", "加我 vx abc12345", 100, group="g2", has_bait=True)
    assert "behaviour.new_member_bait" in detectors(out)


def test_window_forgets_old_activity():
    w = Window()
    for i in range(50):
        post(w, f"m{i}", f"message number {i} with some text", i * 1000, group=f"g{i}")
    w.prune(T0 + timedelta(days=3))
    assert not w._member_times and not w._group_msgs

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
    assert not w._member_times and not w._group_times and not w._buckets


def test_sketches_are_the_same_in_every_process():
    """Workers and restarts must agree: no per-process string hashing in the sketch."""
    import subprocess
    import sys

    from qunyun.moderation.detection.behaviour import sketch

    text = "低价出售游戏金币，需要的联系我 abc"
    code = ("from qunyun.moderation.detection.behaviour import sketch; "
            f"print(sorted(sketch({text!r})))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")}
    assert outputs == {str(sorted(sketch(text))) + "\n"}


def test_everyone_answering_the_same_thing_is_chat_not_an_ad():
    from qunyun.moderation.detection.verdict import Context, Message, moderate

    w = Window()
    verdicts = [moderate(Message(text="收到，谢谢老师的分享！", member=f"m{i}", group="g1",
                                 at=T0 + timedelta(seconds=i * 5)), Context(window=w)).verdict
                for i in range(8)]
    assert set(verdicts) == {"allow"}


def test_near_duplicates_are_found_among_many_recent_messages():
    """The duplicate index must still find the copies when a busy group posts hundreds of lines."""
    w = Window()
    for i in range(400):
        post(w, f"chatter{i % 40}", f"今天的第{i}杯茶，味道是{'甜苦酸涩'[i % 4]}的，第{i * 7}次冲泡", i)
    post(w, "a1", "加我微信领取免费茶叶样品，名额有限", 401, has_bait=True)
    post(w, "a2", "加我微信领取免费茶叶样品，名额有限！！", 402, has_bait=True)
    out = post(w, "a3", "加我微信 领取免费茶叶样品，名额有限", 403, has_bait=True)
    coordinated = [f for f in out if f.detector == "behaviour.coordinated"]
    assert coordinated and coordinated[0].score == 0.9


def test_a_busy_group_is_not_a_case_against_each_member():
    """40 members, one ordinary message each within 8 s: the group is flooding, nobody is."""
    from qunyun.moderation.detection.verdict import Context, Message, moderate

    ctx = Context(window=Window())
    verdicts = [
        moderate(Message(text=f"第{i}个回复：今天的活动很好玩", member=f"m{i}", group="g1",
                         at=T0 + timedelta(seconds=i * 0.2)), ctx)
        for i in range(40)
    ]
    assert [v.verdict for v in verdicts] == ["allow"] * 40
    assert "behaviour.flood_group" in detectors(verdicts[-1].findings)  # still seen, for the operators
    # ... while one member's own flood is acted on
    own = [moderate(Message(text=f"刷屏{i}", member="spammer", group="g2", at=T0 + timedelta(seconds=i)), ctx)
           for i in range(6)]
    assert own[-1].verdict == "block" and own[-1].categories[0] == "flood"

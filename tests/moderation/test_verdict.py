"""The combined verdict: obvious ads blocked, ordinary chat allowed, odd input survives."""

import pytest

from qunyun.moderation.detection.verdict import Context, Message, moderate
from qunyun.moderation.policy import default_policy


@pytest.mark.parametrize(
    "text",
    [
        "兼职刷单，日赚300+，有意者加V：abc123",
        "加 薇 信 ｘｙ９９８８７７６ 免费领取资料",
        "需要元宝的加ｑ①⑥⑨②⓪⓪⑨⑥②①，长期稳定",
        "代開發票，聯繫電話13812345678",
        "Congratulations! You have won a £1000 cash prize. Call 09061701461 to claim your prize now",
    ],
)
def test_ads_are_blocked(text):
    v = moderate(text)
    assert v.verdict == "block", v.to_dict()
    assert v.categories[0].startswith("spam")
    for e in v.evidence:
        assert text[e.start : e.end] == e.text


@pytest.mark.parametrize(
    "text",
    [
        "今天天气不错，一起去爬山吗？",
        "这个版本的bug修了没有，我还是打不开",
        "see https://help.ubuntu.com/community/Grub2 for the details",
        "I have version 2.6.18 installed, how do I upgrade?",
        "哈哈哈哈哈",
        "群主辛苦了，谢谢分享",
    ],
)
def test_ordinary_chat_is_allowed(text):
    assert moderate(text).verdict == "allow"


def test_abuse_goes_to_review_not_delete():
    v = moderate("你这个傻逼")
    assert v.verdict == "review" and v.categories == ("unfriendly.abuse",)


def test_shadow_mode_is_reported():
    v = moderate("兼职刷单加V：abc123", Context(policy=default_policy(shadow=True)))
    assert v.verdict == "block" and v.shadow


@pytest.mark.parametrize("text", ["", " ", "\x00\x01\x02" * 1000, "\ud800 lone surrogate", "x" * 1_000_000, "加" * 300_000])
def test_odd_messages_get_a_verdict(text):
    v = moderate(Message(text=text))
    assert v.verdict in ("allow", "review", "block")
    v.to_dict()


def test_message_from_event():
    from datetime import datetime, timezone

    from qunyun.core.events import Account, MessagePosted

    ev = MessagePosted(chat="tg:1", event_id="9", at=datetime.now(timezone.utc), author=Account("tg:42"), text="hi",
                       mentions=("tg:1", "tg:2"))
    m = Message.from_event(ev)
    assert m.member == "tg:42" and m.mentions == 2


DATA = __import__("pathlib").Path(__file__).parent / "data"


def _lines(name):
    return [l.strip() for l in (DATA / name).read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]


@pytest.mark.parametrize("name", ["chat_ads_zh.txt", "chat_ads_en.txt"])
def test_handwritten_chat_ads_are_caught(name):
    verdicts = [moderate(t).verdict for t in _lines(name)]
    assert verdicts.count("allow") == 0
    assert verdicts.count("block") >= 0.8 * len(verdicts)


@pytest.mark.parametrize("name", ["chat_ordinary_zh.txt", "chat_ordinary_en.txt"])
def test_handwritten_ordinary_chat_is_allowed(name):
    flagged = [t for t in _lines(name) if moderate(t).verdict != "allow"]
    assert flagged == []


def test_handwritten_ads_survive_evasion_transforms():
    import random
    import sys

    sys.path.insert(0, str(DATA.parents[2] / "bench" / "moderation"))
    import evasion

    rng = random.Random(11)
    ads = _lines("chat_ads_zh.txt")
    for name, transform in evasion.TRANSFORMS.items():
        caught = sum(moderate(transform(t, rng)).verdict != "allow" for t in ads)
        assert caught >= 0.9 * len(ads), name


def test_qr_code_in_an_image_is_judged():
    zxingcpp = pytest.importorskip("zxingcpp")
    pytest.importorskip("PIL")
    if not hasattr(zxingcpp, "create_barcode"):
        pytest.skip("this zxing-cpp cannot write barcodes")
    import io

    import numpy as np
    from PIL import Image

    code = zxingcpp.create_barcode("加微信 abc12345 兼职日结", zxingcpp.BarcodeFormat.QRCode)
    buf = io.BytesIO()
    Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=4))).save(buf, format="PNG")
    v = moderate(Message(text="看图", images=(buf.getvalue(),)))
    assert v.verdict == "block"
    assert any(f.detector == "contacts.qr" for f in v.findings)
    assert moderate(Message(text="看图", images=(b"not an image",))).verdict == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "美·媒·曝·光·中·国·地·下·空·军·不·可·战·胜",  # every character followed by the same symbol
        "出♥售♥各♥种♥小♥号♥资♥源♥号",
        "请\u200b帮\u200d忙\u2060汇款到以下\u200c帐号",  # invisible characters splitting words
        "今 \u200b天 \u200b天 \u200d气 \u200c真 \u2060好 我 们 去 玩",  # spaced out and invisible: two tricks
    ],
)
def test_heavy_hiding_alone_goes_to_review(text):
    """Nothing else found, but nobody writes like this except to get past a filter: a person looks."""
    v = moderate(text)
    assert v.verdict == "review" and v.categories[0] == "spam.symbol_trick", v.to_dict()


@pytest.mark.parametrize(
    "text",
    [
        "我 卡 死 了 你 们 部 落 收 人 的 消 停 会",  # spaced with spaces: emphasis, not hiding
        "但为什么a（x，y，z）b（a，b，c）。然后a•b=xa+yb+zc呢",  # a formula changes its symbols
        "一.一一.一^ε^^O^x_x-_^T_T^_^¬_¬→_→",  # a row of emoticons
        "👨\u200d👩\u200d👧 好的❤\ufe0f❤\ufe0f我们周末见",  # emoji joiners and variation selectors
        "㊗\ufe0f",
    ],
)
def test_ordinary_odd_writing_is_not_heavy_hiding(text):
    assert moderate(text).verdict == "allow", moderate(text).to_dict()


def test_heavy_hiding_alone_is_not_measured_when_the_policy_cannot_act_on_it():
    from qunyun.moderation.policy import Rule

    strict = default_policy(extra=[("spam.symbol_trick", Rule(review_at=0.7, act_at=0.9))])
    assert moderate("美·媒·曝·光·中·国·地·下·空·军", Context(policy=strict)).verdict == "allow"

"""Normalization defeats each evasion trick, and evidence maps back to the original text."""

import pytest

from qunyun.moderation.detection.normalize import normalize, obfuscation_signals


@pytest.mark.parametrize(
    "written, compact",
    [
        ("加 微 信", "加微信"),  # spaces between characters
        ("加.微.信", "加微信"),  # punctuation between characters
        ("加-V-信", "加v信"),  # a letter standing in for a character
        ("加★微☆信", "加微信"),  # decorative symbols
        ("加\u200b微\u200c信\u2060", "加微信"),  # zero-width characters
        ("加\u202e微信", "加微信"),  # bidi control
        ("ＡＢＣ１２３", "abc123"),  # full-width
        ("①③⑧", "138"),  # circled digits
        ("⑴⑵⑶", "123"),  # parenthesised digits
        ("➊➋➌", "123"),  # dingbat digits
        ("𝐯𝐱", "vx"),  # mathematical bold letters
        ("ѵх", "vx"),  # Cyrillic look-alikes
        ("加薇信", "加薇信"),  # homophones are left for the lexicon and contact cues
        ("現在還可以發貨", "现在还可以发货"),  # traditional → simplified
        ("1\ufe0f\u20e33\ufe0f\u20e3", "13"),  # keycap emoji digits
    ],
)
def test_each_evasion_is_folded(written, compact):
    assert normalize(written).compact == compact


def test_english_keeps_word_boundaries():
    assert normalize("Check out my channel").compact == "check out my channel"


def test_empty_and_binary_do_not_crash():
    assert normalize("").compact == ""
    n = normalize("\x00\x01\ufffd\udcff" * 10)
    assert isinstance(n.compact, str)


def test_offsets_map_back_to_what_the_member_wrote():
    text = "好消息！加 ｖ ❤ 信：ａ①②③④⑤⑥ 详聊"
    n = normalize(text)
    start = n.compact.index("v")
    end = n.compact.index("6") + 1
    s, e = n.original_span(start, end)
    assert text[s:e] == "ｖ ❤ 信：ａ①②③④⑤⑥"


def test_offsets_survive_expansions_and_removals():
    text = "⑩\u200b号 微信"
    n = normalize(text)
    assert n.compact == "10号微信"
    s, e = n.original_span(n.compact.index("微"), len(n.compact))
    assert text[s:e] == "微信"
    s, e = n.original_span(0, 2)  # both digits come from the one character ⑩
    assert text[s:e].startswith("⑩")


def test_obfuscation_signal():
    assert obfuscation_signals("今天一起吃饭吗").score == 0
    assert obfuscation_signals("加 微 信").spaced_runs == 1
    assert obfuscation_signals("ѵх:аbс\u200b123").score >= 0.5


def test_traditional_is_folded_in_the_same_table_pass():
    from qunyun.moderation.detection.normalize import TABLE

    # one translate pass does full-width, look-alikes and traditional → simplified together
    assert "聯繫ＱＱ".translate(TABLE) == "联系qq"
    assert normalize("這個價錢").compact == "这个价钱"


def test_heavy_plus_is_read_as_jia():
    assert normalize("➕我").compact == "加我"


def test_ascii_folds_by_lower_case_like_the_table():
    from qunyun.moderation.detection.normalize import TABLE

    text = "".join(chr(i) for i in range(128))
    assert normalize(text).folded == text.translate(TABLE)


def test_heavy_plus_alone_is_not_hiding():
    from qunyun.moderation.detection.verdict import moderate

    # "➕我" is how people write 加我: it reads like 加我, not like a decorated advert.
    assert moderate("➕我").verdict == moderate("加我").verdict == "allow"

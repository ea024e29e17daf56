"""Lexicon files: matching through evasions, whole words for Latin terms, clear file errors."""

import pytest

from qunyun.moderation.detection.lexicon import Lexicon, LexiconError, LexiconTerm, read_lexicon_file, starter_lexicon
from qunyun.moderation.detection.normalize import normalize


def test_starter_lists_load_and_match_through_evasions():
    lex = starter_lexicon()
    assert len(lex) > 200
    found = lex.scan(normalize("日 赚 三百，躺．賺"))
    spam = [f for f in found if f.category == "spam"][0].resolved()
    assert spam.reason == "日赚, 躺赚"
    assert spam.score == pytest.approx(1 - (1 - 0.6) * (1 - 0.6))
    text = "日 赚 三百，躺．賺"
    assert [text[e.start : e.end] for e in spam.evidence] == ["日 赚", "躺．賺"]


def test_latin_terms_match_whole_words_only():
    lex = Lexicon([LexiconTerm("ass", "unfriendly.abuse", 0.5)]).build()
    assert lex.scan(normalize("first class")) == []
    assert lex.scan(normalize("you ass"))


def test_bad_encoding_names_file_and_line(tmp_path):
    f = tmp_path / "spam.txt"
    f.write_bytes("加我\n兼职\n".encode() + b"\xff\xfe bad\n")
    with pytest.raises(LexiconError, match=r"spam\.txt:3: not valid UTF-8"):
        read_lexicon_file(f)


def test_bad_weight_names_file_and_line(tmp_path):
    f = tmp_path / "vulgar.txt"
    f.write_text("# comment\n黄片\t0.7\n裸聊\tvery\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"vulgar\.txt:3: weight 'very' is not a number"):
        read_lexicon_file(f)


def test_unknown_category_file_name(tmp_path):
    f = tmp_path / "nonsense.txt"
    f.write_text("x\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="does not name a moderation category"):
        read_lexicon_file(f)


def test_term_that_normalizes_to_nothing(tmp_path):
    f = tmp_path / "spam.txt"
    f.write_text("ok\n★☆\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"spam\.txt:2: term"):
        read_lexicon_file(f)


def test_large_lexicon_loads_quickly_enough_to_be_practical():
    # 100k synthetic terms; speed is measured in bench/, this only checks it works at size.
    terms = [LexiconTerm(f"词{i}号", "spam", 0.3) for i in range(100_000)]
    lex = Lexicon(terms).build()
    assert len(lex) == 100_000
    assert lex.scan(normalize("这是词99999号"))


def test_overlapping_terms_each_count():
    # "微信" and "信号" overlap in "微信号": both are found, and both add to the category score
    lex = Lexicon([LexiconTerm("微信", "spam", 0.3), LexiconTerm("信号", "spam", 0.3), LexiconTerm("号码", "spam", 0.3)])
    found = lex.scan(normalize("加微信号码"))
    assert len(found) == 1 and set(found[0].reason.split(", ")) == {"微信", "信号", "号码"}
    assert abs(found[0].score - (1 - 0.7 ** 3)) < 1e-9
    assert lex.count_matches(normalize("加微信号码").compact) == 3
    # evidence points at what was written, even through a traditional spelling with spaces
    text = "加 微 信 號 碼"
    spans = {text[e.start:e.end] for e in lex.scan(normalize(text))[0].resolved().evidence}
    assert spans == {"微 信", "信 號", "號 碼"}

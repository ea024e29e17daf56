"""The marks the store writes on each message: what the analytics count as water, links and mentions."""

from __future__ import annotations

import pytest

from qunyun.core.marks import LINK, MENTIONS_SHIFT, WATER, message_has_link, message_is_water, message_marks


@pytest.mark.parametrize(("kind", "text", "water"), [
    ("text", " 哈哈 ", True), ("text", "👍", True), ("text", "\t\n", True), ("text", "", True),
    ("text", "好好好", True), ("text", "哈哈哈哈", False), ("text", " ok? ", True), ("text", "four", False),
    ("sticker", "a sticker's long caption", True), ("image", "", False), ("voice", "", False),
])
def test_water_is_a_sticker_or_three_characters_at_most(kind, text, water):
    assert message_is_water(kind, text) is water


@pytest.mark.parametrize(("text", "link"), [
    ("see https://example.com", True), ("WWW.EXAMPLE.COM", True), ("Http://x", True), ("ftp://x", False),
    ("no url here", False), ("ｗｗｗ.example", False),  # full-width letters are other letters (as in SQL)
    ("İstanbul WWW.x", True), ("www", False), ("wwwexample", False),
])
def test_a_link_is_a_marker_in_any_ascii_case(text, link):
    assert message_has_link("text", text) is link


def test_marks_pack_water_link_and_every_mention():
    assert message_marks("text", "ok", ()) == WATER
    assert message_marks("link", "read this please", ("a", "b", "c")) == LINK | 3 << MENTIONS_SHIFT
    assert message_marks("text", "www.x", ("a",)) == LINK | 1 << MENTIONS_SHIFT  # five characters: not water
    assert message_marks("sticker", "", None) == WATER
    assert message_marks("text", "a real sentence", ()) == 0

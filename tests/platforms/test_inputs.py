"""Reading laid-out JSON arrays fast: every cut, at every chunk size, as a general parser reads it."""

from __future__ import annotations

import io
import json

import ijson
import msgspec
import pytest

from qunyun.platforms.inputs import Replay, laid_out_batches

ELEMENTS = [{"id": 1, "text": "a\nb } ]"}, {"id": 2, "nested": {"list": [1, {"x": "  }"}]}}, {"id": 3}]


def _read(text: str, chunk: int, got: list | None = None) -> tuple[list, list]:
    """(elements the fast reading gave, elements the general parser gave for what it left);
    ``got`` receives every element as it comes, also when the parser then fails."""
    got = [] if got is None else got
    data = text.encode("utf-8")
    start = data.index(b"[") + 1
    stream = io.BytesIO(data[start + 5:])
    fast = laid_out_batches(stream, data[start:start + 5], 0, b"\n  }", msgspec.json.decode,
                            msgspec.json.Decoder(list).decode, chunk=chunk)
    out = []
    while True:
        try:
            out.extend(batch := next(fast))
            got.extend(batch)
        except StopIteration as stop:
            rest, after_element = stop.value
            break
    head = b'{"messages":[' + (b"0" if after_element else b"")  # as the Telegram importer goes on
    items = ijson.items(Replay(head + rest, stream), "messages.item")
    if after_element:
        next(items)
    rest = []
    for item in items:
        rest.append(item)
        got.append(item)
    return out, rest


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 13, 64, 1 << 16])
def test_every_element_is_read_once_in_order_at_any_chunk_size(chunk):
    text = json.dumps({"messages": ELEMENTS}, indent=1)
    fast, rest = _read(text, chunk)
    assert fast == ELEMENTS and rest == []


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
def test_what_breaks_the_layout_is_left_to_the_general_parser(chunk):
    """Elements are never lost or doubled, whichever reader takes them."""
    text = json.dumps({"messages": ELEMENTS}, indent=1)
    odd = text.replace('  {\n   "id": 2', '  {"id": 2.5},\n  {\n   "id": 2')  # one element on one line
    fast, rest = _read(odd, chunk)  # read fast inside a batch, by the general parser where a cut falls in it
    assert fast + rest == [ELEMENTS[0], {"id": 2.5}, *ELEMENTS[1:]] and fast[:1] == ELEMENTS[:1]
    got: list = []
    with pytest.raises(ijson.common.IncompleteJSONError):
        _read(text.replace('"id": 2', '"id": 2,'), chunk, got)
    assert got == ELEMENTS[:1]  # what came before the break
    spaced = text.replace("},\n  {", "}\n  ,\n  {")  # commas on lines of their own: still read fast
    assert _read(spaced, chunk) == (ELEMENTS, [])


def test_an_empty_array_and_a_truncated_element_are_left_to_the_general_parser():
    assert _read('{\n "messages": [\n  ]\n}', 4) == ([], [])
    text = json.dumps({"messages": ELEMENTS}, indent=1)
    cut = text[: text.index('"id": 3')]
    got: list = []
    with pytest.raises(ijson.common.IncompleteJSONError):
        _read(cut, 16, got)
    assert got == ELEMENTS[:2]


def test_replay_gives_the_head_then_the_stream():
    stream = Replay(b"abc", io.BytesIO(b"defg"))
    assert stream.read(2) == b"ab" and stream.read(5) == b"c" and stream.read(2) == b"de" and stream.read() == b"fg"
    assert Replay(b"xy", io.BytesIO(b"z")).read() == b"xyz"

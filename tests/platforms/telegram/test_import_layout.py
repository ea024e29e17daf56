"""The fast reading of Telegram Desktop's own layout gives exactly what the general parser gives.

A single-chat export laid out as Telegram Desktop writes it is cut into messages at their
closing lines and decoded message by message; anything else goes through ijson. These tests
read the same export in both layouts (and broken in the same places) and compare the events
and the skip reports, without a database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qunyun.platforms.importing import ImportContext, ImportOptions, ImportReport
from qunyun.platforms.telegram import importer
from qunyun.platforms.telegram.importer import FORMAT
from tests.platforms.import_helpers import fixture

SINGLE = fixture("telegram", "single_chat.json")


def _read(path: Path, **options) -> tuple[list, ImportReport]:
    report = ImportReport()
    ctx = ImportContext(ImportOptions(tz="Asia/Shanghai", **options), report=report)
    FORMAT.check([str(path)], ctx)
    events: list = []
    for item in FORMAT.read([str(path)], ctx):  # events, or lists of them
        events += item if isinstance(item, list) else [item]
    return events, report


def _skips(report: ImportReport) -> list[tuple[str, str]]:
    """(where in the file, why) of every skip; a skip of the whole file is at "file"."""
    out = []
    for skip in report.skips:
        where = skip.location.rsplit(": ", 1)[-1]
        out.append(("file" if where.endswith(".json") else where, skip.reason.split(" (")[0]))
    return out


def _both(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """The export as Telegram Desktop lays it out, and the same JSON on one line."""
    pretty, flat = tmp_path / "pretty.json", tmp_path / "flat.json"
    pretty.write_text(text, encoding="utf-8")
    flat.write_text(json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return pretty, flat


def _export() -> dict:
    return json.loads(Path(SINGLE).read_text(encoding="utf-8"))


def _layout(data: dict) -> str:
    """Telegram Desktop's layout: one-space indentation."""
    return json.dumps(data, ensure_ascii=False, indent=1)


@pytest.fixture
def decoded(monkeypatch) -> list:
    """Every message the fast reading decoded (the general parser's are not in it)."""
    seen: list = []
    one, many = importer._decode_message, importer._decode_messages

    def counting_one(data):
        seen.append(one(data))
        return seen[-1]

    def counting_many(data):
        items = many(data)
        seen.extend(items)
        return items

    monkeypatch.setattr(importer, "_decode_message", counting_one)
    monkeypatch.setattr(importer, "_decode_messages", counting_many)
    return seen


def test_both_layouts_give_the_same_events_and_skips(tmp_path, decoded):
    pretty, flat = _both(tmp_path, Path(SINGLE).read_text(encoding="utf-8"))
    fast, fast_report = _read(pretty)
    assert len(decoded) == len(_export()["messages"]) == 22  # all of them read the fast way
    general, general_report = _read(flat)
    assert len(decoded) == 22  # none of them
    assert len(fast) == 21 and fast == general
    assert [e.raw for e in fast] == [None] * len(fast)
    assert _skips(fast_report) == _skips(general_report) == [("messages[15]", "no 'date_unixtime' or 'date'"),
                                                              ("messages[16]", "no 'from_id'")]
    assert fast_report.ignored == general_report.ignored


def test_values_that_are_not_messages_are_skipped_where_they_are_and_the_rest_reads_on(tmp_path):
    data = _export()
    data["messages"][3:3] = [5, "text", [1, {"id": 2}], None]
    pretty, flat = _both(tmp_path, _layout(data))
    fast, fast_report = _read(pretty)
    general, general_report = _read(flat)
    assert fast == general and len(fast) == 21
    assert _skips(fast_report) == _skips(general_report)
    assert _skips(fast_report)[:4] == [(f"messages[{i}]", "not a JSON object") for i in range(3, 7)]


@pytest.mark.parametrize("damage, repair", [
    ('"id": 9,', '"id": 9,,'),  # a comma too many inside a message
    ('  },\n  {\n   "id": 12,', '\n  {\n   "id": 12,'),  # a message not closed: the cut cannot decode
    ('"text": "Welcome! Green or black?",', '"text": Welcome! Green or black?",'),  # a quote missing
])
def test_broken_json_in_the_middle_reads_as_the_general_parser_does(tmp_path, monkeypatch, damage, repair):
    text = _layout(_export())
    assert text.count(damage) == 1
    path = tmp_path / "broken.json"
    path.write_text(text.replace(damage, repair), encoding="utf-8")
    events, report = _read(path)
    assert report.skipped >= 1 and "breaks off" in report.skips[-1].reason
    assert 0 < len(events) < 19
    monkeypatch.setattr(importer, "_messages_start", lambda buffer, head: None)  # ijson from the start
    general, general_report = _read(path)
    assert events == general and _skips(report) == _skips(general_report)


def test_a_trailing_comma_is_reported_as_broken_json(tmp_path, decoded):
    pretty, flat = _both(tmp_path, _layout(_export()))
    pretty.write_text(pretty.read_text(encoding="utf-8").replace("\n  }\n ]", "\n  },\n ]"), encoding="utf-8")
    text = flat.read_text(encoding="utf-8")
    assert text.endswith("}]}")
    flat.write_text(text[:-3] + "},]}", encoding="utf-8")
    events, report = _read(pretty)
    assert len(decoded) == 22
    general, general_report = _read(flat)
    assert report.skipped == 3 and "breaks off" in report.skips[-1].reason
    assert _skips(report) == _skips(general_report)
    assert events == general


def test_keep_raw_keeps_each_message_as_exported(tmp_path):
    events, _report = _read(Path(SINGLE), keep_raw=True)
    originals = {str(m["id"]): m for m in _export()["messages"]}
    message = next(e for e in events if e.type == "message" and e.event_id == "3")
    assert message.raw == originals["3"]
    without, _ = _read(Path(SINGLE))
    assert events == without  # raw is not part of equality: the same events otherwise


@pytest.mark.parametrize("shape", ["object before the messages", "other indentation"])
def test_a_file_not_laid_out_as_telegram_writes_it_goes_through_the_general_parser(tmp_path, decoded, shape):
    data = _export()
    if shape == "object before the messages":
        data = {"name": data["name"], "type": data["type"], "id": data["id"], "about": {"x": 1},
                "messages": data["messages"]}
        text = _layout(data)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2)
    path = tmp_path / "other.json"
    path.write_text(text, encoding="utf-8")
    events, report = _read(path)
    same, _ = _read(Path(SINGLE))
    assert events == same and report.skipped == 2
    assert len(decoded) == 22  # only from reading the fixture itself


# ---- full-account exports (chats.list): the parser walks the structure, messages are read fast

FULL = fixture("telegram", "full_account.json")


def _account() -> dict:
    return json.loads(Path(FULL).read_text(encoding="utf-8"))


def test_an_account_export_reads_the_same_in_both_layouts(tmp_path, decoded):
    pretty, flat = _both(tmp_path, Path(FULL).read_text(encoding="utf-8"))
    fast, fast_report = _read(pretty)
    read_fast = len(decoded)
    assert read_fast == sum(len(c["messages"]) for part in ("chats", "left_chats") for c in _account()[part]["list"])
    general, general_report = _read(flat)
    assert len(decoded) == read_fast  # the one-line file went through the parser alone
    assert fast == general and len(fast) > 0
    assert _skips(fast_report) == _skips(general_report)
    assert fast_report.ignored == general_report.ignored


@pytest.mark.parametrize("damage", ["not an object", "broken JSON", "cut short"])
def test_an_account_export_with_damage_reads_as_the_general_parser_reads_it(tmp_path, monkeypatch, damage):
    data = _account()
    group = next(c for c in data["chats"]["list"] if c["type"] != "personal_chat")
    group["messages"][1:1] = [7, "x"]
    text = _layout(data)
    if damage == "broken JSON":
        assert text.count('"id": 901,') == 1
        text = text.replace('"id": 901,', '"id": 901,,')
    elif damage == "cut short":
        text = text[: len(text) * 2 // 3]
    path = tmp_path / "account.json"
    path.write_text(text, encoding="utf-8")
    events, report = _read(path)
    monkeypatch.setattr(importer, "_CHAT_MESSAGES_KEY", b"\x00never")  # the parser alone
    general, general_report = _read(path)
    assert events == general and _skips(report) == _skips(general_report)
    if damage == "not an object":
        assert [reason for _where, reason in _skips(report)].count("not a JSON object") == 2
    else:
        assert "breaks off" in report.skips[-1].reason


@pytest.mark.parametrize("unix", [0, 1, -1, -3601, 3599, 3600, 1672531229, 1672531199, 2**31, 253402300000])
def test_message_times_are_those_of_the_unix_time_whatever_came_before(unix):
    """Times are computed from the Unix hour of the previous message when it is the same."""
    from datetime import datetime, timezone

    from qunyun.platforms.telegram.export_chat import ChatState
    from qunyun.platforms.telegram.exported import ExportedMessage

    chat = ChatState(1, "private_supergroup", "x", ImportContext(ImportOptions()))
    for before in (unix - 1, unix + 1, unix, unix - 3600, 0):  # the same hour, and other hours
        for n in (before, unix):
            message = chat.convert(ExportedMessage(id=1, type="message", date_unixtime=str(n), from_id="user1",
                                                   from_="Ann", text="hi"), "l", 0)
            assert message.at == datetime.fromtimestamp(n, timezone.utc)


def test_a_message_msgspec_refuses_is_read_as_ijson_reads_it_and_the_rest_stays_fast(tmp_path, monkeypatch, decoded):
    """A lone UTF-16 surrogate escape (a text cut in the middle of an emoji) is refused by msgspec."""
    text = _layout(_export())
    assert text.count('"text": "Welcome! Green or black?",') == 1
    path = tmp_path / "surrogate.json"
    path.write_text(text.replace('"text": "Welcome! Green or black?",', '"text": "Welcome! \\ud83c",'),
                    encoding="utf-8")
    events, report = _read(path)
    assert len(decoded) == 21  # every message but that one, fast
    welcome = next(e for e in events if e.type == "message" and e.event_id == "3")
    assert welcome.text == "Welcome! ?"  # what ijson makes of it
    monkeypatch.setattr(importer, "_messages_start", lambda buffer, head: None)  # ijson from the start
    general, general_report = _read(path)
    assert events == general and _skips(report) == _skips(general_report)

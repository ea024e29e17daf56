"""The runner counts events the same whether an importer yields them one by one or in lists."""

from __future__ import annotations

import gc
import types
from datetime import datetime, timezone

import pytest

from qunyun.core import events as ev
from qunyun.platforms import runner
from qunyun.platforms.importing import ImportFormat, ImportOptions

T = datetime(2026, 3, 1, tzinfo=timezone.utc)
ANN, BOT, CAT = ev.Account("x:1", "Ann"), ev.Account("x:9", "bot", is_bot=True), ev.Account("x:3", "Cat")


def _events() -> list[ev.Event]:
    out: list[ev.Event] = []
    for i in range(5000):
        author = (ANN, BOT, CAT)[i % 3]
        out.append(ev.MessagePosted(chat="x:g", event_id=str(i), at=T, author=author,
                                    kind=ev.MessageKind.SYSTEM if i % 7 == 0 else ev.MessageKind.TEXT))
        if i % 100 == 0:
            out.append(ev.MemberJoined(chat="x:g", event_id=f"j{i}", at=T, member=CAT, inviter=ANN))
        if i % 250 == 0:
            out.append(ev.ReactionAdded(chat="x:g", event_id=f"r{i}", at=T, message_id=str(i), author=BOT, emoji="+"))
    return out


def _summary(monkeypatch, shape: str):
    events = _events()

    def read(paths, ctx):
        if shape == "single":
            yield from events
        else:  # lists of uneven sizes, with single events in between
            i = 0
            while i < len(events):
                yield events[i]
                yield events[i + 1:i + 1 + 997]
                i += 998

    fmt = ImportFormat(name="fake", title="fake", check=lambda paths, ctx: None, read=read)
    monkeypatch.setattr(runner, "format_get", lambda name: fmt)
    return runner.import_run(community=types.SimpleNamespace(time_zone="UTC"), format_name="fake",
                             paths=["-"], options=ImportOptions(), dry_run=True, progress=False)


def test_lists_and_single_events_are_counted_alike(monkeypatch):
    single, lists = _summary(monkeypatch, "single"), _summary(monkeypatch, "lists")
    assert single.parsed == lists.parsed and single.parsed["message"] == 5000
    assert single.parsed["join"] == 50 and single.parsed["reaction"] == 20
    assert (single.bot_messages, single.system_messages) == (lists.bot_messages, lists.system_messages)
    assert single.bot_messages == 1667 and single.system_messages == 715
    assert single.people == lists.people == {"x:1", "x:3"} and single.bots == lists.bots == {"x:9"}


def test_the_collector_threshold_is_restored(monkeypatch):
    before = gc.get_threshold()
    _summary(monkeypatch, "lists")
    assert gc.get_threshold() == before

    def broken(paths, ctx):
        yield from []
        raise KeyboardInterrupt

    fmt = ImportFormat(name="fake", title="fake", check=lambda paths, ctx: None, read=broken)
    monkeypatch.setattr(runner, "format_get", lambda name: fmt)
    summary = runner.import_run(community=types.SimpleNamespace(time_zone="UTC"), format_name="fake", paths=["-"],
                                options=ImportOptions(), dry_run=True, progress=False)
    assert summary.interrupted and gc.get_threshold() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [1, 4, 5000])
def test_batches_handed_to_the_store_have_the_asked_size(community, monkeypatch, size):
    """Telegram yields lists of events; the store still gets batches of exactly ``size``."""
    from qunyun.bus.runtime import Runtime
    from tests.platforms.import_helpers import db_counts, fixture, run

    seen: list[int] = []
    ingest = Runtime.ingest_batch

    def spy(self, batch):
        seen.append(len(batch))
        return ingest(self, batch)

    monkeypatch.setattr(Runtime, "ingest_batch", spy)
    summary = run(community, "telegram", fixture("telegram", "single_chat.json"), batch_size=size)
    total = sum(summary.parsed.values())
    assert sum(seen) == total == db_counts(community)["events"]
    assert all(n == size for n in seen[:-1]) and 0 < seen[-1] <= size

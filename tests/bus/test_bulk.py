"""Bulk loading of a large import (qunyun.bus.bulk): same results as the ordinary path, crash-safe.

A bulk load drops the event table's secondary indexes and skips the per-batch rollups, then
rebuilds both at the end. These tests hold it to: the same events, memberships and rollups as
the ordinary path; a killed import leaves whole batches that a re-run completes exactly, and
whichever command starts next puts the indexes and rollups back; Ctrl-C finishes the work
before exiting; nothing is repaired while a live import holds the lock.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.db import connection

from qunyun.analytics.rollups import ROLLUP_TABLES
from qunyun.bus.bulk import BULK_DROPPED, BulkLock, bulk_load, bulk_repair, bulk_wanted, indexes_missing
from qunyun.bus.models import BulkLoad
from qunyun.communities.models import Event, Group, Identity
from qunyun.communities.services import community_create
from qunyun.platforms.importing import ImportOptions
from qunyun.platforms.runner import import_run

ON_POSTGRES = bool(os.environ.get("QUNYUN_TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="bulk loading is SQLite's (PostgreSQL imports take the ordinary path)")


def write_export(path: Path, count: int, *, people: int = 60, chat: int = 1700000001) -> int:
    """A Telegram Desktop single-chat export of ``count`` records; returns how many are messages.

    Replies, mention entities, reactions, joins by link and members leaving, in time order.
    """
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    messages = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Bulk tea", "type": "private_supergroup", "id": %d,\n "messages": [\n' % chat)
        for mid in range(1, count + 1):
            moment = start + timedelta(minutes=7 * mid)
            who = (mid * 7919) % people
            record: dict = {"id": mid, "date": moment.replace(tzinfo=None).isoformat(),
                            "date_unixtime": str(int(moment.timestamp()))}
            if mid % 97 == 0:
                record.update(type="service", actor=f"P{who}", actor_id=f"user{who}", action="join_group_by_link",
                              inviter="P0", text="")
            elif mid % 151 == 0:
                record.update(type="service", actor=f"P{who}", actor_id=f"user{who}", action="remove_members",
                              members=[f"P{who}"], text="")
            else:
                messages += 1
                record.update(type="message", **{"from": f"P{who}", "from_id": f"user{who}"})
                record["text"] = "ok" if mid % 5 == 0 else f"message {mid} about tea https://t.example/{mid}"
                if mid % 9 == 0:
                    record["reply_to_message_id"] = mid - 3
                if mid % 13 == 0:
                    friend = (who + 1) % people
                    record["text"] = ["hi ", {"type": "mention_name", "text": f"P{friend}", "user_id": friend}]
                if mid % 11 == 0:
                    record["reactions"] = [{"type": "emoji", "count": 1, "emoji": "👍", "recent": [
                        {"from": f"P{(who + 2) % people}", "from_id": f"user{(who + 2) % people}",
                         "date": (moment + timedelta(seconds=30)).replace(tzinfo=None).isoformat()}]}]
            out.write("  " + json.dumps(record, ensure_ascii=False) + (",\n" if mid < count else "\n"))
        out.write(" ]\n}\n")
    return messages


def _import(community, path: Path, *, bulk: bool | None, batch_size: int = 500):
    return import_run(community=community, format_name="telegram", paths=[str(path)],
                      options=ImportOptions(tz=community.time_zone), batch_size=batch_size, progress=False, bulk=bulk)


def _normalized(community) -> dict[str, list[tuple]]:
    """Every rollup row and membership of ``community`` with member and group ids replaced by the
    platform ids behind them, so two communities holding the same history compare equal."""
    accounts = dict(Identity.objects.filter(community=community).values_list("member_id", "account_id"))
    chats = dict(Group.objects.filter(community=community).values_list("pk", "chat_id"))
    out: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        for table in (*ROLLUP_TABLES, "qunyun_membership"):
            if table == "qunyun_membership":
                cursor.execute("SELECT m.* FROM qunyun_membership m JOIN qunyun_group g ON g.id = m.group_id "
                               "WHERE g.community_id = %s", [community.pk])
            else:
                cursor.execute(f"SELECT * FROM {table} WHERE community_id = %s", [community.pk])
            names = [c[0] for c in cursor.description]
            rows = []
            for row in cursor.fetchall():
                values = []
                for name, value in zip(names, row):
                    if name in ("id", "community_id"):
                        continue
                    if name == "group_id":
                        value = chats.get(value)
                    elif name.endswith("member_id") or name in ("source_id", "target_id", "inviter_id"):
                        value = accounts.get(value, value)
                    values.append((name, str(value)))
                rows.append(tuple(values))
            out[table] = sorted(rows)
        # the members themselves: first sightings and channels are kept up to date with the memberships
        cursor.execute("SELECT id, display_name, is_bot, first_seen_at, channel_id FROM qunyun_member "
                       "WHERE community_id = %s", [community.pk])
        out["qunyun_member"] = sorted((accounts.get(pk), *map(str, rest)) for pk, *rest in cursor.fetchall())
    return out


@pytest.mark.django_db(transaction=True)
def test_a_bulk_load_stores_and_rolls_up_exactly_what_the_ordinary_path_does(tmp_path):
    path = tmp_path / "result.json"
    messages = write_export(path, 3000)
    plain = community_create(slug="plain", name="Plain", time_zone="Asia/Shanghai")
    bulk = community_create(slug="bulk", name="Bulk", time_zone="Asia/Shanghai")
    first = _import(plain, path, bulk=False)
    second = _import(bulk, path, bulk=True)
    assert not first.bulk and second.bulk == (not ON_POSTGRES)
    assert first.stored == second.stored and second.stored["message"] == messages
    assert _normalized(bulk) == _normalized(plain)
    assert any(_normalized(bulk).values())
    assert not indexes_missing(Event)
    assert not BulkLoad.objects.exists()
    again = _import(bulk, path, bulk=True)  # idempotent in bulk too
    assert sum(again.stored.values()) == 0 and again.duplicates == sum(second.stored.values())
    assert _normalized(bulk) == _normalized(plain)


@pytest.mark.django_db(transaction=True)
def test_only_a_large_import_next_to_what_the_event_log_holds_loads_in_bulk(tmp_path):
    community = community_create(slug="tea", name="Tea", time_zone="UTC")
    other = community_create(slug="other", name="Other", time_zone="UTC")
    assert not bulk_wanted(community, 1000)  # small
    assert bulk_wanted(community, 60_000) == (not ON_POSTGRES)
    path = tmp_path / "result.json"
    write_export(path, 300)
    _import(other, path, bulk=False)
    held = Event.objects.count()
    # The log holds more than the import brings — in another community: its indexes span both.
    assert not bulk_wanted(community, held - 10, threshold=100)
    assert bulk_wanted(community, held + 10, threshold=100) == (not ON_POSTGRES)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_nothing_is_repaired_while_a_bulk_load_holds_the_lock_and_everything_is_after(tmp_path):
    community = community_create(slug="tea", name="Tea", time_zone="UTC")
    path = tmp_path / "result.json"
    write_export(path, 400)
    _import(community, path, bulk=False)
    expected = _normalized(community)
    # What a killed bulk load leaves: the marker, no secondary indexes, no memberships, no rollups.
    BulkLoad.objects.create(community=community, pid=0)
    with connection.cursor() as cursor:
        for name in BULK_DROPPED:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        for table in ROLLUP_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE community_id = %s", [community.pk])
        cursor.execute("DELETE FROM qunyun_membership WHERE group_id IN "
                       "(SELECT id FROM qunyun_group WHERE community_id = %s)", [community.pk])
    lock = BulkLock(connection.settings_dict["NAME"])
    assert lock.acquire()
    try:
        assert bulk_repair() == []  # a live import holds the lock: it finishes its own work
        assert {i.name for i in indexes_missing(Event)} == set(BULK_DROPPED)
    finally:
        lock.release()
    done = bulk_repair()
    assert len(done) == 2 and "indexes created again" in done[0] and "memberships and rollups of tea" in done[1]
    assert not indexes_missing(Event) and not BulkLoad.objects.exists()
    assert _normalized(community) == expected
    assert bulk_repair() == []


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_second_bulk_load_while_one_runs_takes_the_ordinary_path(tmp_path):
    community = community_create(slug="tea", name="Tea", time_zone="UTC")
    lock = BulkLock(connection.settings_dict["NAME"])
    assert lock.acquire()
    try:
        from qunyun.bus.store import EventStore

        with bulk_load(EventStore(community)) as loading:
            assert loading is False
    finally:
        lock.release()


# ----------------------------------------------------------------- as a user runs it: a child process


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "QUNYUN_DATABASE_URL", "QUNYUN_DEBUG")}
    env["QUNYUN_HOME"] = str(home)
    return env


def _qunyun(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qunyun.cli.main", *args], env=_env(home), capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)


def _db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "qunyun.sqlite3", timeout=30)


def _scalar(home: Path, query: str) -> int:
    db = _db(home)
    try:
        return db.execute(query).fetchone()[0]
    finally:
        db.close()


def _event_indexes(home: Path) -> set[str]:
    db = _db(home)
    try:
        return {name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'qunyun_event'")}
    finally:
        db.close()


def _start_and_stop(home: Path, path: Path, sig: int, *, after_events: int) -> subprocess.Popen:
    """Start a bulk import in a child and send it ``sig`` once ``after_events`` events are stored."""
    proc = subprocess.Popen([sys.executable, "-m", "qunyun.cli.main", "import", "telegram", str(path),
                             "--community", "tea", "--bulk", "--batch-size", "1000"],
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the import ended before it could be stopped:\n{proc.stdout.read()}{proc.stderr.read()}")
        try:
            if _scalar(home, "SELECT COUNT(*) FROM qunyun_event") >= after_events:
                break
        except sqlite3.OperationalError:  # not migrated yet
            pass
        time.sleep(0.02)
    proc.send_signal(sig)
    return proc


def _check_complete(home: Path, messages: int) -> None:
    """Every message once, the indexes back, no marker, rollups equal to the log's own counts."""
    assert _scalar(home, "SELECT COUNT(*) FROM qunyun_event WHERE type = 'message'") == messages
    assert _scalar(home, "SELECT COUNT(*) FROM (SELECT key FROM qunyun_event GROUP BY key HAVING COUNT(*) > 1)") == 0
    assert set(BULK_DROPPED) <= _event_indexes(home)
    assert _scalar(home, "SELECT COUNT(*) FROM qunyun_bulk_load") == 0
    assert _scalar(home, "SELECT SUM(messages) FROM qunyun_group_day") == messages
    assert _scalar(home, "SELECT SUM(joins) FROM qunyun_group_day") == \
        _scalar(home, "SELECT COUNT(*) FROM qunyun_event WHERE type = 'join'")
    assert _scalar(home, "SELECT SUM(messages) FROM qunyun_member_day") == messages


@sqlite_only
def test_a_killed_bulk_import_is_repaired_by_the_next_command_and_a_rerun_completes_it(tmp_path):
    home, path = tmp_path / "home", tmp_path / "result.json"
    messages = write_export(path, 40_000)
    assert _qunyun(home, "community", "create", "tea", "--name", "Tea", "--tz", "Asia/Shanghai").returncode == 0
    proc = _start_and_stop(home, path, signal.SIGKILL, after_events=5000)
    proc.wait(timeout=60)
    stored = _scalar(home, "SELECT COUNT(*) FROM qunyun_event")
    assert 5000 <= stored < 40_000
    assert _scalar(home, "SELECT COUNT(*) FROM qunyun_bulk_load") == 1
    assert not set(BULK_DROPPED) & _event_indexes(home)  # killed without its indexes
    # Any command puts them back (and the rollups of what was stored) before doing its own work.
    report = _qunyun(home, "report", "--community", "tea", "--format", "json")
    assert report.returncode == 0, report.stderr
    assert set(BULK_DROPPED) <= _event_indexes(home)
    assert _scalar(home, "SELECT COUNT(*) FROM qunyun_bulk_load") == 0
    assert json.loads(report.stdout)["messages"] == _scalar(
        home, "SELECT COUNT(*) FROM qunyun_event WHERE type = 'message'")
    rerun = _qunyun(home, "import", "telegram", str(path), "--community", "tea", "--bulk")
    assert rerun.returncode == 0, rerun.stderr
    assert "loaded in bulk" in rerun.stdout
    _check_complete(home, messages)


@sqlite_only
def test_ctrl_c_during_a_bulk_import_finishes_indexes_and_rollups_before_exiting(tmp_path):
    home, path = tmp_path / "home", tmp_path / "result.json"
    write_export(path, 40_000)
    assert _qunyun(home, "community", "create", "tea", "--name", "Tea", "--tz", "UTC").returncode == 0
    proc = _start_and_stop(home, path, signal.SIGINT, after_events=3000)
    out, _err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "INTERRUPTED" in out
    stored = _scalar(home, "SELECT COUNT(*) FROM qunyun_event WHERE type = 'message'")
    assert 0 < stored
    _check_complete(home, stored)


@sqlite_only
@pytest.mark.django_db(transaction=True)
def test_the_progress_bar_says_when_a_bulk_load_builds_its_indexes_and_rollups(tmp_path, capsys):
    community = community_create(slug="tea", name="Tea", time_zone="UTC")
    path = tmp_path / "result.json"
    write_export(path, 200)
    summary = import_run(community=community, format_name="telegram", paths=[str(path)],
                         options=ImportOptions(tz="UTC"), progress=True, bulk=True)
    assert summary.bulk and "loaded in bulk" in "\n".join(summary.lines())
    assert "building indexes and rollups" in capsys.readouterr().err

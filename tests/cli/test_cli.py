"""The ``qunyun`` command as a user runs it: in a child process, with its own data directory.

Every error a user can cause is one line saying what to do, with a non-zero exit and no
traceback.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest


def qunyun(*args: str, home, env: dict | None = None, timeout: float = 120):
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("DJANGO_SETTINGS_MODULE", "QUNYUN_DATABASE_URL", "QUNYUN_DEBUG")}
    full_env["QUNYUN_HOME"] = str(home)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "qunyun.cli.main", *args], env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("qunyun: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_version(tmp_path):
    from qunyun import __version__

    proc = qunyun("version", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"qunyun {__version__}")


def test_community_create_show_and_list_on_a_fresh_data_directory(tmp_path):
    home = tmp_path / "nested" / "home"  # created on first use, schema migrated automatically
    proc = qunyun("community", "create", "tea", "--name", "Tea lovers", "--tz", "Asia/Shanghai", home=home)
    assert proc.returncode == 0, proc.stderr
    assert "community 'tea' created" in proc.stdout
    assert (home / "qunyun.sqlite3").exists() and (home / "secret_key").exists()
    show = qunyun("community", "show", "tea", home=home)
    assert show.returncode == 0 and "Tea lovers (tea), time zone Asia/Shanghai" in show.stdout
    assert "tea\tTea lovers\tAsia/Shanghai" in qunyun("community", "list", home=home).stdout


def test_the_database_is_sqlite_in_wal_mode(tmp_path):
    import sqlite3

    assert qunyun("migrate", home=tmp_path).returncode == 0
    mode = sqlite3.connect(tmp_path / "qunyun.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_duplicate_community_and_bad_time_zone(tmp_path):
    assert qunyun("community", "create", "tea", "--name", "T", home=tmp_path).returncode == 0
    assert_one_line_error(qunyun("community", "create", "tea", "--name", "T", home=tmp_path), "already exists")
    assert_one_line_error(qunyun("community", "create", "x", "--name", "X", "--tz", "Mars/Base", home=tmp_path),
                          "unknown time zone 'Mars/Base'")
    assert_one_line_error(qunyun("community", "create", "a b", "--name", "X", home=tmp_path), "not a valid slug")


def test_unknown_community_names_the_known_ones(tmp_path):
    assert qunyun("community", "create", "tea", "--name", "T", home=tmp_path).returncode == 0
    assert_one_line_error(qunyun("community", "show", "coffee", home=tmp_path), "no community 'coffee'", "tea")


def test_unwritable_data_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert_one_line_error(qunyun("migrate", home=blocker / "home"), "not writable", "QUNYUN_HOME")


@pytest.mark.parametrize("url, fragment", [
    ("mysql://u:secret@localhost/db", "only SQLite and PostgreSQL"),
    ("nonsense", "not a database URL"),
    ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot connect to the database"),
])
def test_wrong_database_url(tmp_path, url, fragment):
    proc = qunyun("migrate", home=tmp_path, env={"QUNYUN_DATABASE_URL": url})
    assert_one_line_error(proc, fragment)
    assert "secret" not in proc.stderr  # the password is never printed


def test_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = qunyun("serve", "--port", str(port), home=tmp_path)
    assert_one_line_error(proc, f"port {port}", "already in use", "--port")


def test_operator_create_needs_a_password_when_not_interactive(tmp_path):
    assert_one_line_error(qunyun("operator", "create", "alice", home=tmp_path), "no password")
    assert_one_line_error(qunyun("operator", "create", "alice", "--password", "short", home=tmp_path), "8 characters")
    ok = qunyun("operator", "create", "alice", "--password", "a-long-password", home=tmp_path)
    assert ok.returncode == 0 and "operator 'alice' created" in ok.stdout


@pytest.mark.postgres
def test_postgresql_is_selected_by_the_database_url(tmp_path, postgres_url):
    import psycopg

    name = f"qunyun_cli_{os.getpid()}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = postgres_url.rsplit("/", 1)[0] + "/" + name
        proc = qunyun("community", "create", "pg", "--name", "On Postgres", home=tmp_path,
                      env={"QUNYUN_DATABASE_URL": url})
        assert proc.returncode == 0, proc.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name FROM qunyun_community").fetchone()[0] == "On Postgres"
        assert not (tmp_path / "qunyun.sqlite3").exists()
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_member_merge_and_unmerge_from_the_command_line(tmp_path):
    import json

    assert qunyun("community", "create", "tea", "--name", "T", home=tmp_path).returncode == 0
    lines = [{"type": "message", "chat": "fake:a", "event_id": str(i), "at": f"2026-01-0{i}T10:00:00Z",
              "author": {"id": f"fake:u{i}", "name": f"user{i}"}, "text": "hi"} for i in (1, 2)]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(line) for line in lines))
    imported = qunyun("import", "jsonl", str(events), "--community", "tea", home=tmp_path)
    assert imported.returncode == 0, imported.stderr
    merged = qunyun("member", "merge", "fake:u2", "fake:u1", "--community", "tea", home=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "merge #1: user2" in merged.stdout and "qunyun member unmerge 1 --community tea" in merged.stdout
    assert "active" in qunyun("member", "merges", "--community", "tea", home=tmp_path).stdout
    # fake:u2 is now an account of the merged member.
    assert_one_line_error(qunyun("member", "merge", "fake:u2", "fake:u1", "--community", "tea", home=tmp_path),
                          "into itself")
    assert_one_line_error(qunyun("member", "merge", "fake:nobody", "fake:u1", "--community", "tea", home=tmp_path),
                          "no member 'fake:nobody'")
    undone = qunyun("member", "unmerge", "1", "--community", "tea", home=tmp_path)
    assert undone.returncode == 0 and "two members again" in undone.stdout

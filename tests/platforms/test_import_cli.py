"""``qunyun import`` and ``qunyun export`` as a user runs them: a child process, its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qunyun.cli.main import main
from qunyun.communities.models import Event
from tests.platforms.import_helpers import fixture

TELEGRAM = fixture("telegram", "single_chat.json")


def qunyun(*args: str, home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "QUNYUN_DATABASE_URL", "QUNYUN_DEBUG")}
    env["QUNYUN_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "qunyun.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_import_prints_a_summary_and_export_writes_the_events(tmp_path):
    home = tmp_path / "home"
    assert qunyun("community", "create", "tea", "--name", "Tea", "--tz", "Asia/Shanghai", home=home).returncode == 0
    proc = qunyun("import", "telegram", TELEGRAM, "--community", "tea", "--bot", "Tea Bot", home=home)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "messages:  12, 12 new (1 by bots, 2 system)" in out
    assert "members:   8 seen, 8 new to the community (and 1 bots, not counted as members)" in out
    assert "joins:     5, 5 new" in out and "leaves:    2, 2 new" in out
    assert "skipped:   2 malformed records" in out and "messages[15]: no 'date_unixtime' or 'date'" in out
    assert "read as Asia/Shanghai (1 records)" in out
    assert "messages/s" in out
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    again = qunyun("import", "telegram", TELEGRAM, "--community", "tea", home=home)
    assert "messages:  12, 0 new" in again.stdout
    exported = tmp_path / "tea.jsonl"
    proc = qunyun("export", "--community", "tea", "--format", "jsonl", "--output", str(exported), home=home)
    assert proc.returncode == 0 and "exported 21 events" in proc.stderr
    assert exported.read_text(encoding="utf-8").count("\n") == 22  # 21 events and the group's name line


@pytest.mark.django_db(transaction=True)
def test_progress_bar_when_asked(community, capsys):
    assert main(["import", "telegram", TELEGRAM, "--community", "tea", "--progress", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "importing" in captured.err and "100%" in captured.err
    assert "dry run: nothing written" in captured.out


@pytest.mark.django_db(transaction=True)
def test_errors_are_one_line_and_write_nothing(community, tmp_path, capsys):
    def error(*args) -> tuple[int, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        lines = [line for line in captured.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("qunyun: error: "), captured.err
        return code, lines[0]

    other = tmp_path / "notes.json"
    other.write_text('{"hello": "world"}')
    code, line = error("import", "telegram", str(other), "--community", "tea")
    assert code == 2 and "not a Telegram Desktop export:" in line and "has no 'messages' list" in line
    code, line = error("import", "telegram", str(tmp_path / "missing.json"), "--community", "tea")
    assert code == 2 and "missing.json: no such file or folder" in line
    code, line = error("import", "telegram", TELEGRAM, "--community", "nope")
    assert "no community 'nope'" in line
    code, line = error("import", "telegram", TELEGRAM, "--community", "tea", "--tz", "Mars/Olympus")
    assert "unknown time zone 'Mars/Olympus'" in line
    code, line = error("import", "whatsapp", fixture("discord", ""), "--community", "tea")
    assert code == 2 and "is a folder" in line
    code, line = error("import", "telegram", TELEGRAM, "--community", "tea", "--strict")
    assert code == 1 and "--strict:" in line and "messages[15]: no 'date_unixtime' or 'date'" in line
    assert "nothing was written" in line
    assert Event.objects.count() == 0

"""``qunyun report`` as a user runs it: a child process, its own data directory, a real import."""

from __future__ import annotations

import json

import pytest

from qunyun.analytics.report import chromium_path
from qunyun.core.codec import event_to_dict
from tests.analytics.history import tea_history
from tests.cli.test_cli import assert_one_line_error, qunyun


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("report-home")
    export = home / "tea.jsonl"
    lines = [json.dumps({"type": "chat", "chat": "fake:room1", "name": "Tea room"})]
    lines += [json.dumps(event_to_dict(e), ensure_ascii=False) for e in tea_history()]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    created = qunyun("community", "create", "tea", "--name", "Tea lovers", "--tz", "Asia/Shanghai", home=home)
    assert created.returncode == 0, created.stderr
    imported = qunyun("import", "jsonl", str(export), "--community", "tea", "--no-progress", home=home)
    assert imported.returncode == 0, imported.stderr
    return home


def test_report_json_whole_history(home):
    proc = qunyun("report", "--community", "tea", "--format", "json", home=home)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["messages"], report["authors"], report["joins"], report["leaves"]) == (9, 4, 4, 2)
    assert report["scope"]["from"] == "2026-02-10" and report["scope"]["time_zone"] == "Asia/Shanghai"
    assert [m["member"] for m in report["top_members"]] == ["Cathy", "Bob", "Ann", "Eve"]
    assert report["retention_monthly"][0] == {"cohort": "2026-02", "size": 2, "periods": [2, 0], "or_later": [2, 0]}


def test_report_json_range_and_group(home):
    proc = qunyun("report", "--community", "tea", "--from", "2026-03-02", "--to", "2026-03-03",
                  "--group", "Tea room", home=home)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert [(d["date"], d["messages"], d["active_members"], d["joins"], d["leaves"]) for d in report["daily"]] == [
        ("2026-03-02", 2, 2, 2, 0), ("2026-03-03", 2, 2, 0, 1)]
    assert report["scope"]["groups"] == ["Tea room"]


def test_report_html_file_has_charts(home, tmp_path):
    out = tmp_path / "tea.html"
    proc = qunyun("report", "--community", "tea", "--format", "html", "--output", str(out), home=home)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count('class="chart"') >= 6 and 'class="mark"' in html
    assert 'href="#def-messages"' in html and 'id="def-messages"' in html  # figures link to their definitions
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from outside


@pytest.mark.slow
def test_report_pdf(home, tmp_path):
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): PDF reports need it")
    out = tmp_path / "tea.pdf"
    proc = qunyun("report", "--community", "tea", "--format", "pdf", "--output", str(out), home=home, timeout=180)
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    assert not (tmp_path / "tea.pdf.part").exists()


def test_report_errors_are_one_line(home, tmp_path):
    assert_one_line_error(qunyun("report", "--community", "nope", home=home), "no community 'nope'")
    assert_one_line_error(qunyun("report", "--community", "tea", "--from", "2026-13-01", home=home), "not a date")
    assert_one_line_error(qunyun("report", "--community", "tea", "--group", "Coffee", home=home),
                          "no group 'Coffee'", "Tea room")
    assert_one_line_error(qunyun("report", "--community", "tea", "--format", "pdf", home=home), "--output")
    assert_one_line_error(qunyun("report", "--community", "tea", "--output", str(tmp_path / "no" / "x.json"),
                                 home=home), "cannot write")


def test_analytics_rebuild_keeps_the_figures(home):
    before = json.loads(qunyun("report", "--community", "tea", home=home).stdout)
    proc = qunyun("analytics", "rebuild", "--community", "tea", home=home)
    assert proc.returncode == 0 and "rollups of tea rebuilt" in proc.stdout, proc.stderr
    after = json.loads(qunyun("report", "--community", "tea", home=home).stdout)
    before.pop("generated_at"), after.pop("generated_at")
    assert after == before
    assert_one_line_error(qunyun("analytics", "rebuild", "--community", "nope", home=home), "no community 'nope'")

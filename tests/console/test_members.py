"""The member table: search, filters, sort, pagination and CSV export, on a known community.

The community is built in conftest.py through the bus; its docstring lists every figure used here.
"""

from __future__ import annotations

import csv
import io

import pytest

from qunyun.bus.runtime import Runtime
from qunyun.operators.models import AuditEntry
from tests.console.conftest import TEA, t
from tests.factories import message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    return client


def names(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return [row.name for row in response.context["rows"]]


def test_default_is_current_members_most_recently_active_first(tea, operator):
    response = operator.get("/c/tea/members/")
    assert [r.name for r in response.context["rows"]] == ["Ann", "Bob", "Cheng 程", "Dora"]
    assert response.context["total"] == 4
    assert "4 members" in response.content.decode()
    ann = response.context["rows"][0]
    assert (ann.messages, str(ann.last_active), ann.groups, ann.accounts) == (5, "2026-03-19", ["Matcha Club", "Tea Room"],
                                                                             ["fake:u1"])


@pytest.mark.parametrize("sort, expected", [
    ("name", ["Ann", "Bob", "Cheng 程", "Dora"]),
    ("-name", ["Dora", "Cheng 程", "Bob", "Ann"]),
    ("-messages", ["Ann", "Bob", "Cheng 程", "Dora"]),
    ("messages", ["Dora", "Cheng 程", "Bob", "Ann"]),
    ("first_seen", ["Ann", "Bob", "Cheng 程", "Dora"]),
    ("-first_seen", ["Dora", "Cheng 程", "Bob", "Ann"]),
    ("last_active", ["Cheng 程", "Bob", "Ann", "Dora"]),  # never active: last either way
    ("-last_active", ["Ann", "Bob", "Cheng 程", "Dora"]),
    ("nonsense", ["Ann", "Bob", "Cheng 程", "Dora"]),  # unknown sort: the default
])
def test_sorting(tea, operator, sort, expected):
    assert names(operator, f"/c/tea/members/?sort={sort}") == expected


def test_messages_count_only_the_last_30_days(tea, operator):
    # Cheng wrote 2 messages on 02-01 (outside 02-19…03-20) and 1 on 03-10; Eve (left) wrote 2.
    rows = operator.get("/c/tea/members/?status=all&sort=-messages").context["rows"]
    assert [(r.name, r.messages) for r in rows] == [("Ann", 5), ("Bob", 3), ("Eve", 2), ("Cheng 程", 1), ("Dora", 0)]


@pytest.mark.parametrize("query, expected", [
    ("bob", ["Bob"]),
    ("BOB", ["Bob"]),
    ("Bobby", ["Bob"]),  # an earlier name
    ("fake:u3", ["Cheng 程"]),  # an account id
    ("程", ["Cheng 程"]),
    ("nobody", []),
])
def test_search_by_name_earlier_name_and_account(tea, operator, query, expected):
    assert names(operator, f"/c/tea/members/?q={query}") == expected


def test_filters_by_group_and_by_status(tea, operator, ids):
    matcha = tea.groups.get(name="Matcha Club").pk
    assert names(operator, f"/c/tea/members/?group={matcha}&sort=name") == ["Ann", "Cheng 程"]
    assert names(operator, "/c/tea/members/?status=former") == ["Eve"]
    assert names(operator, "/c/tea/members/?status=bots") == ["Spam bot"]
    assert names(operator, "/c/tea/members/?status=all&sort=name") == ["Ann", "Bob", "Cheng 程", "Dora", "Eve"]
    assert names(operator, "/c/tea/members/?group=999999&sort=name") == ["Ann", "Bob", "Cheng 程", "Dora"]


def test_pages_are_cut_in_the_database_and_clamped(tea, operator):
    url = "/c/tea/members/?status=all&sort=name&per_page=2"
    assert names(operator, url) == ["Ann", "Bob"]
    assert names(operator, url + "&page=2") == ["Cheng 程", "Dora"]
    assert names(operator, url + "&page=3") == ["Eve"]
    assert names(operator, url + "&page=99") == ["Eve"]
    assert names(operator, url + "&page=zero") == ["Ann", "Bob"]
    page = operator.get(url + "&page=2")
    assert page.context["page"].num_pages == 3
    html = page.content.decode()
    assert "showing 3–4" in html
    assert 'href="?status=all&amp;sort=name&amp;per_page=2&amp;page=3"' in html  # next page keeps the filters


def test_sort_links_keep_the_filters_and_restart_at_page_one(tea, operator):
    html = operator.get("/c/tea/members/?q=a&status=all&page=1&sort=name").content.decode()
    assert 'href="?q=a&amp;status=all&amp;sort=-name"' in html  # name is sorted ascending: next click flips it
    assert 'href="?q=a&amp;status=all&amp;sort=-messages"' in html


def read_csv(response) -> tuple[str, list[list[str]]]:
    raw = b"".join(response.streaming_content)
    text = raw.decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_export_has_a_bom_every_matching_row_and_is_audited(tea, operator):
    response = operator.get("/c/tea/members/?status=all&sort=name&per_page=2&page=2&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tea-members.csv"'
    text, rows = read_csv(response)
    assert text.startswith("\ufeff")  # Excel opens UTF-8 (Chinese) correctly with the BOM
    assert rows[0] == ["Member id", "Name", "Bot", "Accounts", "Groups now", "Channel", "First seen",
                       "Messages (30 days)", "Last active"]
    # All matches, not one page; in the table's order; times in the community's zone.
    assert [r[1] for r in rows[1:]] == ["Ann", "Bob", "Cheng 程", "Dora", "Eve"]
    ann = rows[1]
    assert ann[3:] == ["fake:u1", "Matcha Club; Tea Room", "Poster QR", "2026-02-01 10:00:00", "5", "2026-03-19"]
    assert rows[4][3:] == ["fake:u4", "Tea Room", "", "2026-03-15 10:00:00", "0", ""]
    entry = AuditEntry.objects.get(action="members.export")
    assert (entry.community, entry.username, entry.detail["rows"]) == (tea, "root", 5)


def test_csv_cells_that_look_like_formulas_are_defused(tea, operator):
    Runtime(tea, mode="import").ingest([message("x1", 77, t(3, 19), chat=TEA, name="=HYPERLINK(\"x\")")])
    _text, rows = read_csv(operator.get("/c/tea/members/?q=HYPERLINK&format=csv"))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"


def test_csv_export_in_chinese_has_chinese_headers(tea, operator):
    operator.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    _text, rows = read_csv(operator.get("/c/tea/members/?format=csv"))
    assert rows[0][:2] == ["成员 ID", "昵称"]


def test_a_group_page_lists_its_members_and_exports_them(tea, operator):
    matcha = tea.groups.get(name="Matcha Club")
    response = operator.get(f"/c/tea/groups/{matcha.pk}/?sort=name")
    assert response.status_code == 200
    assert [r.name for r in response.context["rows"]] == ["Ann", "Cheng 程"]
    html = response.content.decode()
    assert "Matcha Club" in html and "fake:matcha" in html and "≤ 50" in html
    _text, rows = read_csv(operator.get(f"/c/tea/groups/{matcha.pk}/?format=csv&sort=name"))
    assert [r[1] for r in rows[1:]] == ["Ann", "Cheng 程"]
    other_group = operator.get("/c/tea/groups/999999/")
    assert other_group.status_code == 404

"""``qunyun access``: granting operators a community from the command line."""

from __future__ import annotations

import pytest

from qunyun.cli.main import main
from qunyun.operators.models import AuditEntry, OperatorAccess

pytestmark = pytest.mark.django_db(transaction=True)


def test_grant_list_revoke(community, django_user_model, capsys):
    django_user_model.objects.create_user("lin", password="lin-password-1")
    assert main(["access", "grant", "lin", "tea", "--role", "moderator"]) == 0
    assert "lin is now moderator of tea" in capsys.readouterr().out
    assert OperatorAccess.objects.get().role == "moderator"
    assert main(["access", "grant", "lin", "tea", "--role", "admin"]) == 0  # a new role replaces the old
    assert main(["access", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "tea\tlin\tadmin"
    assert main(["access", "revoke", "lin", "tea"]) == 0
    assert OperatorAccess.objects.count() == 0
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("pk")) == [
        "access.grant", "access.grant", "access.revoke"]


def test_mistakes_are_one_clear_line(community, django_user_model, capsys):
    assert main(["access", "grant", "ghost", "tea"]) == 2
    assert capsys.readouterr().err.strip() == (
        "qunyun: error: no operator 'ghost' (create one with: qunyun operator create ghost)")
    django_user_model.objects.create_user("lin", password="lin-password-1")
    assert main(["access", "grant", "lin", "nowhere"]) == 2
    assert "no community 'nowhere' (known: tea)" in capsys.readouterr().err
    assert main(["access", "revoke", "lin", "tea"]) == 1
    assert capsys.readouterr().err.strip() == "qunyun: error: lin had no access to tea"

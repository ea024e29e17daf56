"""``qunyun moderation scan --community`` judges with that community's stored policy."""

from __future__ import annotations

import json

import pytest

from qunyun.cli.main import main
from qunyun.moderation.policy import Policy, default_policy
from qunyun.moderation.services import policy_save

pytestmark = pytest.mark.django_db(transaction=True)

AD = "加我微信 abc12345678 领取免费资料，名额有限"


def scan(tmp_path, *extra):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"id": "m1", "text": AD}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["moderation", "scan", "--input", str(source), "--output", str(out), *extra]) == 0
    return json.loads(out.read_text(encoding="utf-8").splitlines()[0])


def test_the_communitys_own_policy_is_used(tmp_path, community):
    assert scan(tmp_path)["verdict"] == "block"
    relaxed = default_policy().to_dict()
    relaxed["rules"]["spam"]["enabled"] = False  # this community allows contact sharing
    policy_save(community=community, policy=Policy.from_dict(relaxed))
    assert scan(tmp_path, "--community", community.slug)["verdict"] != "block"


def test_an_unknown_community_is_one_clear_line(tmp_path, community, capsys):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "text": "hi"}\n')
    code = main(["moderation", "scan", "--input", str(source), "--output", str(tmp_path / "o"), "--community", "nope"])
    assert code == 2 and "no community 'nope'" in capsys.readouterr().err

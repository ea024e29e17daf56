"""``qunyun moderation scan / train / eval`` end to end on temporary files."""

import json

from qunyun.cli.main import main

ADS = ["低价出售金币加我微信abc12345", "兼职日结，有意者私聊", "出元宝要的滴滴", "免费领取资料加群123456789", "代开发票联系我"]
OK = ["今天天气不错", "晚上一起打游戏吗", "这个问题我也遇到过", "谢谢分享", "明天见"]


def write_jsonl(path, rows, extra_lines=()):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        for line in extra_lines:
            fh.write(line + "\n")


def test_scan_writes_one_line_per_input_line_and_reports_bad_lines(tmp_path, capsys):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(
        inp,
        [
            {"id": "a", "text": "兼职刷单，日赚300+，有意者加V：abc123", "member": "m1", "group": "g", "at": "2026-11-21T08:00:00Z"},
            {"id": "b", "text": "今天天气不错"},
        ],
        extra_lines=["{broken", '{"id": "d"}', '{"id": "e", "text": "hi", "at": "yesterday"}'],
    )
    with open(inp, "ab") as fh:
        fh.write(b'{"id": "f", "text": "\xff\xfe"}\n')
    rc = main(["moderation", "scan", "--input", str(inp), "--output", str(out)])
    assert rc == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    assert rows[0]["verdict"] == "block" and rows[0]["categories"] == ["spam"]
    ev = rows[0]["evidence"][0]
    assert "兼职刷单，日赚300+，有意者加V：abc123"[ev["start"] : ev["end"]] == ev["text"]
    assert rows[1] == {"id": "b", "verdict": "allow", "categories": [], "score": 0.0, "evidence": []}
    assert [r["verdict"] for r in rows[2:]] == ["error"] * 4
    err = capsys.readouterr().err
    assert "in.jsonl:3: not valid JSON" in err
    assert "in.jsonl:4: field \"text\"" in err
    assert "in.jsonl:5: field \"at\"" in err
    assert "in.jsonl:6: not valid UTF-8" in err
    assert "Traceback" not in err


def test_train_then_eval(tmp_path, capsys):
    data = tmp_path / "labelled.jsonl"
    write_jsonl(data, [{"text": t, "label": "spam"} for t in ADS * 3] + [{"text": t, "label": "ok"} for t in OK * 3],
                extra_lines=['{"text": "x", "label": "nonsense"}'])
    model = tmp_path / "model.npz"
    assert main(["moderation", "train", "--input", str(data), "--out", str(model)]) == 0
    out = capsys.readouterr()
    assert "trained a community model on 30 messages" in out.out and "labelled.jsonl:31: label 'nonsense'" in out.err
    assert main(["moderation", "eval", "--input", str(data), "--model", str(model)]) == 0
    report = capsys.readouterr().out
    for word in ("precision", "recall", "f1", "false-positive"):
        assert word in report
    scan_in, scan_out = tmp_path / "s.jsonl", tmp_path / "o.jsonl"
    write_jsonl(scan_in, [{"id": 1, "text": "出元宝要的滴滴"}])
    assert main(["moderation", "scan", "--input", str(scan_in), "--output", str(scan_out), "--model", str(model)]) == 0


def test_user_errors_are_one_line(tmp_path, capsys):
    bad_model = tmp_path / "m.npz"
    bad_model.write_bytes(b"nope")
    inp = tmp_path / "in.jsonl"
    write_jsonl(inp, [{"id": 1, "text": "hi"}])
    rc = main(["moderation", "scan", "--input", str(inp), "--output", str(tmp_path / "o"), "--model", str(bad_model)])
    assert rc == 2
    assert "not a qunyun moderation model" in capsys.readouterr().err
    rc = main(["moderation", "scan", "--input", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "o")])
    assert rc == 2 and "cannot read" in capsys.readouterr().err
    lex = tmp_path / "spam.txt"
    lex.write_bytes(b"ok\n\xff\n")
    rc = main(["moderation", "scan", "--input", str(inp), "--output", str(tmp_path / "o"), "--lexicon", str(lex)])
    assert rc == 2 and "spam.txt:2: not valid UTF-8" in capsys.readouterr().err
    data = tmp_path / "one.jsonl"
    write_jsonl(data, [{"text": "a", "label": "ok"}])
    rc = main(["moderation", "train", "--input", str(data), "--out", str(tmp_path / "m2")])
    assert rc == 1 and "at least two labels" in capsys.readouterr().err


def test_scan_runs_behaviour_detectors_over_the_file_in_order(tmp_path):
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    ad = "低价出售游戏金币，需要的联系我"
    rows = [
        {"id": i, "text": ad if i % 2 == 0 else "早上好", "member": f"acct{i}", "group": "g1", "at": f"2026-11-21T08:0{i}:00Z"}
        for i in range(6)
    ]
    write_jsonl(inp, rows)
    assert main(["moderation", "scan", "--input", str(inp), "--output", str(out)]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert "spam.coordinated_ad" in got[4]["categories"]
    assert got[1]["verdict"] == "allow"


def test_scan_with_extra_lexicon_and_policy(tmp_path):
    lex = tmp_path / "superstition.txt"
    lex.write_text("看香\t0.9\n", encoding="utf-8")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": 1, "rules": {"superstition": {"action": "delete"}}}), encoding="utf-8")
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(inp, [{"id": 1, "text": "我会看 香，找我"}])
    assert main(["moderation", "scan", "--input", str(inp), "--output", str(out), "--lexicon", str(lex), "--policy", str(policy)]) == 0
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["verdict"] == "block" and row["categories"] == ["superstition"]
    assert row["evidence"][0]["text"] == "看 香"

"""The learned signal: training, versioned model files, clear errors."""

import json

import numpy as np
import pytest

from qunyun.moderation.detection.classifier import Model, ModelError, train

ADS = ["低价出售金币加我微信", "兼职日结私聊", "出元宝要的滴滴", "免费领取资料加群", "代开发票联系我"] * 4
OK = ["今天天气不错", "晚上一起打游戏吗", "这个问题我也遇到过", "谢谢分享", "明天见"] * 4


def test_train_save_load_predict(tmp_path):
    model = train(ADS + OK, ["spam"] * len(ADS) + ["ok"] * len(OK))
    path = tmp_path / "m.npz"
    model.save(path)
    again = Model.load(path)
    assert again.labels == ("ok", "spam")
    p = again.predict_proba(["低 價 出 售 金 幣", "谢谢大家"])
    assert p[0]["spam"] > p[1]["spam"]


def _rewrite_header(path, **changes):
    with np.load(path, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    header = json.loads(str(arrays["header"]))
    header.update(changes)
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_incompatible_versions_fail_clearly(tmp_path):
    model = train(ADS + OK, ["spam"] * len(ADS) + ["ok"] * len(OK))
    path = tmp_path / "m.npz"
    model.save(path)
    _rewrite_header(path, format_version=99)
    with pytest.raises(ModelError, match="format version 99 is not supported.*retrain"):
        Model.load(path)
    model.save(path)
    _rewrite_header(path, sklearn="0.1.0")
    with pytest.raises(ModelError, match="trained with scikit-learn 0.1.0"):
        Model.load(path)


def test_not_a_model(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"hello")
    with pytest.raises(ModelError, match="not a qunyun moderation model"):
        Model.load(bad)
    with pytest.raises(ModelError, match="not found"):
        Model.load(tmp_path / "missing.npz")


def test_training_needs_two_labels():
    with pytest.raises(ValueError, match="at least two"):
        train(["a", "b"], ["ok", "ok"])


def test_general_scope_model_only_corroborates(tmp_path):
    from qunyun.moderation.detection.verdict import Context, moderate

    general = train(ADS + OK, ["spam"] * len(ADS) + ["ok"] * len(OK), scope="general")
    path = tmp_path / "g.npz"
    general.save(path)
    general = Model.load(path)
    assert general.scope == "general"
    # the model is sure and the rules see only one weak sales word ("元宝", 0.2): a general
    # model alone never flags, a community model does
    assert general.predict_proba(["元宝"])[0]["spam"] > 0.9
    assert moderate("元宝", Context(model=general)).verdict == "allow"
    community = train(ADS + OK, ["spam"] * len(ADS) + ["ok"] * len(OK))
    assert community.scope == "community"
    assert moderate("元宝", Context(model=community)).verdict != "allow"
    with pytest.raises(ValueError, match="scope"):
        train(ADS + OK, ["spam"] * len(ADS) + ["ok"] * len(OK), scope="mine")


def test_fast_features_match_scikit_learn():
    from qunyun.moderation.detection.classifier import _features, _vectorizer

    vec = _vectorizer()
    for text in ["加微信abc123 免费", "hello  world\tfoo", "a", "", "需要的老板滴滴" * 30, "中文 English 混合 123 ①"]:
        x = vec.transform([text])
        idx, val = _features(text)
        assert dict(zip(idx.tolist(), val.tolist())) == pytest.approx({int(i): float(v) for i, v in zip(x.indices, x.data)})

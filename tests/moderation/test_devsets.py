"""Sanity checks on the shared development sets (skipped when /work/shared/data is absent).

The full figures come from ``bench/moderation/run.py``; these only guard against regressions
that would make ordinary chat noisy or miss plain ads.
"""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "moderation"
sys.path.insert(0, str(BENCH))

datasets = pytest.importorskip("datasets", reason="bench/moderation not found")
if not datasets.available():
    pytest.skip(f"development data not found at {datasets.DATA} (not shipped with qunyun)", allow_module_level=True)

from qunyun.moderation.detection.verdict import moderate  # noqa: E402


def test_ordinary_irc_chat_is_rarely_flagged():
    texts = datasets.ubuntu_irc(limit=5000)
    flagged = sum(moderate(t).verdict != "allow" for t in texts)
    assert flagged / len(texts) <= 0.005


def test_english_sms_spam_precision():
    rows = datasets.uci("test")
    tp = sum(1 for t, y in rows if y and moderate(t).verdict != "allow")
    fp = sum(1 for t, y in rows if not y and moderate(t).verdict != "allow")
    assert tp >= 100 and fp / max(tp + fp, 1) < 0.05

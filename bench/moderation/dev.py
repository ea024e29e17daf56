"""Development figures: the sets rules are tuned on, kept apart from the test sets of quality.py.

    .venv/bin/python bench/moderation/dev.py [-v]

Quality figures in docs/benchmarks.md come from :mod:`quality` (test splits). Rules and
weights are changed while watching THIS script only, whose sets do not overlap them:

* ads-zh-game-chat **train** file, and the **even half** of the validation file (sha1 of the
  text, ``datasets._half``; quality.py reports the odd half);
* spam-zh-sms-mudou **train** file (quality.py: the test file);
* an obfuscated set built from the two train files with other seeds;
* ordinary chat: comments-zh-game rows 40k–60k (quality.py counts rows 0–40k) and #ubuntu IRC
  lines of the train folder only (quality.py reads test and dev first).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import evasion  # noqa: E402
from quality import HEADER, _ordinary, score  # noqa: E402

from qunyun.moderation.detection.verdict import Context  # noqa: E402


def irc_train(limit: int = 20000) -> list[str]:
    out: list[str] = []
    for f in sorted((datasets.DATA / "chat-ubuntu-irc" / "train").glob("*.raw.txt")):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                m = datasets._IRC_RE.match(line.rstrip("\n"))
                if m:
                    out.append(m.group(1))
        if len(out) >= limit:
            break
    return out[:limit]


def run(verbose: bool = False) -> list[str]:
    ctx = Context()
    rng = random.Random(99)
    game = datasets.ads_zh_game("train")
    rng.shuffle(game)
    game = game[:8000]
    mudou = datasets.mudou("train")
    rng.shuffle(mudou)
    mudou = mudou[:3000]
    spam = [t for t, y in mudou if y][:800] + [t for t, y in game if y][:1500]
    ham = [t for t, y in mudou if not y][:500] + [t for t, y in game if not y][:1500]
    orng = random.Random(123)
    obf = [(evasion.obfuscate(t, orng), 1) for t in spam] + [(t, 0) for t in ham]
    comments = datasets.comments_zh(60000)[40000:]
    out = ["#### Dev splits (rules only; what the rules were tuned on)", "", *HEADER]
    val0 = [(t, y) for t, y in datasets.ads_zh_game("validation") if datasets._half(t) == 0]
    out.append(score("ads-zh-game-chat validation, dev half", val0, ctx, {"spam"}).line())
    out.append(score("ads-zh-game-chat train sample", game, ctx, {"spam"}).line())
    out.append(score("spam-zh-sms-mudou train sample", mudou, ctx, {"spam"}).line())
    out.append(score("obfuscated (train files, other seed)", obf, ctx, {"spam"}).line())
    out += _ordinary(ctx, [
        ("comments-zh-game normal rows 40k–60k", [t for t, y in comments if not y]),
        ("#ubuntu IRC train folder", irc_train()),
    ], verbose)
    return out


if __name__ == "__main__":
    if not datasets.available():
        print(f"skipped: {datasets.DATA} not found")
        sys.exit(0)
    print("\n".join(run(verbose="-v" in sys.argv)))

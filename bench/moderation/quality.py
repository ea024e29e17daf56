"""Quality figures for the moderation detectors on the development sets (fixed splits).

"Flagged" means a verdict other than ``allow`` (review or block) — the strict reading: a
message sent to the review queue already costs a moderator's time.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402
import evasion  # noqa: E402

from qunyun.moderation.detection.classifier import train  # noqa: E402
from qunyun.moderation.detection.verdict import ALLOW, Context, moderate  # noqa: E402


@dataclass
class Score:
    name: str
    n: int
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self):
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def fpr(self):
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    def line(self) -> str:
        return (
            f"| {self.name} | {self.n} | {self.precision:.3f} | {self.recall:.3f} | {self.f1:.3f} | {self.fpr:.4f} |"
        )


def score(name, rows, ctx, family=None) -> Score:
    tp = fp = fn = tn = 0
    for text, y in rows:
        v = moderate(text, ctx)
        hit = v.verdict != ALLOW and (family is None or any(c.split(".")[0] in family for c in v.categories))
        if y and hit:
            tp += 1
        elif y:
            fn += 1
        elif hit:
            fp += 1
        else:
            tn += 1
    return Score(name, len(rows), tp, fp, fn, tn)


def flagged_rate(name, texts, ctx):
    flagged = [t for t in texts if moderate(t, ctx).verdict != ALLOW]
    return name, len(texts), len(flagged), flagged


def game_test() -> list[tuple[str, int]]:
    """The test half of ads-zh-game-chat validation (sha1 odd). The even half is a dev split:
    rules were written looking at it (bench/moderation/dev.py), so it is not reported here."""
    return [(t, y) for t, y in datasets.ads_zh_game("validation") if datasets._half(t) == 1]


def obfuscated_set(seed=5, clean=False, only=None):
    """Held-out Chinese spam (mudou test + 1,500 game ads of the test half) with 2–3 evasion
    transforms each; negatives are the untouched normal rows of the same sets. ``clean=True``:
    no transforms, to show how much of the clean recall survives obfuscation. ``only``: ``"sms"``
    or ``"game"`` keeps the rows of one source (same transforms as in the combined set)."""
    rng = random.Random(seed)
    game = game_test()
    sms_spam = [t for t, y in datasets.mudou("test") if y]
    spam = sms_spam + [t for t, y in game if y][:1500]
    obf = [(t if clean else evasion.obfuscate(t, rng), 1) for t in spam]
    sms_ham = [(t, 0) for t, y in datasets.mudou("test") if not y]
    game_ham = [(t, 0) for t, y in game if not y][:1500]
    if only == "sms":
        return obf[: len(sms_spam)] + sms_ham
    if only == "game":
        return obf[len(sms_spam):] + game_ham
    return obf + sms_ham + game_ham


OWN = Path(__file__).resolve().parents[2] / "tests" / "moderation" / "data"


def _own(name: str) -> list[str]:
    lines = (OWN / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def own_sets() -> list[tuple[str, list[tuple[str, int]]]]:
    """Our hand-written chat-group ads and ordinary chat (tests/moderation/data), plain and
    with 2–3 evasion transforms per ad (five seeds, so 200 obfuscated variants)."""
    ads, ok = _own("chat_ads_zh.txt"), _own("chat_ordinary_zh.txt")
    obf = [(evasion.obfuscate(t, random.Random(seed * 1000 + i)), 1) for seed in range(5) for i, t in enumerate(ads)]
    en = [(t, 1) for t in _own("chat_ads_en.txt")] + [(t, 0) for t in _own("chat_ordinary_en.txt")]
    return [
        ("hand-written zh chat-group ads vs ordinary zh chat", [(t, 1) for t in ads] + [(t, 0) for t in ok]),
        ("  the same ads obfuscated (×5 seeds)", obf + [(t, 0) for t in ok]),
        ("hand-written en comment spam vs ordinary en chat", en),
    ]


HEADER = ["| set | messages | precision | recall | F1 | false-positive rate |", "|---|---|---|---|---|---|"]


def _ordinary(ctx, sets, verbose=False) -> list[str]:
    out = ["", "| ordinary chat (no spam labels) | messages | flagged | rate |", "|---|---|---|---|"]
    for name, texts in sets:
        name, n, k, flagged = flagged_rate(name, texts, ctx)
        out.append(f"| {name} | {n} | {k} | {k / max(n, 1):.2%} |")
        if verbose:
            for t in flagged[:15]:
                v = moderate(t, ctx)
                print("  FP", name[:10], v.verdict, v.categories, round(v.score, 2), repr(t[:80]))
    return out


def run(verbose: bool = False) -> list[str]:
    t0 = time.perf_counter()
    ctx = Context()
    game = game_test()
    comments = datasets.comments_zh(60000)
    ordinary = [
        ("chat-ubuntu-irc (English, 50k messages)", datasets.ubuntu_irc()),
        ("comments-zh-game normal, rows 0–40k (both labels agree)", [t for t, y in comments[:40000] if not y]),
        ("ads-zh-game-chat validation test half, normal rows (in-game trading talk)", [t for t, y in game if not y]),
        ("spam-en-sms-uci ham", [t for t, y in datasets.uci("test") + datasets.uci("train") if not y]),
        ("spam-zh-sms-mudou normal (bank and shop notifications)", [t for t, y in datasets.mudou("test") + datasets.mudou("train") if not y]),
    ]

    out = ["#### A. Rules only (no model, nothing trained)", "", *HEADER]
    for name, rows in own_sets():
        out.append(score(name, rows, ctx, {"spam"}).line())
    out.append(score("ads-zh-game-chat validation, test half (unseen group)", game, ctx, {"spam"}).line())
    out.append(score("spam-zh-sms-mudou test", datasets.mudou("test"), ctx, {"spam"}).line())
    out.append(score("obfuscated zh spam (mudou test + 1.5k game ads, 2–3 transforms each)", obfuscated_set(), ctx, {"spam"}).line())
    out.append(score("  the same messages without the transforms", obfuscated_set(clean=True), ctx, {"spam"}).line())
    out.append(score("  of which the SMS rows (mudou test)", obfuscated_set(only="sms"), ctx, {"spam"}).line())
    out.append(score("  of which the game-chat rows (1.5k ads of the test half)", obfuscated_set(only="game"), ctx, {"spam"}).line())
    out.append(score("spam-en-sms-uci test half", datasets.uci("test"), ctx, {"spam"}).line())
    out.append(score("comments-zh-game (LLM labels, 20k sample; spam = ads + abuse + off-topic)", datasets.comments_zh(), ctx).line())
    out.append(score("offensive-zh-cold dev (unfriendly/illegal/vulgar)", datasets.cold("dev"), ctx, {"unfriendly", "illegal", "vulgar"}).line())
    out += _ordinary(ctx, ordinary, verbose)

    # B. with half of the group's labelled history: train on one sha1-half, test on the other
    hist = [(t, y) for t, y in datasets.ads_zh_game("validation") if datasets._half(t) == 0]
    test = game
    model = train([t for t, _ in hist], ["spam" if y else "ok" for _, y in hist], scope="community")
    out += ["", "#### B. A community model trained on half of that group's labelled history", "", *HEADER]
    out.append(score(f"ads-zh-game-chat validation, other half, rules only ({len(test)})", test, ctx, {"spam"}).line())
    out.append(score(f"  + community model trained on the first half ({len(hist)} messages)", test, Context(model=model), {"spam"}).line())

    # C. a general-scope model (only corroborates the rules) trained on the dev training
    # splits: game train, mudou train, the UCI train half, comments rows 40k–60k.
    train_rows = datasets.ads_zh_game("train") + datasets.mudou("train") + datasets.uci("train") + comments[40000:]
    general = train([t for t, _ in train_rows], ["spam" if y else "ok" for _, y in train_rows], scope="general")
    ctx_g = Context(model=general)
    out += ["", f"#### C. Rules + a general-scope model trained on the dev training splits ({len(train_rows)} messages)", "", *HEADER]
    for name, rows in own_sets():
        out.append(score(name, rows, ctx_g, {"spam"}).line())
    out.append(score("ads-zh-game-chat validation, test half", game, ctx_g, {"spam"}).line())
    out.append(score("spam-zh-sms-mudou test", datasets.mudou("test"), ctx_g, {"spam"}).line())
    out.append(score("obfuscated zh spam", obfuscated_set(), ctx_g, {"spam"}).line())
    out.append(score("spam-en-sms-uci test half", datasets.uci("test"), ctx_g, {"spam"}).line())
    out += _ordinary(ctx_g, ordinary[:2])
    out.append("")
    out.append(f"(quality run took {time.perf_counter() - t0:.0f} s)")
    return out


if __name__ == "__main__":
    if not datasets.available():
        print(f"skipped: {datasets.DATA} not found (the development sets are not shipped with qunyun)")
        sys.exit(0)
    print("\n".join(run(verbose="-v" in sys.argv)))

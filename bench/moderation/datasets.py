"""Loaders for the development sets in /work/shared/data, with fixed, documented splits.

The data is NOT part of qunyun (licences vary; see each SOURCE.md); benchmarks read it in place
and skip when it is absent. Splits are deterministic: a message belongs to the test half when
the first byte of sha1(text) is odd (``_half``), so every run and every machine agree.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from pathlib import Path

DATA = Path(os.environ.get("QUNYUN_SHARED_DATA", "/work/shared/data"))


def available() -> bool:
    return DATA.is_dir()


def _half(text: str) -> int:
    return hashlib.sha1(text.encode("utf-8")).digest()[0] & 1


def _dedupe(rows):
    seen, out = set(), []
    for t, y in rows:
        if t and t not in seen:
            seen.add(t)
            out.append((t, y))
    return out


def ads_zh_game(split: str) -> list[tuple[str, int]]:
    """ads-zh-game-chat: ``train`` or ``validation`` (validation minus texts seen in train)."""
    def read(name):
        rows = []
        with open(DATA / "ads-zh-game-chat" / f"{name}.tsv", encoding="utf-8") as fh:
            next(fh)
            for line in fh:
                lab, _, text = line.rstrip("\n").partition("\t")
                if lab in ("0", "1") and text:
                    rows.append((text, int(lab)))
        return _dedupe(rows)

    if split == "train":
        return read("train")
    train_texts = {t for t, _ in read("train")}
    return [(t, y) for t, y in read("validation") if t not in train_texts]


def mudou(split: str) -> list[tuple[str, int]]:
    name = "mudou_spam.train.tsv" if split == "train" else "mudou_spam.test.tsv"
    rows = []
    with open(DATA / "spam-zh-sms-mudou" / name, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[0] in ("0", "1") and parts[1].strip():
                rows.append((parts[1], int(parts[0])))
    return _dedupe(rows)


def uci(split: str) -> list[tuple[str, int]]:
    """spam-en-sms-uci, deduplicated; ``test`` = odd sha1 half, ``train`` = the other half."""
    rows = []
    with open(DATA / "spam-en-sms-uci" / "SMSSpamCollection.tsv", encoding="utf-8") as fh:
        for line in fh:
            lab, _, text = line.rstrip("\n").partition("\t")
            rows.append((text, 1 if lab == "spam" else 0))
    rows = _dedupe(rows)
    want = 1 if split == "test" else 0
    return [(t, y) for t, y in rows if _half(t) == want]


def cold(split: str = "dev") -> list[tuple[str, int]]:
    rows = []
    with open(DATA / "offensive-zh-cold" / f"{split}.csv", encoding="utf-8-sig", newline="") as fh:
        for rec in csv.DictReader(fh):
            rows.append((rec["TEXT"], int(rec["label"])))
    return _dedupe(rows)


def comments_zh(limit: int = 20000, seed: int = 7) -> list[tuple[str, int]]:
    """A fixed random sample of the game-community comments with LLM labels (spam=1)."""
    rows = []
    with open(DATA / "comments-zh-game-community" / "llm_relabel_yaokui2018.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4 and parts[3] and parts[1] in ("normal", "spam") and parts[0] == parts[1]:
                rows.append((parts[3], 1 if parts[1] == "spam" else 0))
    rows = _dedupe(rows)
    random.Random(seed).shuffle(rows)
    return rows[:limit]


_IRC_RE = re.compile(r"^\[\d\d:\d\d\] <[^>]+> (.+)$")


def ubuntu_irc(limit: int = 50000) -> list[str]:
    """Ordinary English chat: user messages of the #ubuntu test and dev samples."""
    out: list[str] = []
    for sub in ("test", "dev", "train"):
        for f in sorted((DATA / "chat-ubuntu-irc" / sub).glob("*.raw.txt")):
            with open(f, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    m = _IRC_RE.match(line.rstrip("\n"))
                    if m:
                        out.append(m.group(1))
                        if len(out) >= limit:
                            return out
    return out


def lexicon_terms(limit: int | None = None) -> list[str]:
    """The public lexicons (union, deduplicated, ``|`` variants split), for speed tests only."""
    seen: dict[str, None] = {}
    root = DATA / "lexicons-zh"
    for f in sorted(root.rglob("*.txt")):
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                for term in line.strip().split("|"):
                    term = term.strip()
                    if term and len(term) <= 40:
                        seen.setdefault(term, None)
    terms = list(seen)
    return terms[:limit] if limit else terms

"""Word lists per category, matched with Aho-Corasick over the normalized (compact) text.

A lexicon file is UTF-8 text named after its category id (``spam.txt``,
``unfriendly.abuse.txt``). One term per line, optionally ``term<TAB>weight`` (0 < weight ≤ 1,
default :data:`DEFAULT_WEIGHT`); ``#`` starts a comment line. Terms are normalized exactly like
messages, so ``加微信`` in a list also matches ``加 微 信`` and ``加薇信`` is its own term.
Terms made only of Latin letters and digits match whole words only (``ass`` does not fire on
``class``). A file that is not UTF-8, or a line that cannot be read, raises
:class:`LexiconError` naming the file and the line.

Loading 100,000 terms takes about a second (normalizing each term dominates).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import ahocorasick

from .. import taxonomy
from .findings import Finding
from .normalize import Normalized, compact, fold

__all__ = ["Lexicon", "LexiconError", "LexiconTerm", "starter_lexicon", "STARTER_DIR", "read_lexicon_file"]

DEFAULT_WEIGHT = 0.5
STARTER_DIR = Path(__file__).resolve().parent.parent / "lexicons"
"""Our own small starter lists (package data), one file per category."""

_LATIN_RE = re.compile(r"[a-z0-9 ]+")


class LexiconError(ValueError):
    """A lexicon file could not be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LexiconTerm:
    """One term as written in its file, with its category and weight."""

    term: str
    category: str
    weight: float = DEFAULT_WEIGHT
    source: str = ""


def read_lexicon_file(path: str | os.PathLike[str], *, category: str | None = None) -> list[LexiconTerm]:
    """Read one lexicon file. The category is the file's stem unless given."""
    path = Path(path)
    cat = category or path.name.removesuffix(".txt")
    if cat not in taxonomy.CATEGORIES:
        raise LexiconError(f"{path}: file name does not name a moderation category ({cat!r})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LexiconError(f"{path}:{line}: not valid UTF-8 (byte {exc.start})") from None
    out: list[LexiconTerm] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        term, sep, rest = line.partition("\t")
        term = term.strip()
        weight = DEFAULT_WEIGHT
        if sep:
            try:
                weight = float(rest.strip())
            except ValueError:
                raise LexiconError(f"{path}:{lineno}: weight {rest.strip()!r} is not a number") from None
            if not 0.0 < weight <= 1.0:
                raise LexiconError(f"{path}:{lineno}: weight {weight} is outside (0, 1]")
        if any(ord(c) < 32 for c in term) or "\ufffd" in term:
            raise LexiconError(f"{path}:{lineno}: term contains control or replacement characters")
        if not compact(fold(term)).strip():
            raise LexiconError(f"{path}:{lineno}: term {term!r} is empty after normalization")
        out.append(LexiconTerm(term, cat, weight, f"{path.name}:{lineno}"))
    return out


class Lexicon:
    """An Aho-Corasick automaton over normalized terms, reporting findings per category."""

    def __init__(self, terms: Iterable[LexiconTerm] = ()) -> None:
        self._auto = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
        self._count = 0
        for t in terms:
            self.add(t)
        self._built = False

    def add(self, term: LexiconTerm) -> None:
        """Add one term (normalized like messages). Call :meth:`build` after the last one."""
        key = compact(fold(term.term)).strip()
        if not key:
            return
        existing = self._auto.get(key, None)
        entry = (term.category, term.weight, "lexicon:" + term.category)
        if existing is None:
            # Stored with the key: its length, whether it must match whole words (Latin), and
            # whether it starts / ends with a digit (for the boundary test in scan).
            whole_word = bool(_LATIN_RE.fullmatch(key))
            self._auto.add_word(key, (key, len(key), whole_word, key[0].isdigit(), key[-1].isdigit(), [entry]))
            self._count += 1
        else:
            existing[5].append(entry)
        self._built = False

    def build(self) -> "Lexicon":
        if self._count:
            self._auto.make_automaton()
        self._built = True
        return self

    def __len__(self) -> int:
        return self._count

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]]) -> "Lexicon":
        """Load files and directories (every ``*.txt`` inside, sorted) into one lexicon."""
        lex = cls()
        for p in paths:
            p = Path(p)
            files = sorted(p.glob("*.txt")) if p.is_dir() else [p]
            for f in files:
                for t in read_lexicon_file(f):
                    lex.add(t)
        return lex.build()

    def count_matches(self, text: str) -> int:
        """Number of raw term hits in an already normalized text (for benchmarks)."""
        if not self._count or not text:
            return 0
        if not self._built:
            self.build()
        return sum(1 for _ in self._auto.iter(text))

    def scan(self, norm: Normalized) -> list[Finding]:
        """One finding per category whose terms occur in ``norm.compact``.

        The category's score combines its distinct terms with noisy-OR; ``reason`` lists the
        terms; evidence (one span per term) is mapped to original offsets on demand.
        """
        text = norm.compact
        if not self._count or not text:
            return []
        if not self._built:
            self.build()
        hits: dict[str, list] = {}
        n = len(text)
        for end_index, (key, klen, whole_word, first_digit, last_digit, entries) in self._auto.iter(text):
            end = end_index + 1
            start = end - klen
            if whole_word:
                # A Latin term inside a longer Latin word is not a hit; a digit next to a
                # letter is a boundary (the compact view glues "$19.99, buy" into "1999buy").
                if start > 0:
                    ch = text[start - 1]
                    if ch.isascii() and ch.isalnum() and ch.isdigit() == first_digit:
                        continue
                if end < n:
                    ch = text[end]
                    if ch.isascii() and ch.isalnum() and ch.isdigit() == last_digit:
                        continue
            for category, weight, note in entries:
                h = hits.get(category)
                if h is None:
                    hits[category] = [1.0 - weight, [(start, end, note)], [key]]
                elif key not in h[2]:
                    h[0] *= 1.0 - weight
                    h[1].append((start, end, note))
                    h[2].append(key)
        return [
            Finding(cat, 1.0 - left, "lexicon", ", ".join(keys), pending=(norm, tuple(spans)))
            for cat, (left, spans, keys) in hits.items()
        ]


_STARTER: Lexicon | None = None


def starter_lexicon() -> Lexicon:
    """Our shipped starter lists (loaded once per process)."""
    global _STARTER
    if _STARTER is None:
        _STARTER = Lexicon.load([STARTER_DIR])
    return _STARTER

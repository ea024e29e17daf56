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

import ahocorasick_rs

from .. import taxonomy
from .findings import Finding
from .normalize import Normalized, compact, fold

__all__ = ["Lexicon", "LexiconError", "LexiconTerm", "starter_lexicon", "STARTER_DIR", "read_lexicon_file"]

DEFAULT_WEIGHT = 0.5
STARTER_DIR = Path(__file__).resolve().parent.parent / "lexicons"
"""Our own small starter lists (package data), one file per category."""

_LATIN_RE = re.compile(r"[a-z0-9 ]+")
_DIGIT_SET = frozenset("0123456789")
_LETTER_SET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


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
    """An Aho-Corasick automaton over normalized terms, reporting findings per category.

    The automaton is ``ahocorasick_rs`` (Rust): one call per message returns every
    (overlapping) match as ``(term index, start, end)`` in character offsets, with no Python
    work per character and none per match until :meth:`scan` looks at it.
    """

    def __init__(self, terms: Iterable[LexiconTerm] = ()) -> None:
        self._index: dict[str, int] = {}
        self._keys: list[str] = []
        # Per term: for a Latin term (whole words only), the characters that may not come
        # right before / after it (None for other terms), and its (category, weight, note)
        # entries.
        self._info: list[tuple[frozenset[str] | None, frozenset[str] | None, list[tuple[str, float, str]]]] = []
        self._ac: ahocorasick_rs.AhoCorasick | None = None
        for t in terms:
            self.add(t)

    def add(self, term: LexiconTerm) -> None:
        """Add one term (normalized like messages). Call :meth:`build` after the last one."""
        key = compact(fold(term.term)).strip()
        if not key:
            return
        entry = (term.category, term.weight, "lexicon:" + term.category)
        i = self._index.get(key)
        if i is None:
            self._index[key] = len(self._keys)
            self._keys.append(key)
            if _LATIN_RE.fullmatch(key):
                # The characters that may not touch the term on each side (see scan).
                before = _DIGIT_SET if key[0].isdigit() else _LETTER_SET
                after = _DIGIT_SET if key[-1].isdigit() else _LETTER_SET
                self._info.append((before, after, [entry]))
            else:
                self._info.append((None, None, [entry]))
        else:
            self._info[i][2].append(entry)
        self._ac = None

    def build(self) -> "Lexicon":
        """Build the automaton (done on first use if not called)."""
        if self._keys and self._ac is None:
            self._ac = ahocorasick_rs.AhoCorasick(self._keys, matchkind=ahocorasick_rs.MatchKind.Standard)
        return self

    def __len__(self) -> int:
        return len(self._keys)

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

    def _matches(self, text: str) -> list[tuple[int, int, int]]:
        if not self._keys or not text:
            return []
        ac = self._ac if self._ac is not None else self.build()._ac
        return ac.find_matches_as_indexes(text, overlapping=True)  # type: ignore[union-attr]

    def count_matches(self, text: str) -> int:
        """Number of raw term hits in an already normalized text (for benchmarks)."""
        return len(self._matches(text))

    def scan(self, norm: Normalized) -> list[Finding]:
        """One finding per category whose terms occur in ``norm.compact``.

        The category's score combines its distinct terms with noisy-OR; ``reason`` lists the
        terms; evidence (one span per term) is mapped to original offsets on demand.
        """
        text = norm.compact
        matches = self._matches(text)
        if not matches:
            return []
        info, keys = self._info, self._keys
        hits: dict[str, list] = {}
        n = len(text)
        for idx, start, end in matches:
            before, after, entries = info[idx]
            if before is not None:
                # A Latin term inside a longer Latin word is not a hit; a digit next to a
                # letter is a boundary (the compact view glues "$19.99, buy" into "1999buy").
                if start and text[start - 1] in before:
                    continue
                if end < n and text[end] in after:
                    continue
            key = keys[idx]
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

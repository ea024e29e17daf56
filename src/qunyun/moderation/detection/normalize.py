"""Normalization that undoes the usual evasion tricks, with a map back to the original text.

Steps (each one defeats a trick seen in Chinese chat-group spam):

1. per-character folding through ONE translation table built at import (so steps 1 and 2 are a
   single ``str.translate`` pass): compatibility forms
   (NFKD with combining marks dropped, then NFKC: full-width ``ＡＢＣ１２３``, circled ``①②``,
   parenthesised ``⑴``, math letters ``𝐯𝐱``, superscripts), case folding, look-alike letters
   and digits from Unicode's confusables data (package ``confusable-homoglyphs``: Cyrillic
   ``а`` → ``a``), dingbat digits (``➊``), and removal of zero-width, bidi, variation-selector
   and invisible filler characters;
2. traditional → simplified Chinese: OpenCC's ``t2s`` conversion of every CJK character,
   taken once at import into the same table. Character by character rather than phrase by
   phrase: on 130,000 chat messages (30,000 of them converted to traditional) the two differ
   on 24, all harmless (瞭解/了解, 乾坤/干坤), and a second pass through OpenCC per message
   would cost more than the whole table lookup;
3. the *compact* view: separators (spaces, punctuation, symbols, emoji) between characters are
   removed (``加 微 信``, ``加.微.信``, ``加-V-信`` → ``加v信``); only a space between two Latin
   words of two or more letters survives, so English keeps its word boundaries.

Offsets: :class:`Normalized` keeps the original text; :meth:`Normalized.original_span` maps a
span of ``compact`` (or of ``folded`` with :meth:`Normalized.original_span_folded`) back to
offsets in what the member wrote. The map is built lazily, only when a detector reports
evidence: most messages are clean and never pay for it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field

import opencc

__all__ = ["Normalized", "normalize", "fold", "obfuscation_signals", "has_suspect_chars"]

# --- the translation table --------------------------------------------------------------

# Ranges whose characters may need folding. Scanning all of Unicode at import costs ~1 s;
# these ranges hold every compatibility form and look-alike spammers use in practice.
_RANGES = (
    (0x00A0, 0x33FF),  # Latin-1 … CJK compatibility (full-width punctuation, enclosed CJK)
    (0xA640, 0xA69F),  # Cyrillic extended-B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFB00, 0xFB4F),  # ligatures
    (0xFE00, 0xFFEF),  # variation selectors, small forms, half-/full-width forms
    (0x1D400, 0x1D7FF),  # mathematical alphanumeric symbols
    (0x1F100, 0x1F1FF),  # enclosed alphanumeric supplement
)

# Invisible characters used to split words without showing anything.
_INVISIBLE = (
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2070))
    + list(range(0xFE00, 0xFE10))
    + list(range(0xE0000, 0xE0080))
    + list(range(0xE0100, 0xE01F0))
)

# Dingbat and negative circled digits have no compatibility decomposition.
_EXTRA = {
    **{0x2776 + i: str(i + 1) for i in range(9)},
    0x277F: "10",
    **{0x2780 + i: str(i + 1) for i in range(9)},
    0x2789: "10",
    **{0x278A + i: str(i + 1) for i in range(9)},
    0x2793: "10",
    **{0x24EB + i: str(i + 11) for i in range(10)},
    0x24FF: "0",
    **{0x24F5 + i: str(i + 1) for i in range(10)},
    **{0x1F150 + i: chr(ord("a") + i) for i in range(26)},  # negative circled letters
    **{0x1F170 + i: chr(ord("a") + i) for i in range(26)},  # negative squared letters
    0x2795: "加",  # ➕ is how Chinese chat spells 加 ("➕我", "➕v") once 加 is filtered
    0x3007: "0",  # 〇 is zero in Chinese numbers (confusables would say "o")
}

_HANGUL = range(0xAC00, 0xD7A4)


def _confusable_map() -> dict[str, str]:
    """Non-ASCII characters that look like an ASCII letter or digit, from confusables data."""
    import confusable_homoglyphs

    path = os.path.join(os.path.dirname(confusable_homoglyphs.__file__), "confusables.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    out: dict[str, str] = {}
    for char, glyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        for g in glyphs:
            target = g["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                out[char] = target.lower()
                break
    return out


def _fold_char(ch: str, confusables: dict[str, str]) -> str:
    if ord(ch) in _HANGUL:
        return ch
    s = unicodedata.normalize("NFKD", ch)
    s = "".join(c for c in s if not unicodedata.combining(c) and unicodedata.category(c) != "Me")
    s = unicodedata.normalize("NFKC", s)
    # Look-alike lookup before case folding: Cyrillic "Н" looks like "H", its lower case not.
    return "".join(confusables.get(c) or confusables.get(c.casefold()) or c.casefold() for c in s)


# CJK blocks whose traditional characters are folded to simplified ones.
_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))


def _t2s_map() -> dict[int, str]:
    """Traditional → simplified per character, from OpenCC's ``t2s`` (one call, ~0.1 s)."""
    cps = [cp for lo, hi in _CJK_RANGES for cp in range(lo, hi + 1)]
    # One character per line, so OpenCC's phrase rules never join neighbours.
    converted = opencc.OpenCC("t2s").convert("\n".join(map(chr, cps))).split("\n")
    if len(converted) != len(cps):  # pragma: no cover - a changed OpenCC: fall back per char
        conv = opencc.OpenCC("t2s")
        converted = [conv.convert(chr(cp)) for cp in cps]
    return {cp: out for cp, out in zip(cps, converted) if out != chr(cp) and len(out) == 1}


def _build_table() -> dict[int, str]:
    confusables = _confusable_map()
    table: dict[int, str] = {}
    codepoints = set(ord(c) for c in confusables)
    for lo, hi in _RANGES:
        codepoints.update(range(lo, hi + 1))
    for cp in sorted(codepoints):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me", "Cf"):  # stray combining marks (Zalgo) and format characters
            table[cp] = ""
            continue
        folded = _fold_char(ch, confusables)
        if folded != ch:
            table[cp] = folded
    for cp in _INVISIBLE:
        table[cp] = ""
    for cp, s in _EXTRA.items():
        table[cp] = s
    for cp in range(0xD800, 0xE000):  # lone surrogates (broken input) are dropped
        table[cp] = ""
    # ASCII upper case (casefold) is the commonest change; keep it in the same table.
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = chr(cp).lower()
    return table


TABLE: dict[int, str] = _build_table()
"""Per-character folding: code point → replacement (``""`` removes the character)."""

# Deletion tables: ``len(text) - len(text.translate(t))`` counts characters of a kind at C
# speed (a regex over a 10,000-character class is ten times slower).
_FULLWIDTH_DEL = {cp: None for cp in range(0xFF01, 0xFF5F) if TABLE.get(cp, "").isalnum()}
_DECOR_DEL = {
    cp: None
    for cp, rep in TABLE.items()
    if cp > 0x7F and rep.isalnum() and cp not in _FULLWIDTH_DEL and not 0x4E00 <= cp <= 0x9FFF
    and cp != 0x2795  # ➕ for 加 is how people write, not decoration ("➕我" is not hiding anything)
}
_INVISIBLE_DEL = {cp: None for cp in _INVISIBLE}
_SUSPECT_DEL = {**_FULLWIDTH_DEL, **_DECOR_DEL, **_INVISIBLE_DEL}

# Characters whose folding is not exactly one character (removed or expanded): when a text has
# none, the folded text lines up with the original one to one and no offset map is needed.
_NONUNIT_DEL = {cp: None for cp, rep in TABLE.items() if len(rep) != 1}
# Traditional → simplified joins the table last: those characters are not decoration.
for _cp, _simplified in _t2s_map().items():
    TABLE.setdefault(_cp, _simplified)  # (compatibility ideographs already fold by NFKC)
del _cp, _simplified

# Separator = anything that is not a letter, digit or CJK character (so also emoji and ★).
_SEP = r"[\W_]"
# Remove a separator run unless it sits between two Latin words of 2+ letters each.
# Possessive ``++`` stops the engine from splitting one run into a kept and a removed part.
_REMOVE_RE = re.compile(
    rf"(?<!{_SEP})(?:(?<![a-z]{{2}}){_SEP}++|{_SEP}++(?![a-z]{{2}}))"
)
_COLLAPSE_RE = re.compile(rf"{_SEP}+")
_LATIN_PAIR_RE = re.compile(r"[a-z]{2}")
_DIGIT_RE = re.compile(r"\d")


def fold(text: str) -> str:
    """The folded view only (steps 1 and 2): for lexicon terms and quick checks."""
    return text.translate(TABLE)


def compact(folded: str) -> str:
    """Step 3 on an already folded string."""
    kept = _REMOVE_RE.sub("", folded)
    return kept if kept.isalnum() else _COLLAPSE_RE.sub(" ", kept)


@dataclass(slots=True)
class Normalized:
    """A message in its three forms, with lazy maps back to the original.

    ``folded``: folding + traditional→simplified, separators kept (for links, e-mail and
    English phrases). ``compact``: ``folded`` without the separators between characters (for
    contact ids and lexicons).
    """

    original: str
    folded: str
    compact: str
    _folded_to_orig: list[int] | None = field(default=None, repr=False)
    _compact_to_folded: list[int] | None = field(default=None, repr=False)
    _has_digit: bool | None = field(default=None, repr=False)

    def has_digit(self) -> bool:
        """Whether the compact view holds a digit (asked by several detectors, computed once)."""
        found = self._has_digit
        if found is None:
            found = self._has_digit = _DIGIT_RE.search(self.compact) is not None
        return found

    # -- offsets ---------------------------------------------------------------------------

    def _maps(self) -> tuple[list[int], None]:
        if self._folded_to_orig is None:
            self._folded_to_orig = _map_folded(self.original, self.folded)
        return self._folded_to_orig, None

    def original_span_folded(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in ``original`` of the characters ``folded[start:end]`` came from."""
        if start >= end or not self.folded:
            return (0, 0)
        if len(self.folded) == len(self.original) and not _has_nonunit(self.original):
            start = max(0, min(start, len(self.folded) - 1))
            end = max(start + 1, min(end, len(self.folded)))
            return (start, _orig_end(self.original, end - 1))
        f2o, _ = self._maps()
        if not f2o:
            return (0, 0)
        start = max(0, min(start, len(f2o) - 1))
        end = max(start + 1, min(end, len(f2o)))
        return (f2o[start], _orig_end(self.original, f2o[end - 1]))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in ``original`` of the characters ``compact[start:end]`` came from."""
        if start >= end or not self.compact:
            return (0, 0)
        if self.compact == self.folded:
            return self.original_span_folded(start, end)
        if self._compact_to_folded is None:
            self._compact_to_folded = _map_compact(self.folded, self.compact)
        c2f = self._compact_to_folded
        start = max(0, min(start, len(c2f) - 1))
        end = max(start + 1, min(end, len(c2f)))
        return self.original_span_folded(c2f[start], c2f[end - 1] + 1)


def _has_nonunit(text: str) -> bool:
    return len(text.translate(_NONUNIT_DEL)) != len(text)


def _orig_end(original: str, index: int) -> int:
    # The span ends after the original character, and after any invisible or combining
    # characters glued to it (they were part of the same visible "letter").
    end = index + 1
    n = len(original)
    while end < n and TABLE.get(ord(original[end])) == "" and not original[end].isspace():
        end += 1
    return end


def _map_folded(original: str, folded: str) -> list[int]:
    # ``folded`` is ``original.translate(TABLE)``: each original character became
    # ``TABLE.get(ch, ch)``, so positions follow from the replacement lengths.
    out: list[int] = []
    for i, ch in enumerate(original):
        rep = TABLE.get(ord(ch), ch)
        out.extend([i] * len(rep))
    if len(out) != len(folded):  # defensive: never index out of range
        out = (out + [max(len(original) - 1, 0)] * len(folded))[: len(folded)]
    return out


def _map_compact(folded: str, compact_text: str) -> list[int]:
    kept: list[int] = []
    prev = 0
    for m in _REMOVE_RE.finditer(folded):
        kept.extend(range(prev, m.start()))
        prev = m.end()
    kept.extend(range(prev, len(folded)))
    middle = "".join(folded[i] for i in kept)
    out: list[int] = []
    prev = 0
    for m in _COLLAPSE_RE.finditer(middle):
        out.extend(kept[prev : m.start()])
        out.append(kept[m.start()])
        prev = m.end()
    out.extend(kept[prev:])
    if len(out) != len(compact_text):  # defensive: never index out of range
        out = (out + [len(folded) - 1] * len(compact_text))[: len(compact_text)]
    return out


def normalize(text: str) -> Normalized:
    """Normalize a message (see the module docstring). Never raises on any ``str``."""
    if not text:
        return Normalized(text, "", "")
    # ASCII folds by lower case alone (the table maps nothing else below 0x80), at a
    # fraction of the cost of a per-character table lookup; IRC-like chat is all ASCII.
    folded = text.lower() if text.isascii() else text.translate(TABLE)
    if folded.isalnum():  # no separator at all (short Chinese messages): nothing to remove
        return Normalized(text, folded, folded)
    if _LATIN_PAIR_RE.search(folded) is None:
        # No two Latin letters in a row, so no English word boundary to keep: every separator
        # goes, with a plain pattern (the one with look-arounds costs twice as much).
        return Normalized(text, folded, _COLLAPSE_RE.sub("", folded))
    kept = _REMOVE_RE.sub("", folded)
    # Most Chinese messages have no separator left at all: skip the second pass for them.
    return Normalized(text, folded, kept if kept.isalnum() else _COLLAPSE_RE.sub(" ", kept))


# --- obfuscation signals ------------------------------------------------------------------

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
# Four or more single CJK characters each followed by a short separator: 加 微 信 号, 加.微.信
_SPACED_CJK_RE = re.compile(rf"(?<![{_CJK}])(?:[{_CJK}][^\w{_CJK}]{{1,3}}){{2,}}[{_CJK}](?![{_CJK}])")
# Any mix of single characters (CJK, letters, digits) each followed by one to three separators
# (spaces, punctuation, symbols, invisible characters, underscores), three or more in a row:
# 加 微 信 号, 出_银_1_比, 甩.银.１.０.０.
_SPACED_RE = re.compile(r"(?<![^\W_])(?:[^\W_][\W_]{1,3}){2,}[^\W_](?![^\W_])")
_WORD_CHAR_RE = re.compile(r"[^\W_]")
# Eight or more characters in a row each followed by the same symbol or punctuation (not a
# space; invisible characters may sit next to it): 美·媒·曝·光, 出♥售♥各♥种 — a whole message
# written so no keyword survives. People space words out for emphasis with spaces, not with
# hearts or dots; a formula or a row of emoticons changes its symbols.
_SYMBOL_SPACED_RE = re.compile(r"[^\W_](?P<sep>[^\w\s]|_)(?:[^\w\s]|_){0,2}(?:[^\W_](?P=sep)(?:[^\w\s]|_){0,2}){6,}[^\W_]")
# Invisible characters between two letters, digits or Chinese characters (not the joiners and
# variation selectors of emoji, which sit next to symbols).
_INVISIBLE_IN_WORD_RE = re.compile(
    "(?<=[^\\W_])[" + "".join(f"\\U{cp:08x}" for cp in _INVISIBLE) + "]+(?=[^\\W_])")
# Single Latin letters or digits split by separators: v.x, w-x, 1 3 8 1 …
_SPACED_ALNUM_RE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z0-9][^\w\s]{1,3}){3,}[A-Za-z0-9](?![A-Za-z0-9])")


@dataclass(frozen=True, slots=True)
class ObfuscationSignals:
    """How hard a text tries to hide from filters. ``score`` is 0 (plain) … 1 (heavily hidden)."""

    folded_chars: int = 0  # look-alike, full-width, circled, math characters
    invisible_chars: int = 0
    spaced_runs: int = 0  # 加 微 信 style runs
    spans: tuple[tuple[int, int], ...] = ()
    score: float = 0.0
    #: Hiding nobody does but to get past a filter: two tricks at once (the score at its cap),
    #: invisible characters inside words three times or more, or eight characters in a row
    #: each followed by a symbol (see :data:`HEAVY_INVISIBLE_IN_WORDS`).
    heavy: bool = False


_PLAIN = ObfuscationSignals()

HEAVY_INVISIBLE_IN_WORDS = 3
"""Invisible characters splitting words this many times make hiding heavy (ordinary chat: none
in 430,000 messages of the development pools)."""


def has_suspect_chars(text: str) -> bool:
    """True when the text has look-alike, decorative, full-width letter/digit or invisible characters."""
    return len(text.translate(_SUSPECT_DEL)) != len(text)


def _hides_words(run: str) -> bool:
    """A symbol-spaced run that hides writing: Chinese words, not a list of numbers (1.2.3.4…),
    keycap digits or a repeated emoticon (喵⊙ω⊙喵⊙ω⊙)."""
    chars = _WORD_CHAR_RE.findall(run)
    return len(set(chars)) >= 6 and sum(1 for ch in chars if "\u3400" <= ch <= "\u9fff") >= 4


def obfuscation_signals(text: str, *, heavy: bool = True) -> ObfuscationSignals:
    """Measure evasion tricks in the original text (script mixing, invisible and spaced chars).

    ``heavy=False`` skips deciding :attr:`ObfuscationSignals.heavy` (left ``False``) when the
    caller cannot use it: two more pattern searches saved on every spaced-out message."""
    if not text:
        return ObfuscationSignals()
    n = len(text)
    invisible = decorative = fullwidth = 0
    if text.isascii():  # ASCII can only hide by spacing letters out ("v.x.1.2.3")
        spans = [m.span() for m in _SPACED_ALNUM_RE.finditer(text)]
        if not spans:
            return _PLAIN
        return ObfuscationSignals(spaced_runs=len(spans), spans=tuple(spans), score=0.4 * min(len(spans), 2) / 2)
    if len(text.translate(_SUSPECT_DEL)) != n:  # one pass decides whether to count at all
        invisible = n - len(text.translate(_INVISIBLE_DEL))
        decorative = n - len(text.translate(_DECOR_DEL))
        fullwidth = n - len(text.translate(_FULLWIDTH_DEL))  # many Chinese keyboards type these
    spans = [m.span() for m in _SPACED_RE.finditer(text)]
    if not (decorative or fullwidth or invisible or spans):
        return ObfuscationSignals()
    score = min(1.0, 2.5 * decorative / n) * 0.6 + min(1.0, fullwidth / n) * 0.2
    score += 0.4 if invisible else 0.0
    # Spacing grows with how much of the message is spaced out: 加 微 信 hides one word, a
    # whole advert written one character at a time hides everything.
    if spans:
        spaced = sum(len(_WORD_CHAR_RE.findall(text, s, e)) for s, e in spans)
        score += 0.6 * min(1.0, spaced / 10)
    score = min(score, 1.0)
    heavy = heavy and (score >= 1.0 or (
        invisible >= HEAVY_INVISIBLE_IN_WORDS
        and len(_INVISIBLE_IN_WORD_RE.findall(text)) >= HEAVY_INVISIBLE_IN_WORDS) or (
        bool(spans) and any(_hides_words(m.group()) for m in _SYMBOL_SPACED_RE.finditer(text))))
    return ObfuscationSignals(
        folded_chars=decorative + fullwidth,
        invisible_chars=invisible,
        spaced_runs=len(spans),
        spans=tuple(spans),
        score=score,
        heavy=heavy,
    )


if __name__ == "__main__":  # pragma: no cover - manual check: python -m ... "text"
    for arg in sys.argv[1:]:
        n = normalize(arg)
        print(repr(n.folded), repr(n.compact), obfuscation_signals(arg))

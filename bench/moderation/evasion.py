"""Evasion transforms spammers use, applied to held-out ads to build an obfuscated test set.

Each transform is deterministic given its ``random.Random``. :func:`obfuscate` applies two or
three of them, as real spam does.
"""

from __future__ import annotations

import random

import opencc

_S2T = opencc.OpenCC("s2t")
_CIRCLED = {str(i): chr(0x2460 + i - 1) for i in range(1, 10)} | {"0": "⓪"}
_CN_DIGITS = dict(zip("0123456789", "零一二三四五六七八九"))
_CN_FORMAL = dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖"))
_LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "v": "ѵ", "q": "ԛ"}
_SEPARATORS = [" ", ".", "-", "·", "*", "/", "☆", "|", "_", "♥"]
_ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_CONTACT_WORDS = {
    "微信": ["薇信", "威信", "v信", "vx", "V❤", "威芯", "徽信", "wx"],
    "QQ": ["扣扣", "qq", "Q", "企鹅", "抠抠"],
    "qq": ["扣扣", "Q", "企鹅"],
    "加": ["+", "➕", "加", "嘉"],
}
_HOMOPHONE_DIGITS = dict(zip("0123456789", ["玲", "衣", "尔", "伞", "寺", "伍", "溜", "柒", "扒", "酒"]))


def fullwidth(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rng.random() < 0.8 else c for c in text)


def circled_digits(text: str, rng: random.Random) -> str:
    table = rng.choice([_CIRCLED, _CN_DIGITS, _CN_FORMAL])
    return "".join(table.get(c, c) for c in text)


def lookalikes(text: str, rng: random.Random) -> str:
    return "".join(_LOOKALIKE.get(c.lower(), c) if rng.random() < 0.7 else c for c in text)


def homophone_digits(text: str, rng: random.Random) -> str:
    return "".join(_HOMOPHONE_DIGITS.get(c, c) for c in text)


def spacing(text: str, rng: random.Random) -> str:
    sep = rng.choice(_SEPARATORS)
    return sep.join(text)


def zero_width(text: str, rng: random.Random) -> str:
    return "".join(c + (rng.choice(_ZW) if rng.random() < 0.5 else "") for c in text)


def traditional(text: str, rng: random.Random) -> str:
    return _S2T.convert(text)


def contact_words(text: str, rng: random.Random) -> str:
    for k, vs in _CONTACT_WORDS.items():
        text = text.replace(k, rng.choice(vs))
    return text


TRANSFORMS = {
    "fullwidth": fullwidth,
    "circled_digits": circled_digits,
    "homophone_digits": homophone_digits,
    "lookalikes": lookalikes,
    "spacing": spacing,
    "zero_width": zero_width,
    "traditional": traditional,
    "contact_words": contact_words,
}


def obfuscate(text: str, rng: random.Random) -> str:
    """Two or three transforms in random order (spacing always last: it splits everything)."""
    names = rng.sample([n for n in TRANSFORMS if n != "spacing"], rng.choice([2, 3]))
    for n in names:
        text = TRANSFORMS[n](text, rng)
    if rng.random() < 0.5:
        text = spacing(text, rng)
    return text

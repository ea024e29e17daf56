"""Off-topic drift: how far a message is from the community's theme. A review-only signal.

The theme (profile text, topic keywords, a sample of good messages) becomes a character
1–2-gram frequency vector; a message is scored by cosine similarity against it. Short messages
say too little to judge and are never scored. Off-topic is disabled in the default policy: an
operator switches it on once the theme text is written.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .findings import Finding
from .normalize import compact, fold

__all__ = ["Theme"]


def _grams(text: str) -> Counter[str]:
    t = compact(fold(text)).replace(" ", "")
    c: Counter[str] = Counter(t)
    c.update(t[i : i + 2] for i in range(len(t) - 1))
    return c


@dataclass(frozen=True, slots=True)
class Theme:
    """A community theme vector. ``min_chars``: shorter messages are not judged."""

    vector: dict[str, float]
    min_chars: int = 12
    threshold: float = 0.05

    @classmethod
    def from_texts(cls, texts: list[str], *, min_chars: int = 12, threshold: float = 0.05) -> "Theme":
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(_grams(t))
        norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
        return cls({k: v / norm for k, v in counts.items()}, min_chars, threshold)

    def similarity(self, text: str) -> float:
        """Cosine similarity (0..1) between the message and the theme."""
        g = _grams(text)
        norm = math.sqrt(sum(v * v for v in g.values()))
        if not norm:
            return 0.0
        return sum(v * self.vector.get(k, 0.0) for k, v in g.items()) / norm

    def check(self, compact_text: str, original: str) -> list[Finding]:
        """An ``off_topic`` finding when a long enough message is far from the theme."""
        if len(compact_text) < self.min_chars:
            return []
        sim = self.similarity(original)
        if sim >= self.threshold:
            return []
        return [Finding("off_topic", 0.7 * (1 - sim / self.threshold) + 0.3, "offtopic", f"similarity {sim:.3f} to theme")]

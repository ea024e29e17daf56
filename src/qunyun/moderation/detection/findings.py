"""Findings are data: what a detector saw, how sure it is, and where in the original text."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Evidence:
    """A span ``[start, end)`` of the ORIGINAL message text, and what it was taken for."""

    start: int
    end: int
    text: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "note": self.note}


@dataclass(frozen=True, slots=True)
class Finding:
    """One detector's opinion: a category, a strength in 0..1 and its evidence.

    ``detector`` is a stable id (``contacts.wechat``, ``lexicon``, ``behaviour.flood`` …) so
    reviews and statistics can be grouped by the rule that fired.
    """

    category: str
    score: float
    detector: str
    reason: str = ""
    evidence: tuple[Evidence, ...] = field(default=())
    #: Evidence not yet mapped to original offsets: ``(normalized, ((start, end, note), …))``
    #: in compact-text coordinates (a fourth item ``"folded"`` means folded-text ones). Mapping costs more than detecting, and most findings of
    #: a clean message are never shown, so it is done on demand by :meth:`resolved`.
    pending: Any = field(default=None, compare=False, repr=False)

    def resolved(self) -> "Finding":
        """This finding with all its evidence in original-text offsets."""
        if self.pending is None:
            return self
        norm, spans = self.pending
        extra = []
        for start, end, note, *view in spans:
            if view and view[0] == "folded":
                s, e = norm.original_span_folded(start, end)
            else:
                s, e = norm.original_span(start, end)
            extra.append(Evidence(s, e, norm.original[s:e], note))
        return replace(self, evidence=self.evidence + tuple(extra), pending=None)

    def to_dict(self) -> dict[str, Any]:
        self = self.resolved()
        return {
            "category": self.category,
            "score": round(self.score, 4),
            "detector": self.detector,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


def combine(scores: list[float]) -> float:
    """Noisy-OR: independent signals each of strength ``s`` → ``1 - Π(1 - s)``."""
    left = 1.0
    for s in scores:
        left *= 1.0 - max(0.0, min(1.0, s))
    return 1.0 - left

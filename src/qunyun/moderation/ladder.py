"""The penalty ladder of seed 004: warning → mute 1 day → 7 days → 15 days → permanent ban.

Pure arithmetic: give it the member's earlier penalties and the category of the new offence,
it says which step comes next and until when. Earlier penalties count only while they are
*active*: a warning for ``warning_ttl`` after it was given, any other step for ``record_ttl``
(so a member who behaves for long enough climbs back down). Aggravated categories (harm to
minors, multi-account abuse — 004 says these are punished more heavily) jump ``aggravated_jump``
extra steps. :class:`Ladder` round-trips through JSON for storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Iterable, Mapping

from . import taxonomy


class Step(StrEnum):
    """A rung of the ladder (stable ids, stored in cases)."""

    WARNING = "warning"
    MUTE_1D = "mute_1d"
    MUTE_7D = "mute_7d"
    MUTE_15D = "mute_15d"
    BAN = "ban"  # permanent ban / removal


ORDER: tuple[Step, ...] = (Step.WARNING, Step.MUTE_1D, Step.MUTE_7D, Step.MUTE_15D, Step.BAN)

DURATIONS: Mapping[Step, timedelta | None] = {
    Step.WARNING: timedelta(0),
    Step.MUTE_1D: timedelta(days=1),
    Step.MUTE_7D: timedelta(days=7),
    Step.MUTE_15D: timedelta(days=15),
    Step.BAN: None,  # permanent
}


@dataclass(frozen=True, slots=True)
class PriorPenalty:
    """A penalty the member already received: its step and when it was given (aware UTC)."""

    step: Step
    at: datetime
    category: str | None = None


@dataclass(frozen=True, slots=True)
class NextPenalty:
    """What to do now: the step, how long it lasts and until when (``None`` = permanent)."""

    step: Step
    duration: timedelta | None
    until: datetime | None
    reason: str

    @property
    def is_mute(self) -> bool:
        return self.step in (Step.MUTE_1D, Step.MUTE_7D, Step.MUTE_15D)


@dataclass(frozen=True, slots=True)
class Ladder:
    """Ladder settings. Defaults: warnings expire after 30 days, other steps after 180 days."""

    warning_ttl: timedelta = timedelta(days=30)
    record_ttl: timedelta = timedelta(days=180)
    aggravated_jump: int = 2

    def active(self, prior: Iterable[PriorPenalty], now: datetime) -> list[PriorPenalty]:
        """The earlier penalties that still count at ``now``."""
        out = []
        for p in prior:
            ttl = self.warning_ttl if p.step is Step.WARNING else self.record_ttl
            if p.step is Step.BAN or p.at + ttl > now:
                out.append(p)
        return out

    def next(self, prior: Iterable[PriorPenalty], *, category: str | None, now: datetime) -> NextPenalty:
        """The next penalty for a new offence of ``category`` at ``now``."""
        active = self.active(prior, now)
        top = max((ORDER.index(p.step) for p in active), default=-1)
        index = top + 1
        reasons = [f"{len(active)} active earlier penalt{'y' if len(active) == 1 else 'ies'}"]
        if category and _aggravated(category):
            index += self.aggravated_jump
            reasons.append(f"aggravated category {category}")
        index = min(index, len(ORDER) - 1)
        step = ORDER[index]
        duration = DURATIONS[step]
        until = None if duration is None else now + duration
        return NextPenalty(step=step, duration=duration, until=until, reason="; ".join(reasons))

    def to_dict(self) -> dict[str, Any]:
        return {
            "warning_ttl_days": self.warning_ttl.total_seconds() / 86400,
            "record_ttl_days": self.record_ttl.total_seconds() / 86400,
            "aggravated_jump": self.aggravated_jump,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Ladder":
        return cls(
            warning_ttl=timedelta(days=float(data.get("warning_ttl_days", 30))),
            record_ttl=timedelta(days=float(data.get("record_ttl_days", 180))),
            aggravated_jump=int(data.get("aggravated_jump", 2)),
        )


def _aggravated(category: str) -> bool:
    cat = taxonomy.CATEGORIES.get(category)
    return bool(cat and cat.aggravated)

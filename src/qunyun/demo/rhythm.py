"""When people chat: hour-of-day profiles for workdays and weekends, and a Poisson sampler.

The profiles are in the community's local time: quiet nights (2-6 h), a morning rise, a lunch
bump, the evening peak (20-23 h); on weekends mornings start later and afternoons are busier.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from itertools import accumulate

DAY = 86400.0

WORKDAY = (1.2, 0.6, 0.3, 0.15, 0.12, 0.2, 0.6, 2.0, 3.6, 4.0, 3.6, 3.8, 5.2, 4.6, 3.0, 3.2, 3.3, 3.4, 3.8, 4.8,
           6.6, 7.6, 6.8, 3.4)
WEEKEND = (2.0, 1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 1.8, 3.0, 4.3, 4.7, 4.8, 4.5, 4.7, 5.1, 5.1, 4.8, 4.6, 5.2,
           6.3, 6.6, 5.6, 3.2)


class HourSampler:
    """Samples a second of the local day from the workday or weekend profile.

    ``start`` is a local midnight (Unix seconds) and ``start_weekday`` its weekday (Monday 0);
    days are counted from it in steps of 24 h.
    """

    def __init__(self, start: float, start_weekday: int) -> None:
        self.start = start
        self.start_weekday = start_weekday
        self._cum = {False: list(accumulate(WORKDAY)), True: list(accumulate(WEEKEND))}

    def weekday(self, ts: float) -> int:
        return (self.start_weekday + int((ts - self.start) // DAY)) % 7

    def is_weekend(self, ts: float) -> bool:
        return self.weekday(ts) >= 5

    def sample(self, rng: random.Random, weekend: bool) -> float:
        """Seconds after local midnight."""
        cum = self._cum[weekend]
        hour = bisect_right(cum, rng.random() * cum[-1])
        return (min(hour, 23) + rng.random()) * 3600.0

    def share_before(self, seconds: float, weekend: bool) -> float:
        """The part of a day's messages that falls before ``seconds`` after midnight."""
        profile = WEEKEND if weekend else WORKDAY
        hour = int(seconds // 3600)
        done = sum(profile[:hour]) + (profile[hour] * (seconds % 3600) / 3600 if hour < 24 else 0)
        return done / sum(profile)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (exact below 30, normal approximation above)."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit = math.exp(-lam)
        k, p = 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))

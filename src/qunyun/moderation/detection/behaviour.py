"""Behaviour detectors: flooding, repeated and coordinated ads, mention spam, join raids.

Pure and *stateful by argument*: the caller owns a :class:`Window` (one per community or per
group, in memory) and passes it to every call; nothing here touches a database. Feeding the
same events into a fresh window gives the same findings, which keeps tests and replays simple.

Defaults (:class:`BehaviourConfig`), chosen so an excited but human conversation passes:

* flood — 6 messages from one member within 10 s; 30 messages in one group within 10 s is a
  busy group, reported at :data:`GROUP_FLOOD_SCORE` — below review, because each of those
  messages may come from a different member who did nothing wrong (the live handler tells the
  operators once per wave instead; the score still adds up with a member's own signals);
* repeated ad — the same member posts the same (or a near-identical) text 3 times in 10 min;
* coordinated ad — the same or a near-identical text of at least 8 characters from 3 or more
  accounts within 10 min (near-identical = estimated Jaccard ≥ 0.7 of character 3-grams);
  without a link or contact id both stay below the review threshold (0.4): a 接龙 chain or
  everyone answering "收到，谢谢老师" is ordinary chat, not an ad;
* mention spam — 5 or more mentions in one message;
* raid — 10 or more joins in one group within 60 s;
* new member with bait — the first message of a member who joined less than 24 h ago carries a
  link or contact id.
"""

from __future__ import annotations

import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .findings import Evidence, Finding

__all__ = ["BehaviourConfig", "Window", "sketch", "similarity"]

#: Score of the group-flood finding: below every default review threshold on its own.
GROUP_FLOOD_SCORE = 0.45

_SKETCH_SIZE = 24
#: Messages are indexed under this many of their smallest 3-gram hashes; two texts with
#: Jaccard ≥ 0.7 share at least one of them with near certainty, so only those are compared.
_BUCKET_KEYS = 4
_CANDIDATES_PER_BUCKET = 64


@dataclass(frozen=True, slots=True)
class BehaviourConfig:
    """Thresholds of the behaviour detectors (see the module docstring for the defaults)."""

    flood_member_count: int = 6
    flood_member_seconds: float = 10.0
    flood_group_count: int = 30
    flood_group_seconds: float = 10.0
    repeat_count: int = 3
    duplicate_seconds: float = 600.0
    coordinated_accounts: int = 3
    duplicate_min_chars: int = 8
    near_duplicate: float = 0.7
    mention_max: int = 5
    raid_joins: int = 10
    raid_seconds: float = 60.0
    new_member_seconds: float = 86400.0
    history_per_group: int = 500


def sketch(text: str) -> frozenset[int]:
    """A bottom-k MinHash sketch of a text's character 3-grams.

    CRC-32 rather than ``hash()``: Python randomises string hashes per process, and the same
    messages must give the same findings in every worker and after every restart.
    """
    return frozenset(_sorted_sketch(text))


def _sorted_sketch(text: str) -> tuple[int, ...]:
    """:func:`sketch` as a sorted tuple (what the window keeps)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(text) == len(data):  # ASCII: byte 3-grams are character 3-grams
        grams = {zlib.crc32(data[i : i + 3]) for i in range(max(len(data) - 2, 1))}
    else:
        grams = {zlib.crc32(text[i : i + 3].encode("utf-8", "surrogatepass")) for i in range(max(len(text) - 2, 1))}
    return tuple(sorted(grams)[:_SKETCH_SIZE])


def similarity(a: frozenset[int] | tuple[int, ...], b: frozenset[int] | tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two sketches."""
    if not a or not b:
        return 0.0
    return _similarity_to(set(a), b)


def _similarity_to(a: set[int] | frozenset[int], b: frozenset[int] | tuple[int, ...]) -> float:
    """:func:`similarity` with the first sketch already a set (a message is compared with many
    recent ones, so its set is built once, not once per candidate)."""
    union = sorted(a.union(b))[:_SKETCH_SIZE]
    shared = a.intersection(b)
    return sum(1 for h in union if h in shared) / len(union)


def _count_recent(times_by_key: dict, key, t: float, span: float) -> int:
    """Add time ``t`` under ``key`` and count the times within ``span`` seconds before it."""
    times = times_by_key.get(key)
    if times is None:
        times = times_by_key[key] = deque()
    times.append(t)
    edge = t - span
    while times[0] < edge:
        times.popleft()
    return len(times)


def _count_recent_member(times_by_key: dict, key, t: float, span: float) -> int:
    """:func:`_count_recent` for members: a member writes a few lines in a flood span, and a
    tuple of times (which the collector stops tracking) costs the process less than one more
    deque for each of thousands of members."""
    times = times_by_key.get(key)
    if times is None:
        times = (t,)
    else:
        edge = t - span
        if times[0] < edge:
            times = tuple(x for x in times if x >= edge)
        times += (t,)
    times_by_key[key] = times
    return len(times)


# A recent message in the duplicate index: ``(at, member, compact text, sketch)`` with ``at`` in
# POSIX seconds and the sketch as a sorted tuple. Plain tuples of strings and numbers on purpose:
# the garbage collector stops tracking such tuples after their first collection, so the
# thousands of messages a busy window holds do not lengthen every full collection of the
# process (they did: a fifth of moderation's cost on the live path was the collector).
_AT, _MEMBER, _TEXT, _SKETCH = range(4)
_Seen = tuple


@dataclass(slots=True)
class Window:
    """Recent activity the behaviour detectors need; keep one per community, in memory.

    Times are kept as POSIX seconds (floats): this runs for every live message, and float
    comparisons cost a fraction of datetime arithmetic.
    """

    config: BehaviourConfig = field(default_factory=BehaviourConfig)
    # per group: times of its messages within the group-flood span
    _group_times: dict[str, deque[float]] = field(default_factory=dict)
    # per group: smallest sketch hashes → recent messages carrying them (the duplicate index)
    _buckets: dict[str, dict[int, tuple[_Seen, ...]]] = field(default_factory=lambda: defaultdict(dict))
    _member_times: dict[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)
    _joins: dict[str, deque[float]] = field(default_factory=dict)
    _joined_at: dict[tuple[str, str], float] = field(default_factory=dict)
    _has_spoken: set[tuple[str, str]] = field(default_factory=set)
    _calls: int = 0

    def prune(self, now: datetime) -> None:
        """Forget members and groups with no activity inside any window (bounded memory on
        long runs). Called every 10,000 observations; safe to call any time."""
        cfg = self.config
        t = now.timestamp()
        edge = t - max(cfg.flood_member_seconds, cfg.duplicate_seconds, cfg.raid_seconds)
        for key in [k for k, times in self._member_times.items() if not times or times[-1] < edge]:
            del self._member_times[key]
        newcomer_edge = t - cfg.new_member_seconds
        for key in [k for k, at in self._joined_at.items() if at < newcomer_edge]:
            del self._joined_at[key]
        for key in [k for k, joins in self._joins.items() if not joins or joins[-1] < t - cfg.raid_seconds]:
            del self._joins[key]
        for key in [k for k, times in self._group_times.items() if not times or times[-1] < edge]:
            del self._group_times[key]
        for group in list(self._buckets):
            buckets = self._buckets[group]
            for value in [v for v, seen in buckets.items() if not seen or seen[-1][_AT] < edge]:
                del buckets[value]
            if not buckets:
                del self._buckets[group]
        if len(self._has_spoken) > 200_000:  # only used to spot a new member's first message
            self._has_spoken.clear()

    def observe_join(self, *, group: str, member: str, at: datetime) -> list[Finding]:
        """Record a join; returns a raid finding when joins come in a wave."""
        cfg = self.config
        t = at.timestamp()
        self._joined_at[(group, member)] = t
        n = _count_recent(self._joins, group, t, cfg.raid_seconds)
        if n >= cfg.raid_joins:
            return [Finding("multi_account", 0.6, "behaviour.raid", f"{n} joins within {cfg.raid_seconds:g} s")]
        return []

    def observe_message(
        self,
        *,
        group: str,
        member: str,
        at: datetime,
        text: str,
        compact: str,
        mentions: int = 0,
        has_bait: bool = False,
    ) -> list[Finding]:
        """Record a message and return behaviour findings about it.

        ``compact`` is the normalized compact text (duplicates are compared on it, so a
        look-alike variant of an ad still counts as the same ad); ``has_bait`` says whether the
        text detectors found a link or contact id.
        """
        cfg = self.config
        self._calls += 1
        if self._calls % 10_000 == 0:
            self.prune(at)
        t = at.timestamp()
        out: list[Finding] = []

        # flood, per member and per group
        key = (group, member)
        n = _count_recent_member(self._member_times, key, t, cfg.flood_member_seconds)
        if n >= cfg.flood_member_count:
            out.append(Finding("flood", 0.9, "behaviour.flood_member", f"{n} messages in {cfg.flood_member_seconds:g} s"))
        n = _count_recent(self._group_times, group, t, cfg.flood_group_seconds)
        if n >= cfg.flood_group_count:
            out.append(Finding("flood", GROUP_FLOOD_SCORE, "behaviour.flood_group",
                               f"{n} group messages in {cfg.flood_group_seconds:g} s"))

        # duplicates: same member repeating, several accounts posting the same thing
        if len(compact) >= cfg.duplicate_min_chars:
            sk = _sorted_sketch(compact)
            horizon = t - cfg.duplicate_seconds
            buckets = self._buckets[group]
            keys = sk[:_BUCKET_KEYS]
            candidates: dict[int, _Seen] = {}
            for value in keys:
                bucket = buckets.get(value)
                if not bucket:
                    continue
                if bucket[0][_AT] < horizon:
                    bucket = buckets[value] = tuple(m for m in bucket if m[_AT] >= horizon)
                # newest first, and a bounded number: when a group repeats itself a lot, the
                # thresholds (a handful of copies) are decided by the most recent ones anyway
                for m in bucket[: -_CANDIDATES_PER_BUCKET - 1: -1]:
                    candidates[id(m)] = m
            if candidates:
                self._duplicates(out, candidates, sk, member=member, text=text, compact=compact, has_bait=has_bait)
            seen = (t, member, compact, sk)
            for value in keys:
                bucket = buckets.get(value)
                if not bucket:
                    buckets[value] = (seen,)
                elif len(bucket) < cfg.history_per_group:
                    buckets[value] = bucket + (seen,)
                else:
                    buckets[value] = bucket[len(bucket) - cfg.history_per_group + 1:] + (seen,)

        if mentions >= cfg.mention_max:
            out.append(Finding("spam", 0.7, "behaviour.mentions", f"{mentions} mentions in one message"))

        if key not in self._has_spoken:
            self._has_spoken.add(key)
            joined = self._joined_at.get(key)
            if has_bait and joined is not None and t - joined <= cfg.new_member_seconds:
                out.append(Finding("spam", 0.5, "behaviour.new_member_bait", "first message of a new member carries a link or contact id"))
        return out

    def _duplicates(self, out: list[Finding], candidates: dict[int, _Seen], sk: tuple[int, ...], *, member: str,
                    text: str, compact: str, has_bait: bool) -> None:
        """Repeated and coordinated findings from the recent messages that share a sketch key."""
        cfg = self.config
        same_member = 0
        accounts = {member}
        enough_accounts, enough_repeats = cfg.coordinated_accounts, cfg.repeat_count - 1
        mine = set(sk)
        for m in candidates.values():
            if m[_TEXT] == compact or m[_SKETCH] and _similarity_to(mine, m[_SKETCH]) >= cfg.near_duplicate:
                if m[_MEMBER] == member:
                    same_member += 1
                else:
                    accounts.add(m[_MEMBER])
                if same_member >= enough_repeats and len(accounts) >= enough_accounts:
                    break
        repeated = same_member + 1 >= cfg.repeat_count
        coordinated = len(accounts) >= cfg.coordinated_accounts
        if not (repeated or coordinated):
            return
        whole = (Evidence(0, len(text), text[:200], "whole message"),) if text else ()
        if repeated:
            out.append(
                Finding(
                    "spam.repeated_ad",
                    0.9 if has_bait else 0.4,
                    "behaviour.repeat",
                    f"posted {same_member + 1} times in {cfg.duplicate_seconds:g} s",
                    whole,
                )
            )
        if coordinated:
            out.append(
                Finding(
                    "spam.coordinated_ad",
                    0.9 if has_bait else 0.4,
                    "behaviour.coordinated",
                    f"same text from {len(accounts)} accounts in {cfg.duplicate_seconds:g} s",
                    whole,
                )
            )

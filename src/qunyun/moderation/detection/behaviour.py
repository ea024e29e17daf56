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

import itertools
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
    data = text.encode("utf-8", "surrogatepass")
    if len(text) == len(data):  # ASCII: byte 3-grams are character 3-grams
        grams = {zlib.crc32(data[i : i + 3]) for i in range(max(len(data) - 2, 1))}
    else:
        grams = {zlib.crc32(text[i : i + 3].encode("utf-8", "surrogatepass")) for i in range(max(len(text) - 2, 1))}
    if len(grams) <= _SKETCH_SIZE:
        return frozenset(grams)
    return frozenset(sorted(grams)[:_SKETCH_SIZE])


def _bucket_keys(sk: frozenset[int]) -> list[int]:
    return sorted(sk)[:_BUCKET_KEYS]


def similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """Estimated Jaccard similarity of two sketches."""
    if not a or not b:
        return 0.0
    union = sorted(a | b)[:_SKETCH_SIZE]
    both = sum(1 for h in union if h in a and h in b)
    return both / len(union)


@dataclass(slots=True)
class _Seen:
    at: datetime
    member: str
    text: str
    sketch: frozenset[int]


@dataclass(slots=True)
class Window:
    """Recent activity the behaviour detectors need; keep one per community, in memory."""

    config: BehaviourConfig = field(default_factory=BehaviourConfig)
    _group_msgs: dict[str, deque[_Seen]] = field(default_factory=lambda: defaultdict(deque))
    # per group: smallest sketch hashes → recent messages carrying them (the duplicate index)
    _buckets: dict[str, dict[int, deque[_Seen]]] = field(default_factory=lambda: defaultdict(dict))
    _member_times: dict[tuple[str, str], deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    _joins: dict[str, deque[datetime]] = field(default_factory=lambda: defaultdict(deque))
    _joined_at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _has_spoken: set[tuple[str, str]] = field(default_factory=set)
    _calls: int = 0

    def prune(self, now: datetime) -> None:
        """Forget members and groups with no activity inside any window (bounded memory on
        long runs). Called every 10,000 observations; safe to call any time."""
        cfg = self.config
        horizon = max(cfg.flood_member_seconds, cfg.duplicate_seconds, cfg.raid_seconds)
        for key in [k for k, times in self._member_times.items() if not times or (now - times[-1]).total_seconds() > horizon]:
            del self._member_times[key]
        for key in [k for k, at in self._joined_at.items() if (now - at).total_seconds() > cfg.new_member_seconds]:
            del self._joined_at[key]
        for key in [k for k, joins in self._joins.items() if not joins or (now - joins[-1]).total_seconds() > cfg.raid_seconds]:
            del self._joins[key]
        for key in [k for k, msgs in self._group_msgs.items() if not msgs or (now - msgs[-1].at).total_seconds() > horizon]:
            del self._group_msgs[key]
            self._buckets.pop(key, None)
        for buckets in self._buckets.values():
            for value in [v for v, seen in buckets.items() if not seen or (now - seen[-1].at).total_seconds() > horizon]:
                del buckets[value]
        if len(self._has_spoken) > 200_000:  # only used to spot a new member's first message
            self._has_spoken.clear()

    def observe_join(self, *, group: str, member: str, at: datetime) -> list[Finding]:
        """Record a join; returns a raid finding when joins come in a wave."""
        cfg = self.config
        self._joined_at[(group, member)] = at
        joins = self._joins[group]
        joins.append(at)
        while joins and (at - joins[0]).total_seconds() > cfg.raid_seconds:
            joins.popleft()
        if len(joins) >= cfg.raid_joins:
            return [
                Finding(
                    "multi_account",
                    0.6,
                    "behaviour.raid",
                    f"{len(joins)} joins within {cfg.raid_seconds:g} s",
                )
            ]
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
        out: list[Finding] = []
        whole = (Evidence(0, len(text), text[:200], "whole message"),) if text else ()

        # flood, per member and per group
        times = self._member_times[(group, member)]
        times.append(at)
        while times and (at - times[0]).total_seconds() > cfg.flood_member_seconds:
            times.popleft()
        if len(times) >= cfg.flood_member_count:
            out.append(
                Finding("flood", 0.9, "behaviour.flood_member", f"{len(times)} messages in {cfg.flood_member_seconds:g} s")
            )
        msgs = self._group_msgs[group]
        recent_group = 0
        for m in reversed(msgs):  # newest first: stop at the window's edge
            if (at - m.at).total_seconds() > cfg.flood_group_seconds:
                break
            recent_group += 1
        if recent_group + 1 >= cfg.flood_group_count:
            out.append(Finding("flood", GROUP_FLOOD_SCORE, "behaviour.flood_group",
                               f"{recent_group + 1} group messages in {cfg.flood_group_seconds:g} s"))

        # duplicates: same member repeating, several accounts posting the same thing
        seen = None
        if len(compact) >= cfg.duplicate_min_chars:
            sk = sketch(compact)
            horizon = at - timedelta(seconds=cfg.duplicate_seconds)
            buckets = self._buckets[group]
            keys = _bucket_keys(sk)
            candidates: dict[int, _Seen] = {}
            for value in keys:
                bucket = buckets.get(value)
                if bucket is None:
                    continue
                while bucket and bucket[0].at < horizon:
                    bucket.popleft()
                # newest first, and a bounded number: when a group repeats itself a lot, the
                # thresholds (a handful of copies) are decided by the most recent ones anyway
                for m in itertools.islice(reversed(bucket), _CANDIDATES_PER_BUCKET):
                    candidates[id(m)] = m
            same_member = 0
            accounts = {member}
            enough_accounts, enough_repeats = cfg.coordinated_accounts, cfg.repeat_count - 1
            for m in candidates.values():
                if m.text == compact or similarity(sk, m.sketch) >= cfg.near_duplicate:
                    if m.member == member:
                        same_member += 1
                    else:
                        accounts.add(m.member)
                    if same_member >= enough_repeats and len(accounts) >= enough_accounts:
                        break
            if same_member + 1 >= cfg.repeat_count:
                out.append(
                    Finding(
                        "spam.repeated_ad",
                        0.9 if has_bait else 0.4,
                        "behaviour.repeat",
                        f"posted {same_member + 1} times in {cfg.duplicate_seconds:g} s",
                        whole,
                    )
                )
            if len(accounts) >= cfg.coordinated_accounts:
                out.append(
                    Finding(
                        "spam.coordinated_ad",
                        0.9 if has_bait else 0.4,
                        "behaviour.coordinated",
                        f"same text from {len(accounts)} accounts in {cfg.duplicate_seconds:g} s",
                        whole,
                    )
                )
            seen = _Seen(at, member, compact, sk)
            for value in keys:
                bucket = buckets.get(value)
                if bucket is None:
                    bucket = buckets[value] = deque()
                bucket.append(seen)
                while len(bucket) > cfg.history_per_group:
                    bucket.popleft()
        msgs.append(seen or _Seen(at, member, compact, frozenset()))
        while len(msgs) > cfg.history_per_group or (msgs and (at - msgs[0].at).total_seconds() > cfg.duplicate_seconds):
            msgs.popleft()

        if mentions >= cfg.mention_max:
            out.append(Finding("spam", 0.7, "behaviour.mentions", f"{mentions} mentions in one message"))

        key = (group, member)
        if key not in self._has_spoken:
            self._has_spoken.add(key)
            joined = self._joined_at.get(key)
            if has_bait and joined is not None and (at - joined).total_seconds() <= cfg.new_member_seconds:
                out.append(Finding("spam", 0.5, "behaviour.new_member_bait", "first message of a new member carries a link or contact id"))
        return out

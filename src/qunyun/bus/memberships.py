"""Memberships from stored events: who is in which group, since when, how they came and went."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection

from .dbapi import raw_cursor, raw_sql

#: Events that say something about a membership (who is in a group, since when).
_ROSTER_TYPES = frozenset(("message", "join", "leave", "reaction"))


def memberships_apply(*, fresh: list[tuple], accounts: dict[str, Any], bots: set[int],
                      dt: Callable[[datetime], Any]) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    """Bring memberships up to date with one batch: the latest event (by time) decides who is in a group.

    The batch is folded to one row per (group, member) first (:class:`MembershipFold`) and
    upserted. Returns the non-bot members whose memberships were updated, those of them who
    joined or left, and their groups (for the rollups that follow memberships). ``fresh`` holds
    the store's ``(event, group, member_id, channel, sparse)`` of the new events in time order;
    ``accounts`` is its account cache (the members' earliest sightings are kept there too);
    ``dt`` formats a time for the database.
    """
    fold = MembershipFold()
    fold.add(fresh, accounts)
    if not fold.pairs:
        return frozenset(), frozenset(), frozenset()
    fold.write(accounts, dt)
    return (frozenset(m for m in fold.earliest if m not in bots), frozenset(fold.movers - bots),
            frozenset(g for g, m in fold.pairs if m not in bots))


class MembershipFold:
    """Stored events folded to one membership row per (group, member), to be upserted at once.

    A busy member posts many times a batch, but only the latest state, the earliest sighting
    and the latest join and leave matter. Events may be added in several calls in any order of
    time between calls (each call's in time order): the fold keeps what is newer or earlier as
    the upserts of :meth:`write` do against the stored row, so folding a whole import and
    writing once (a bulk load, :mod:`.bulk`) gives what writing batch by batch gives; ties in
    time go to the event added later, as they would to the later batch.
    """

    __slots__ = ("pairs", "earliest", "channels", "movers", "seen_as")

    def __init__(self) -> None:
        # (group, member) -> [is_member, joined_at, left_at, first_seen_at, join_method,
        #                     leave_reason, channel_id, inviter_id, state_at]
        self.pairs: dict[tuple[int, int], list[Any]] = {}
        self.earliest: dict[int, datetime] = {}  # member -> earliest roster event
        self.channels: dict[int, int] = {}  # member -> channel of its first join through one
        self.movers: set[int] = set()  # members who joined or left
        self.seen_as: set[str] = set()  # an account per member and group seen (for the cache of first sightings)

    def add(self, fresh: list[tuple], accounts: dict[str, Any]) -> None:
        """Fold the store's ``(event, group, member_id, channel, sparse)`` of new events, in time order
        (``accounts``: the store's account cache, for inviters)."""
        pairs, earliest, roster = self.pairs, self.earliest, _ROSTER_TYPES
        for event, group, member_id, channel, _sparse in fresh:
            if member_id is None:
                continue
            etype = event.type
            if etype not in roster:
                continue
            at = event.at
            pair = (group.id, member_id)
            row = pairs.get(pair)
            if row is None:
                first = earliest.get(member_id)
                if first is None or at < first:
                    earliest[member_id] = at
                # (an account per member and group is enough: a merged member's other accounts
                # only miss a cache update, and the member's UPDATE keeps the earliest)
                self.seen_as.add(event.subject.id)
                row = pairs[pair] = [True, None, None, at, "", "", None, None, at]
            elif at < row[3]:  # (only across calls: each is in time order)
                row[3] = at
                if at < earliest[member_id]:
                    earliest[member_id] = at
            if etype == "message" or etype == "reaction":
                if at >= row[8]:
                    row[0] = True
                    row[8] = at
                continue
            self.movers.add(member_id)
            if at >= row[8]:
                row[0], row[8] = etype != "leave", at
            if etype == "join":
                if row[1] is None or at >= row[1]:
                    row[1], row[4] = at, event.via.value
                if channel and row[6] is None:
                    row[6] = channel[0]
                    self.channels.setdefault(member_id, channel[0])
                if event.inviter is not None and row[7] is None:
                    row[7] = accounts[event.inviter.id].member_id
            elif row[2] is None or at >= row[2]:
                row[2], row[5] = at, event.reason.value

    def write(self, accounts: dict[str, Any], dt: Callable[[datetime], Any]) -> None:
        """Upsert the folded rows (newer news winning over what is stored), and the members'
        earliest sightings and channels; ``accounts`` is the store's account cache."""
        plain, moved = [], []
        for (g, m), r in self.pairs.items():
            if r[1] is None and r[2] is None:  # messages and reactions only (most of a batch)
                plain.append((g, m, dt(r[3]), dt(r[8])))
            else:
                moved.append((g, m, r[0], dt(r[1]) if r[1] else None, dt(r[2]) if r[2] else None, dt(r[3]), r[4],
                              r[5], r[6], r[7], dt(r[8])))
        earlier = []
        # only the fold's own accounts: walking the whole cache cost ~1 ms a batch at 10,000 members
        for account_id in self.seen_as:
            account = accounts[account_id]
            at = self.earliest.get(account.member_id)
            if at is not None and (account.first_seen is None or at < account.first_seen):
                account.first_seen = at
                earlier.append((dt(at), account.member_id, dt(at)))
        cursor = raw_cursor()
        try:
            _upsert(cursor, plain, moved, earlier, [(ch, mid) for mid, ch in self.channels.items()])
        finally:
            cursor.close()


def _upsert(cursor, plain: list[tuple], moved: list[tuple], earlier: list[tuple], channels: list[tuple]) -> None:
    """Write folded memberships (:data:`_PLAIN` and :data:`_MOVED` rows), members' earlier first
    sightings ``(at, member, at)`` and first channels ``(channel, member)``."""
    if plain:
        cursor.executemany(raw_sql(_PLAIN), plain)
    if moved:
        cursor.executemany(raw_sql(_MOVED), moved)
    if earlier:
        cursor.executemany(raw_sql(
            "UPDATE qunyun_member SET first_seen_at = %s WHERE id = %s AND "
            "(first_seen_at IS NULL OR first_seen_at > %s)"), earlier)
    if channels:
        cursor.executemany(
            raw_sql("UPDATE qunyun_member SET channel_id = %s WHERE id = %s AND channel_id IS NULL"), channels)


_NEWER = "excluded.state_at >= qunyun_membership.state_at OR qunyun_membership.state_at IS NULL"
_EARLIER_SEEN = ("qunyun_membership.first_seen_at IS NULL OR excluded.first_seen_at < "
                 "qunyun_membership.first_seen_at")


#: Seen posting or reacting: in the group if that is the latest news, and seen since then. The
#: same as :data:`_MOVED` for a row without joins or leaves, but it names none of the join and
#: leave columns (SQLite rewrites an index entry for every column a SET names) and skips the
#: row (``WHERE``) when it brings nothing newer or older.
_PLAIN = (
    "INSERT INTO qunyun_membership (group_id, member_id, is_member, joined_at, left_at, first_seen_at, "
    "join_method, leave_reason, channel_id, inviter_id, state_at, role) "
    "VALUES (%s, %s, TRUE, NULL, NULL, %s, '', '', NULL, NULL, %s, 'member') "
    "ON CONFLICT (group_id, member_id) DO UPDATE SET "
    f"is_member = CASE WHEN {_NEWER} THEN TRUE ELSE qunyun_membership.is_member END, "
    f"state_at = CASE WHEN {_NEWER} THEN excluded.state_at ELSE qunyun_membership.state_at END, "
    f"first_seen_at = CASE WHEN {_EARLIER_SEEN} THEN excluded.first_seen_at "
    "ELSE qunyun_membership.first_seen_at END "
    f"WHERE {_NEWER} OR {_EARLIER_SEEN}"
)

#: Joined or left (maybe posted too): every column of the membership, newer news winning.
_MOVED = (
    "INSERT INTO qunyun_membership (group_id, member_id, is_member, joined_at, left_at, "
    "first_seen_at, join_method, leave_reason, channel_id, inviter_id, state_at, role) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'member') "
    "ON CONFLICT (group_id, member_id) DO UPDATE SET "
    f"is_member = CASE WHEN {_NEWER} THEN excluded.is_member ELSE qunyun_membership.is_member END, "
    f"state_at = CASE WHEN {_NEWER} THEN excluded.state_at ELSE qunyun_membership.state_at END, "
    "joined_at = CASE WHEN excluded.joined_at IS NOT NULL AND (qunyun_membership.joined_at IS NULL "
    "OR excluded.joined_at > qunyun_membership.joined_at) THEN excluded.joined_at "
    "ELSE qunyun_membership.joined_at END, "
    "left_at = CASE WHEN excluded.left_at IS NOT NULL AND (qunyun_membership.left_at IS NULL "
    "OR excluded.left_at > qunyun_membership.left_at) THEN excluded.left_at ELSE qunyun_membership.left_at END, "
    f"first_seen_at = CASE WHEN {_EARLIER_SEEN} THEN excluded.first_seen_at "
    "ELSE qunyun_membership.first_seen_at END, "
    "join_method = CASE WHEN excluded.join_method <> '' AND "
    "(excluded.joined_at >= qunyun_membership.joined_at OR qunyun_membership.joined_at IS NULL) "
    "THEN excluded.join_method ELSE qunyun_membership.join_method END, "
    "leave_reason = CASE WHEN excluded.leave_reason <> '' AND "
    "(excluded.left_at >= qunyun_membership.left_at OR qunyun_membership.left_at IS NULL) "
    "THEN excluded.leave_reason ELSE qunyun_membership.leave_reason END, "
    "channel_id = COALESCE(qunyun_membership.channel_id, excluded.channel_id), "
    "inviter_id = COALESCE(qunyun_membership.inviter_id, excluded.inviter_id)"
)


def memberships_from_log(community_id: int, since_id: int = 0) -> int:
    """Memberships (and members' first sightings and channels) from the event log's rows of
    ``community_id`` with an id above ``since_id``, merged into what is stored; the pairs written.

    What :func:`memberships_apply` does batch by batch, done once for a bulk load
    (:mod:`.bulk`), whose rows are stored in id order, each batch in time order: the latest
    roster event by ``(at, id)`` decides whether a member is in a group; the earliest join (by
    id) that names a channel or an inviter gives them. Two scans of the log (one grouped, one of
    the few joins and leaves) and the same upserts as the batch path, so what was stored before
    merges the same way. Run with the event log's indexes in place (a tie in time between a leave
    and a later post is settled by one lookup of ``(member, at)``).
    """
    # SQLite's aggregates give the stored text, its plain columns a datetime: read both as text
    at = "CAST(at AS TEXT)" if connection.vendor == "sqlite" else "at"
    cursor = raw_cursor()
    try:
        cursor.execute(raw_sql(
            "SELECT group_id, member_id, MIN(at), MAX(at), MAX(CASE WHEN type IN ('message', 'reaction') THEN at END) "
            "FROM qunyun_event WHERE community_id = %s AND id > %s AND member_id IS NOT NULL "
            "AND type IN ('message', 'join', 'leave', 'reaction') GROUP BY group_id, member_id"),
            [community_id, since_id])
        pairs = cursor.fetchall()
        cursor.execute(raw_sql(
            f"SELECT group_id, member_id, type, {at}, id, detail, actor_id, channel_id FROM qunyun_event "
            "WHERE community_id = %s AND id > %s AND member_id IS NOT NULL AND type IN ('join', 'leave') "
            "ORDER BY at, id"), [community_id, since_id])
        # (group, member) -> [joined_at, join_method, left_at, leave_reason, (channel id, channel),
        #                     (inviter id, inviter), (at, id, type) of the latest join or leave]
        moves: dict[tuple[int, int], list[Any]] = {}
        channels: dict[int, tuple[int, int]] = {}  # member -> (event id, channel) of its first join through one
        for group_id, member_id, etype, at, event_id, detail, actor_id, channel_id in cursor.fetchall():
            row = moves.get((group_id, member_id))
            if row is None:
                row = moves[(group_id, member_id)] = [None, "", None, "", None, None, None]
            if etype == "join":
                row[0], row[1] = at, detail
                if channel_id is not None:
                    if row[4] is None or event_id < row[4][0]:
                        row[4] = (event_id, channel_id)
                    if member_id not in channels or event_id < channels[member_id][0]:
                        channels[member_id] = (event_id, channel_id)
                if actor_id is not None and (row[5] is None or event_id < row[5][0]):
                    row[5] = (event_id, actor_id)
            else:
                row[2], row[3] = at, detail
            row[6] = (at, event_id, etype)
        plain, moved = [], []
        earliest: dict[int, Any] = {}
        for group_id, member_id, first, last, posted in pairs:
            if member_id not in earliest or first < earliest[member_id]:
                earliest[member_id] = first
            row = moves.get((group_id, member_id))
            if row is None:
                plain.append((group_id, member_id, first, last))
                continue
            at, event_id, etype = row[6]
            if posted is None or at > posted:
                is_member = etype == "join"
            elif posted > at or etype == "join":
                is_member = True
            else:  # a leave and a post or reaction in the same instant: the later row decides
                cursor.execute(raw_sql(
                    "SELECT 1 FROM qunyun_event WHERE member_id = %s AND at = %s AND group_id = %s AND id > %s "
                    "AND type IN ('message', 'reaction') LIMIT 1"), [member_id, at, group_id, event_id])
                is_member = cursor.fetchone() is not None
            moved.append((group_id, member_id, is_member, row[0], row[2], first, row[1], row[3],
                          row[4][1] if row[4] else None, row[5][1] if row[5] else None, last))
        _upsert(cursor, plain, moved, [(at, m, at) for m, at in earliest.items()],
                [(channel, m) for m, (_id, channel) in channels.items()])
    finally:
        cursor.close()
    return len(pairs)

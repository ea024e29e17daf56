"""Memberships from stored events: who is in which group, since when, how they came and went."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .dbapi import raw_cursor, raw_sql

#: Events that say something about a membership (who is in a group, since when).
_ROSTER_TYPES = frozenset(("message", "join", "leave", "reaction"))


def memberships_apply(*, fresh: list[tuple], accounts: dict[str, Any], bots: set[int],
                      dt: Callable[[datetime], Any]) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    """Bring memberships up to date: the latest event (by time) decides who is in a group.

    The batch is folded to one row per (group, member) first — a busy member posts many
    times a batch, but only the latest state, the earliest sighting and the latest join
    and leave matter — and the upsert keeps whatever is newer between that row and the
    stored one, so batches may arrive in any order. Returns the non-bot members whose
    memberships were updated, those of them who joined or left, and their groups (for the
    rollups that follow memberships). ``fresh`` holds the store's ``(event, group, member_id,
    channel, sparse)`` of the new events in time order; ``accounts`` is its account cache (the
    members' earliest sightings are kept there too); ``dt`` formats a time for the database.
    """
    folded: dict[tuple[int, int], list[Any]] = {}
    earliest: dict[int, datetime] = {}
    channels: set[tuple[int, int]] = set()
    movers: set[int] = set()
    seen_as: set[str] = set()  # the accounts the batch's roster events came from
    roster = _ROSTER_TYPES
    for event, group, member_id, channel, _sparse in fresh:
        etype = event.type
        if member_id is None or etype not in roster:
            continue
        at = event.at
        if member_id not in earliest:
            earliest[member_id] = at  # fresh is in time order
        seen_as.add(event.subject.id)
        row = folded.get((group.id, member_id))
        if row is None:
            # is_member, joined_at, left_at, first_seen_at, join_method, leave_reason,
            # channel_id, inviter_id, state_at
            row = folded[(group.id, member_id)] = [True, None, None, at, "", "", None, None, at]
        if etype == "message" or etype == "reaction":
            row[0], row[8] = True, at
            continue
        movers.add(member_id)
        row[0], row[8] = etype != "leave", at
        if etype == "join":
            row[1], row[4] = at, event.via.value
            if channel and row[6] is None:
                row[6] = channel[0]
                channels.add((member_id, channel[0]))
            if event.inviter is not None and row[7] is None:
                row[7] = accounts[event.inviter.id].member_id
        else:
            row[2], row[5] = at, event.reason.value
    if not folded:
        return frozenset(), frozenset(), frozenset()
    plain, moved = [], []
    for (g, m), r in folded.items():
        if r[1] is None and r[2] is None:  # messages and reactions only (most of a batch)
            plain.append((g, m, dt(r[3]), dt(r[8])))
        else:
            moved.append((g, m, r[0], dt(r[1]) if r[1] else None, dt(r[2]) if r[2] else None, dt(r[3]), r[4], r[5],
                          r[6], r[7], dt(r[8])))
    earlier = []
    # only the batch's own accounts: walking the whole cache cost ~1 ms a batch at 10,000 members
    for account_id in seen_as:
        account = accounts[account_id]
        at = earliest.get(account.member_id)
        if at is not None and (account.first_seen is None or at < account.first_seen):
            account.first_seen = at
            earlier.append((dt(at), account.member_id, dt(at)))
    cursor = raw_cursor()
    try:
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
                raw_sql("UPDATE qunyun_member SET channel_id = %s WHERE id = %s AND channel_id IS NULL"),
                [(ch, mid) for mid, ch in channels],
            )
    finally:
        cursor.close()
    touched = frozenset(m for m in earliest if m not in bots)
    return (touched, frozenset(movers - bots),
            frozenset(g for g, m in folded if m not in bots))


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

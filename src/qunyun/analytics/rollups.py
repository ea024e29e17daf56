"""Rollups: kept up to date as events arrive, and rebuilt from the event log on demand.

Two ways in, one meaning:

* :func:`rollups_apply` is called by the event store for each batch of newly stored events
  (one call site in :mod:`qunyun.bus.store`). It adds them to the analytics-owned rollups
  (member-hour, member-week, member-month, member stats, group-day mix); the store itself
  keeps member-day, group-day and group-hour.
* :func:`rollups_rebuild` deletes every rollup row of a community and recomputes all of them
  (the store's too) from ``qunyun_event`` with set-based ``INSERT … SELECT`` statements that run
  on SQLite and PostgreSQL. Rebuilding after an incremental load gives identical rows — a test
  holds us to that.

The rules both follow (see docs/metrics.md "Members, bots and messages"): bots are not members;
system lines are not messages; activity is a message or a reaction; days and hours are local.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db import connection

from qunyun.core import events as ev

#: Characters trimmed before measuring a message's length ("water" = at most 3 left).
WATER_TRIM = " \t\r\n"
WATER_MAX_CHARS = 3
LINK_MARKERS = ("http://", "https://", "www.")

#: Every rollup table with a ``community_id`` column, in the order a rebuild fills them.
ROLLUP_TABLES = (
    "qunyun_member_hour", "qunyun_member_day", "qunyun_group_hour", "qunyun_group_day",
    "qunyun_group_day_mix", "qunyun_member_week", "qunyun_member_month", "qunyun_member_stats",
    "qunyun_funnel_day", "qunyun_reply_edge_day", "qunyun_talk_day", "qunyun_community_day", "qunyun_group_size",
)


def message_is_water(kind: str, text: str) -> bool:
    """A sticker, or a text message of at most three characters after trimming spaces."""
    if kind == ev.MessageKind.STICKER.value:
        return True
    return kind == ev.MessageKind.TEXT.value and len(text.strip(WATER_TRIM)) <= WATER_MAX_CHARS


def message_has_link(kind: str, text: str) -> bool:
    """A link message, or a text that carries a URL."""
    if kind == ev.MessageKind.LINK.value:
        return True
    lowered = text.lower()
    return any(marker in lowered for marker in LINK_MARKERS)


# ----------------------------------------------------------------- incremental

_ROWS_PER_STATEMENT = 400  # × at most 9 columns stays under SQLite's 32,766 parameters


def _upsert(cursor, head: str, width: int, rows: list[tuple], tail: str) -> None:
    """``head VALUES (…), (…), … tail`` in chunks: one round trip per chunk, not per row.

    (``executemany`` is a statement per row on PostgreSQL; a live batch of a few events then
    costs a round trip for each rollup row it touches.)
    """
    one = "(" + ", ".join(["%s"] * width) + ")"
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start:start + _ROWS_PER_STATEMENT]
        cursor.execute(f"{head} VALUES {', '.join([one] * len(chunk))} {tail}",
                       [value for row in chunk for value in row])



def rollups_apply(*, store: Any, fresh: list[tuple]) -> None:
    """Add newly stored events to the analytics-owned rollups (called inside the store's transaction).

    ``fresh`` holds the store's ``(event, group, member_id, channel, local_time, reply_member)``
    tuples for events that were not stored before.
    """
    accounts = store._accounts  # the store's account cache: which members are bots
    hours: dict[tuple[int, int, date, int], list[int]] = defaultdict(lambda: [0, 0])
    weeks: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    months: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    # member -> [first_active, last_active, first_message, last_message, first_join, messages]
    stats: dict[int, list[Any]] = {}
    mix: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    funnel: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])  # payments, invites
    edges: dict[tuple[int, date, int, int], list[int]] = defaultdict(lambda: [0, 0])  # replies, mentions
    talk_days: set[tuple[int, date]] = set()
    roster_groups: set[int] = set()  # groups whose memberships may have changed
    moved: set[int] = set()  # members who joined or left (their "in a group" may turn either way)
    period_starts: dict[date, tuple[date, date]] = {}
    for event, group, member_id, _channel, local, reply_member in fresh:
        etype = event.type
        day = local.date()
        if etype == "delete":
            mix[(group.id, day)][2] += 1
            continue
        if member_id is None:
            continue
        subject = event.subject
        account = accounts.get(subject.id) if subject is not None else None
        if account is not None and account.is_bot:
            continue
        if etype in ("message", "reaction", "join", "leave"):  # the store updated this membership
            roster_groups.add(group.id)
            stats.setdefault(member_id, [None, None, None, None, None, 0])
            if etype in ("join", "leave"):
                moved.add(member_id)
        if etype == "join":
            row = stats.setdefault(member_id, [None, None, None, None, None, 0])
            row[4] = day if row[4] is None or day < row[4] else row[4]
            inviter = accounts.get(event.inviter.id) if event.inviter is not None else None
            if inviter is not None and inviter.member_id != member_id:
                funnel[(inviter.member_id, day)][1] += 1
            continue
        if etype == "payment":
            funnel[(member_id, day)][0] += 1
            continue
        if etype == "message":
            if event.kind is ev.MessageKind.SYSTEM:
                continue
            talk_days.add((group.id, day))
            if reply_member is not None and reply_member != member_id:
                edges[(group.id, day, member_id, reply_member)][0] += 1
            for account_id in set(event.mentions):
                mentioned = accounts.get(account_id)
                if mentioned is not None and mentioned.member_id not in (member_id, reply_member):
                    edges[(group.id, day, member_id, mentioned.member_id)][1] += 1
            slot = 0
            kind, text = event.kind.value, event.text or ""
            water, link = message_is_water(kind, text), message_has_link(kind, text)
            if water or link:
                m = mix[(group.id, day)]
                m[0] += water
                m[1] += link
        elif etype == "reaction":
            slot = 1
        else:
            continue
        starts = period_starts.get(day)
        if starts is None:
            starts = period_starts[day] = (day - timedelta(days=day.weekday()), day.replace(day=1))
        hours[(group.id, member_id, day, local.hour)][slot] += 1
        weeks[(member_id, starts[0])][slot] += 1
        months[(member_id, starts[1])][slot] += 1
        row = stats.setdefault(member_id, [None, None, None, None, None, 0])
        row[0] = day if row[0] is None or day < row[0] else row[0]
        row[1] = day if row[1] is None or day > row[1] else row[1]
        if slot == 0:
            row[2] = day if row[2] is None or day < row[2] else row[2]
            row[3] = day if row[3] is None or day > row[3] else row[3]
            row[5] += 1
    if not (hours or stats or mix or funnel or edges or roster_groups):
        return
    cid = store.community.pk
    adapt = connection.ops.adapt_datefield_value
    adapted: dict[date, Any] = {}

    def d(day: date) -> Any:  # a batch has a few distinct days and thousands of rows
        value = adapted.get(day)
        if value is None:
            value = adapted[day] = adapt(day)
        return value

    with connection.cursor() as cursor:
        if hours:
            _upsert(
                cursor, "INSERT INTO qunyun_member_hour (community_id, group_id, member_id, day, hour, messages, "
                "reactions)", 7, [(cid, g, m, d(day), hour, *v) for (g, m, day, hour), v in hours.items()],
                "ON CONFLICT (group_id, member_id, day, hour) DO UPDATE SET "
                "messages = qunyun_member_hour.messages + excluded.messages, "
                "reactions = qunyun_member_hour.reactions + excluded.reactions",
            )
        for table, column, rows in (("qunyun_member_week", "week", weeks), ("qunyun_member_month", "month", months)):
            if rows:
                _upsert(
                    cursor, f"INSERT INTO {table} (community_id, member_id, {column}, messages, reactions)", 5,
                    [(cid, m, d(start), *v) for (m, start), v in rows.items()],
                    f"ON CONFLICT (member_id, {column}) DO UPDATE SET "
                    f"messages = {table}.messages + excluded.messages, "
                    f"reactions = {table}.reactions + excluded.reactions",
                )
        if stats:
            t = "qunyun_member_stats"

            def earliest(col: str) -> str:
                return f"{col} = COALESCE(CASE WHEN excluded.{col} < {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

            def latest(col: str) -> str:
                return f"{col} = COALESCE(CASE WHEN excluded.{col} > {t}.{col} THEN excluded.{col} ELSE {t}.{col} END, excluded.{col})"

            _upsert(
                cursor, f"INSERT INTO {t} (community_id, member_id, first_active_day, last_active_day, "
                "first_message_day, last_message_day, first_join_day, messages, in_group)", 9,
                [(cid, m, *(d(x) if x is not None else None for x in v[:5]), v[5], False) for m, v in stats.items()],
                f"ON CONFLICT (member_id) DO UPDATE SET {earliest('first_active_day')}, {latest('last_active_day')}, "
                f"{earliest('first_message_day')}, {latest('last_message_day')}, {earliest('first_join_day')}, "
                f"messages = {t}.messages + excluded.messages",
            )
        if stats:
            # Whether each member touched is in a group now (the store has just updated the memberships).
            # A message or reaction can only bring a member in (a member seen posting is in a group);
            # only joins and leaves can take one out: members already in are skipped.
            members = sorted(stats)
            for start in range(0, len(members), 500):
                chunk = members[start:start + 500]
                movers = [m for m in chunk if m in moved] or [0]
                cursor.execute(
                    "UPDATE qunyun_member_stats SET in_group = EXISTS (SELECT 1 FROM qunyun_membership ms "
                    "WHERE ms.member_id = qunyun_member_stats.member_id AND ms.is_member = %s) "
                    f"WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) AND (in_group = %s "
                    f"OR member_id IN ({', '.join(['%s'] * len(movers))}))", [True, *chunk, False, *movers])
        if roster_groups:
            groups = sorted(roster_groups)
            cursor.execute(
                "SELECT ms.group_id, SUM(CASE WHEN ms.is_member THEN 1 ELSE 0 END) FROM qunyun_membership ms "
                f"WHERE ms.group_id IN ({', '.join(['%s'] * len(groups))}) AND ms.member_id NOT IN "
                "(SELECT id FROM qunyun_member WHERE community_id = %s AND is_bot = %s) GROUP BY ms.group_id",
                [*groups, cid, True])
            sizes = cursor.fetchall()
            if sizes:
                _upsert(cursor, "INSERT INTO qunyun_group_size (community_id, group_id, members_now)", 3,
                        [(cid, g, int(n)) for g, n in sizes],
                        "ON CONFLICT (group_id) DO UPDATE SET members_now = excluded.members_now")
        if funnel:
            _upsert(
                cursor, "INSERT INTO qunyun_funnel_day (community_id, member_id, day, payments, invites)", 5,
                [(cid, m, d(day), *v) for (m, day), v in funnel.items()],
                "ON CONFLICT (member_id, day) DO UPDATE SET "
                "payments = qunyun_funnel_day.payments + excluded.payments, "
                "invites = qunyun_funnel_day.invites + excluded.invites",
            )
        if edges:
            targets = sorted({t for (_g, _d, _s, t) in edges})
            bots = set()
            for start in range(0, len(targets), 500):
                chunk = targets[start:start + 500]
                cursor.execute(f"SELECT id FROM qunyun_member WHERE is_bot = %s AND id IN ({', '.join(['%s'] * len(chunk))})",
                               [True, *chunk])
                bots.update(r[0] for r in cursor.fetchall())
            rows = [(cid, g, d(day), source, target, *v) for (g, day, source, target), v in edges.items()
                    if target not in bots]
            if rows:
                _upsert(
                    cursor, "INSERT INTO qunyun_reply_edge_day (community_id, group_id, day, source_id, target_id, "
                    "replies, mentions)", 7, rows,
                    "ON CONFLICT (group_id, day, source_id, target_id) "
                    "DO UPDATE SET replies = qunyun_reply_edge_day.replies + excluded.replies, "
                    "mentions = qunyun_reply_edge_day.mentions + excluded.mentions",
                )
        if hours:
            # Distinct members across groups per day: a member-day is new to the community when all
            # its activity (over every group, after the store added this batch) is this batch's.
            batch: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
            for (_g, m, day, _h), (messages, reactions) in hours.items():
                batch[(m, day)][0] += messages
                batch[(m, day)][1] += reactions
            members = sorted({m for m, _day in batch})
            day_list = sorted({day for _m, day in batch})
            totals: dict[tuple[int, Any], tuple[int, int]] = {}
            for start in range(0, len(members), 500):
                chunk = members[start:start + 500]
                cursor.execute(
                    "SELECT member_id, day, SUM(messages), SUM(reactions) FROM qunyun_member_day "
                    f"WHERE member_id IN ({', '.join(['%s'] * len(chunk))}) "
                    f"AND day IN ({', '.join(['%s'] * len(day_list))}) GROUP BY member_id, day",
                    [*chunk, *(d(day) for day in day_list)])
                for m, day, messages, reactions in cursor.fetchall():
                    totals[(m, str(day)[:10])] = (int(messages), int(reactions))
            per_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
            for (m, day), (messages, reactions) in batch.items():
                total = totals.get((m, day.isoformat()), (messages, reactions))
                if total[0] + total[1] == messages + reactions:
                    per_day[day][0] += 1  # active for the first time that day
                if messages and total[0] == messages:
                    per_day[day][1] += 1  # posted for the first time that day
            rows = [(cid, d(day), *v) for day, v in per_day.items() if v[0] or v[1]]
            if rows:
                _upsert(cursor, "INSERT INTO qunyun_community_day (community_id, day, active_members, authors)", 4,
                        rows, "ON CONFLICT (community_id, day) DO UPDATE SET "
                        "active_members = qunyun_community_day.active_members + excluded.active_members, "
                        "authors = qunyun_community_day.authors + excluded.authors")
        if talk_days:
            # One statement: the kept days of these groups around these days (a few extra
            # combinations may go too; they are only computed again).
            stale_groups = sorted({g for g, _day in talk_days})
            stale_days = sorted({d(day + timedelta(days=shift)) for _g, day in talk_days for shift in (-1, 0, 1)})
            cursor.execute(
                f"DELETE FROM qunyun_talk_day WHERE group_id IN ({', '.join(['%s'] * len(stale_groups))}) "
                f"AND day IN ({', '.join(['%s'] * len(stale_days))})", [*stale_groups, *stale_days])
        if mix:
            _upsert(
                cursor, "INSERT INTO qunyun_group_day_mix (community_id, group_id, day, water, links, deleted)", 6,
                [(cid, g, d(day), *v) for (g, day), v in mix.items()],
                "ON CONFLICT (group_id, day) DO UPDATE SET "
                "water = qunyun_group_day_mix.water + excluded.water, "
                "links = qunyun_group_day_mix.links + excluded.links, "
                "deleted = qunyun_group_day_mix.deleted + excluded.deleted",
            )


from .rebuild import rollups_rebuild  # noqa: E402  (kept importable from here)

"""The batch store: appends normalized events to the event log, idempotently and fast.

One :class:`EventStore` serves one community. It resolves chats to groups and accounts to
members (creating them on first sight), inserts a batch of events with one multi-row
``INSERT … ON CONFLICT DO NOTHING RETURNING`` per chunk (so an event already stored is
skipped and we learn which ones are new), then, for the new events only, updates memberships,
names and the daily rollups. It must be called inside a transaction; the caller (the
:mod:`runtime <qunyun.bus.runtime>`) owns it.

Raw SQL is used on purpose on this path: it is the hottest loop in the product (imports of
millions of messages) and the ORM's per-object overhead would dominate. The SQL is plain
enough to run unchanged on SQLite (3.35+) and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models

from qunyun.analytics.rollups import rollups_apply
from qunyun.communities.models import Channel, Community, Group, Identity, IdentityName, Member
from qunyun.core import events as ev
from qunyun.core.codec import event_to_dict
from qunyun.core.ids import platform_of
from qunyun.core.timeutil import UTC, zone

from .context import CommunityInfo, GroupInfo, MemberInfo

EVENT_COLUMNS = (
    "community_id", "group_id", "type", "key", "at", "day", "member_id", "identity_id", "actor_id",
    "message_id", "kind", "text", "reply_to", "reply_to_member_id", "mentions", "channel_id", "detail",
    "source_tz", "data",
)
_ROWS_PER_INSERT = 400  # 19 columns × 400 rows stays under SQLite's 32,766 parameters


@dataclass(slots=True)
class StoredEvent:
    """An event that was new to the store, with the ids it was resolved to."""

    event: ev.Event
    id: int
    group: GroupInfo
    member: MemberInfo | None
    channel_code: str | None


@dataclass(slots=True)
class _Account:
    member_id: int
    identity_id: int
    name: str
    name_at: datetime | None
    is_bot: bool
    first_seen: datetime | None = None


def community_info(community: Community) -> CommunityInfo:
    """The plain-data view of a community that handlers receive."""
    return CommunityInfo(
        id=community.pk, slug=community.slug, name=community.name, time_zone=community.time_zone,
        rules_text=community.rules_text, theme=community.theme, dry_run=community.dry_run,
        settings=dict(community.settings or {}),
    )


class EventStore:
    """Stores events of one community; keeps id caches between batches.

    ``group_names`` gives display names for chats seen for the first time (importers know
    them); ``raw`` chooses whether platform payloads are kept in the log.
    """

    def __init__(self, community: Community, *, keep_raw: bool = True) -> None:
        self.community = community
        self.info = community_info(community)
        self.tz = zone(community.time_zone)
        self.keep_raw = keep_raw
        self.group_names: dict[str, str] = {}
        self._groups: dict[str, GroupInfo] = {}
        self._accounts: dict[str, _Account] = {}
        self._channels_by_link: dict[str, tuple[int, str]] | None = None
        self._channels_by_code: dict[str, tuple[int, str]] | None = None
        self._identity_version = community.identity_version
        self._sqlite = connection.vendor == "sqlite"
        if self._sqlite:
            # Django stores SQLite datetimes as naive UTC text; events are already UTC, so
            # formatting directly is the same value at a fraction of the ORM adapter's cost.
            self._dt = lambda moment: moment.replace(tzinfo=None).isoformat(" ")
            self._date = lambda day: day.isoformat()
        else:
            self._dt = self._date = lambda value: value
        json_field = models.JSONField()
        self._json = lambda value: json_field.get_db_prep_value(value, connection)

    def forget(self) -> None:
        """Drop the caches (after a rolled-back transaction they may name rows that are gone)."""
        self._groups.clear()
        self._accounts.clear()
        self._channels_by_link = self._channels_by_code = None

    def _check_identity_version(self) -> None:
        """Drop the account cache if a merge moved identities since it was filled.

        One primary-key read per batch; it keeps a long-running bot from writing a merged
        account's new messages to the member it was merged away from.
        """
        cursor = _cursor()
        try:
            cursor.execute(_sql("SELECT identity_version FROM qunyun_community WHERE id = %s"), [self.community.pk])
            row = cursor.fetchone()
        finally:
            cursor.close()
        version = row[0] if row else None
        if version is not None and version != self._identity_version:
            self._accounts.clear()
            self._identity_version = version

    # ----------------------------------------------------------------- resolution

    def group(self, chat: str) -> GroupInfo:
        """The group for a chat id, created on first sight."""
        info = self._groups.get(chat)
        if info is None:
            group, _ = Group.objects.get_or_create(
                community=self.community, chat_id=chat,
                defaults={"platform": platform_of(chat), "name": self.group_names.get(chat) or chat},
            )
            info = GroupInfo(id=group.pk, chat_id=chat, name=group.name, size_cap=group.size_cap,
                             settings=dict(group.settings or {}))
            self._groups[chat] = info
        return info

    def _load_channels(self) -> None:
        by_link: dict[str, tuple[int, str]] = {}
        by_code: dict[str, tuple[int, str]] = {}
        for pk, code, link in Channel.objects.filter(community=self.community).values_list("pk", "code", "invite_link"):
            by_code[code] = (pk, code)
            if link:
                by_link[link] = (pk, code)
        self._channels_by_link, self._channels_by_code = by_link, by_code

    def channel_for(self, event: ev.MemberJoined) -> tuple[int, str] | None:
        """The acquisition channel a join is attributed to: its code, else its invite link."""
        if self._channels_by_code is None:
            self._load_channels()
        assert self._channels_by_code is not None and self._channels_by_link is not None
        if event.channel and event.channel in self._channels_by_code:
            return self._channels_by_code[event.channel]
        if event.invite_link:
            return self._channels_by_link.get(event.invite_link)
        return None

    def _resolve_accounts(self, events: list[ev.Event]) -> set[str]:
        """Make sure every account in ``events`` has a member; returns the newly created ones."""
        seen: dict[str, tuple[ev.Account, datetime]] = {}
        for event in events:
            for account in _accounts_of(event):
                if account.id not in self._accounts and account.id not in seen:
                    seen[account.id] = (account, event.at)
        if not seen:
            return set()
        missing = list(seen)
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            rows = Identity.objects.filter(community=self.community, account_id__in=chunk).values_list(
                "account_id", "member_id", "pk", "display_name", "name_at", "is_bot", "member__first_seen_at")
            for account_id, member_id, identity_id, name, name_at, is_bot, first_seen in rows:
                self._accounts[account_id] = _Account(member_id, identity_id, name, name_at, is_bot, first_seen)
        new_ids = [a for a in missing if a not in self._accounts]
        if not new_ids:
            return set()
        members = [
            Member(community=self.community, display_name=(seen[a][0].name or a.partition(":")[2])[:255],
                   is_bot=seen[a][0].is_bot, first_seen_at=seen[a][1])
            for a in new_ids
        ]
        Member.objects.bulk_create(members, batch_size=500)
        identities = [
            Identity(community=self.community, member=m, account_id=a, platform=platform_of(a),
                     display_name=(seen[a][0].name or "")[:255], is_bot=seen[a][0].is_bot,
                     name_at=seen[a][1] if seen[a][0].name else None)
            for a, m in zip(new_ids, members)
        ]
        Identity.objects.bulk_create(identities, batch_size=500)
        IdentityName.objects.bulk_create(
            [IdentityName(identity=i, name=i.display_name, first_seen_at=i.name_at)
             for i in identities if i.display_name],
            batch_size=500, ignore_conflicts=True,
        )
        for a, m, i in zip(new_ids, members, identities):
            self._accounts[a] = _Account(m.pk, i.pk, i.display_name, i.name_at, i.is_bot, m.first_seen_at)
        return set(new_ids)

    def _track_names(self, events: list[ev.Event]) -> None:
        """Record display names over time; the newest name (by event time) is the current one."""
        changed: dict[str, tuple[str, datetime]] = {}
        names: list[IdentityName] = []
        for event in events:
            for account in _accounts_of(event):
                if not account.name:
                    continue
                known = self._accounts[account.id]
                if account.name == known.name:
                    continue
                names.append(IdentityName(identity_id=known.identity_id, name=account.name[:255],
                                          first_seen_at=event.at))
                if known.name_at is None or event.at >= known.name_at:
                    known.name, known.name_at = account.name[:255], event.at
                    changed[account.id] = (known.name, event.at)
        if names:
            IdentityName.objects.bulk_create(names, ignore_conflicts=True, batch_size=500)
        for account_id, (name, at) in changed.items():
            known = self._accounts[account_id]
            Identity.objects.filter(pk=known.identity_id).update(display_name=name, name_at=at)
            Member.objects.filter(pk=known.member_id).update(display_name=name)

    def _reply_authors(self, events: list[ev.Event], group_of: dict[str, GroupInfo]) -> dict[tuple[int, str], int]:
        """Author member ids of the messages that ``events`` reply to (batch first, then the log)."""
        authors: dict[tuple[int, str], int] = {}
        wanted: dict[int, set[str]] = defaultdict(set)
        for event in events:
            if isinstance(event, ev.MessagePosted):
                gid = group_of[event.chat].id
                authors[(gid, event.event_id)] = self._accounts[event.author.id].member_id
        for event in events:
            if isinstance(event, ev.MessagePosted) and event.reply_to:
                gid = group_of[event.chat].id
                if (gid, event.reply_to) not in authors:
                    wanted[gid].add(event.reply_to)
        if not wanted:
            return authors
        cursor = _cursor()
        try:
            for gid, ids in wanted.items():
                id_list = list(ids)
                for start in range(0, len(id_list), 500):
                    chunk = id_list[start:start + 500]
                    marks = ",".join(["%s"] * len(chunk))
                    cursor.execute(_sql(
                        f"SELECT message_id, member_id FROM qunyun_event WHERE group_id = %s "
                        f"AND type = 'message' AND message_id IN ({marks})"), [gid, *chunk])
                    for message_id, member_id in cursor.fetchall():
                        authors[(gid, message_id)] = member_id
        finally:
            cursor.close()
        return authors

    # ----------------------------------------------------------------- storing

    def store(self, events: list[ev.Event]) -> list[StoredEvent]:
        """Store ``events``; returns those that were not stored before, in time order."""
        unique: dict[str, ev.Event] = {}
        for event in events:
            unique.setdefault(event.key, event)
        batch = sorted(unique.values(), key=lambda e: e.at)
        if not batch:
            return []
        group_of = {chat: self.group(chat) for chat in {e.chat for e in batch}}
        self._check_identity_version()
        new_accounts = self._resolve_accounts(batch)
        self._track_names(batch)
        reply_authors = self._reply_authors(batch, group_of)
        accounts = self._accounts
        cid = self.community.pk
        tz = self.tz
        dt, date_, js = self._dt, self._date, self._json

        rows: list[tuple[Any, ...]] = []
        meta: list[tuple[ev.Event, GroupInfo, int | None, tuple[int, str] | None, Any, int | None]] = []
        for event in batch:
            group = group_of[event.chat]
            subject = event.subject
            if subject is not None:
                known = accounts[subject.id]
                member_id, identity_id = known.member_id, known.identity_id
            else:
                member_id = identity_id = None
            local = event.at.astimezone(tz)
            message_id = kind = text = reply_to = detail = ""
            actor_id = None
            reply_member = None
            mentions = None
            channel = None
            data: dict[str, Any] | None = None
            etype = event.type
            if etype == "message":
                message_id, kind, text = event.event_id, event.kind.value, event.text
                if event.reply_to:
                    reply_to = event.reply_to
                    reply_member = reply_authors.get((group.id, event.reply_to))
                if event.mentions:
                    mentions = [accounts[a].member_id for a in event.mentions if a in accounts]
                    extra = [a for a in event.mentions if a not in accounts]
                    if extra:
                        data = {"mentions_unresolved": extra}
                if event.thread or event.forwarded or event.edited_at:
                    data = dict(data or {})
                    if event.thread:
                        data["thread"] = event.thread
                    if event.forwarded:
                        data["forwarded"] = True
                    if event.edited_at:
                        data["edited_at"] = event.edited_at.astimezone(UTC).isoformat()
            elif etype == "join":
                channel = self.channel_for(event)
                detail = event.via.value
                if event.inviter is not None:
                    actor_id = accounts[event.inviter.id].member_id
                if event.invite_link:
                    data = {"invite_link": event.invite_link}
            elif etype == "leave":
                detail = event.reason.value
                if event.by is not None:
                    actor_id = accounts[event.by.id].member_id
            elif etype in ("reaction", "unreaction"):
                message_id, detail = event.message_id, event.emoji[:64]
            elif etype in ("edit", "delete"):
                message_id = event.message_id
                if etype == "edit":
                    text = event.text
            elif etype == "rename":
                detail = ""
                data = {"old_name": event.old_name, "new_name": event.member.name}
            elif etype == "payment":
                data = {"amount": event.amount, "currency": event.currency, "reference": event.reference}
            if self.keep_raw and event.raw is not None:
                data = dict(data or {})
                data["raw"] = event.raw
            rows.append((
                cid, group.id, etype, event.key, dt(event.at), date_(local.date()), member_id, identity_id, actor_id,
                message_id, kind, text, reply_to, reply_member,
                js(mentions) if mentions else None, channel[0] if channel else None, detail,
                event.source_tz or "", js(data) if data is not None else None,
            ))
            meta.append((event, group, member_id, channel, local, reply_member))

        inserted = self._insert(rows)
        stored: list[StoredEvent] = []
        fresh: list[tuple[ev.Event, GroupInfo, int | None, tuple[int, str] | None, Any, int | None]] = []
        for item, row in zip(meta, rows):
            event_id = inserted.get(row[3])
            if event_id is None:
                continue
            event, group, member_id, channel, _local, _reply = item
            fresh.append(item)
            member = None
            subject = event.subject
            if subject is not None and member_id is not None:
                acc = accounts[subject.id]
                member = MemberInfo(id=member_id, display_name=acc.name, is_bot=acc.is_bot,
                                    is_new=subject.id in new_accounts)
            stored.append(StoredEvent(event=event, id=event_id, group=group, member=member,
                                      channel_code=channel[1] if channel else None))
        if fresh:
            self._apply_memberships(fresh)
            self._apply_rollups(fresh)
            rollups_apply(store=self, fresh=fresh)  # analytics-owned rollups (qunyun.analytics.rollups)
        return stored

    def _insert(self, rows: list[tuple[Any, ...]]) -> dict[str, int]:
        """Insert event rows, skipping keys already stored; returns ``{key: id}`` of new rows."""
        columns = ", ".join(EVENT_COLUMNS)
        one = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
        inserted: dict[str, int] = {}
        cursor = _cursor()
        try:
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                chunk = rows[start:start + _ROWS_PER_INSERT]
                params = [value for row in chunk for value in row]
                cursor.execute(
                    _sql(f"INSERT INTO qunyun_event ({columns}) VALUES {', '.join([one] * len(chunk))} "
                         "ON CONFLICT DO NOTHING RETURNING id, key"),
                    params,
                )
                for event_id, key in cursor.fetchall():
                    inserted[key] = event_id
        finally:
            cursor.close()
        return inserted

    def _apply_memberships(self, fresh) -> None:
        """Bring memberships up to date: the latest event (by time) decides who is in a group.

        The batch is folded to one row per (group, member) first — a busy member posts many
        times a batch, but only the latest state, the earliest sighting and the latest join
        and leave matter — and the upsert keeps whatever is newer between that row and the
        stored one, so batches may arrive in any order.
        """
        dt = self._dt
        folded: dict[tuple[int, int], list[Any]] = {}
        earliest: dict[int, datetime] = {}
        channels: set[tuple[int, int]] = set()
        for event, group, member_id, channel, _local, _reply in fresh:
            etype = event.type
            if member_id is None or etype not in ("message", "join", "leave", "reaction"):
                continue
            if member_id not in earliest:
                earliest[member_id] = event.at  # fresh is in time order
            row = folded.get((group.id, member_id))
            if row is None:
                # is_member, joined_at, left_at, first_seen_at, join_method, leave_reason,
                # channel_id, inviter_id, state_at
                row = folded[(group.id, member_id)] = [True, None, None, event.at, "", "", None, None, event.at]
            row[0], row[8] = etype != "leave", event.at
            if etype == "join":
                row[1], row[4] = event.at, event.via.value
                if channel and row[6] is None:
                    row[6] = channel[0]
                    channels.add((member_id, channel[0]))
                if event.inviter is not None and row[7] is None:
                    row[7] = self._accounts[event.inviter.id].member_id
            elif etype == "leave":
                row[2], row[5] = event.at, event.reason.value
        if not folded:
            return
        newer = "excluded.state_at >= qunyun_membership.state_at OR qunyun_membership.state_at IS NULL"
        sql = _sql(
            "INSERT INTO qunyun_membership (group_id, member_id, is_member, joined_at, left_at, "
            "first_seen_at, join_method, leave_reason, channel_id, inviter_id, state_at, role) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'member') "
            "ON CONFLICT (group_id, member_id) DO UPDATE SET "
            f"is_member = CASE WHEN {newer} THEN excluded.is_member ELSE qunyun_membership.is_member END, "
            f"state_at = CASE WHEN {newer} THEN excluded.state_at ELSE qunyun_membership.state_at END, "
            "joined_at = CASE WHEN excluded.joined_at IS NOT NULL AND (qunyun_membership.joined_at IS NULL "
            "OR excluded.joined_at > qunyun_membership.joined_at) THEN excluded.joined_at "
            "ELSE qunyun_membership.joined_at END, "
            "left_at = CASE WHEN excluded.left_at IS NOT NULL AND (qunyun_membership.left_at IS NULL "
            "OR excluded.left_at > qunyun_membership.left_at) THEN excluded.left_at ELSE qunyun_membership.left_at END, "
            "first_seen_at = CASE WHEN qunyun_membership.first_seen_at IS NULL OR excluded.first_seen_at < "
            "qunyun_membership.first_seen_at THEN excluded.first_seen_at ELSE qunyun_membership.first_seen_at END, "
            "join_method = CASE WHEN excluded.join_method <> '' AND "
            "(excluded.joined_at >= qunyun_membership.joined_at OR qunyun_membership.joined_at IS NULL) "
            "THEN excluded.join_method ELSE qunyun_membership.join_method END, "
            "leave_reason = CASE WHEN excluded.leave_reason <> '' AND "
            "(excluded.left_at >= qunyun_membership.left_at OR qunyun_membership.left_at IS NULL) "
            "THEN excluded.leave_reason ELSE qunyun_membership.leave_reason END, "
            "channel_id = COALESCE(qunyun_membership.channel_id, excluded.channel_id), "
            "inviter_id = COALESCE(qunyun_membership.inviter_id, excluded.inviter_id)"
        )
        params = [
            (g, m, r[0], dt(r[1]) if r[1] else None, dt(r[2]) if r[2] else None, dt(r[3]), r[4], r[5], r[6], r[7],
             dt(r[8]))
            for (g, m), r in folded.items()
        ]
        earlier = []
        for account in self._accounts.values():
            at = earliest.get(account.member_id)
            if at is not None and (account.first_seen is None or at < account.first_seen):
                account.first_seen = at
                earlier.append((dt(at), account.member_id, dt(at)))
        cursor = _cursor()
        try:
            cursor.executemany(sql, params)
            if earlier:
                cursor.executemany(_sql(
                    "UPDATE qunyun_member SET first_seen_at = %s WHERE id = %s AND "
                    "(first_seen_at IS NULL OR first_seen_at > %s)"), earlier)
            if channels:
                cursor.executemany(
                    _sql("UPDATE qunyun_member SET channel_id = %s WHERE id = %s AND channel_id IS NULL"),
                    [(ch, mid) for mid, ch in channels],
                )
        finally:
            cursor.close()

    def _apply_rollups(self, fresh) -> None:
        """Add the new events to the per-member-day, per-group-day and per-group-hour rollups.

        Bots' events are left out: bots are not members. System messages are not counted as
        messages. ``active_members`` of a group-day is recounted from the member-days touched.
        """
        accounts_bot = {a.member_id for a in self._accounts.values() if a.is_bot}
        member_days: dict[tuple[int, int, Any], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        group_days: dict[tuple[int, Any], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        group_hours: dict[tuple[int, Any, int], int] = defaultdict(int)
        for event, group, member_id, _channel, local, reply_member in fresh:
            etype = event.type
            if member_id is None or member_id in accounts_bot:
                continue
            day = local.date()
            if etype == "message":
                if event.kind is ev.MessageKind.SYSTEM:
                    continue
                md = member_days[(group.id, member_id, day)]
                md[0] += 1
                if reply_member is not None and reply_member != member_id:
                    md[2] += 1
                if event.mentions:
                    md[3] += len(event.mentions)
                group_days[(group.id, day)][0] += 1
                group_hours[(group.id, day, local.hour)] += 1
            elif etype == "reaction":
                member_days[(group.id, member_id, day)][1] += 1
                group_days[(group.id, day)][1] += 1
            elif etype == "join":
                group_days[(group.id, day)][2] += 1
            elif etype == "leave":
                group_days[(group.id, day)][3] += 1
        if not group_days:
            return
        cid = self.community.pk
        d = self._date
        cursor = _cursor()
        try:
            if member_days:
                cursor.executemany(_sql(
                    "INSERT INTO qunyun_member_day (community_id, group_id, member_id, day, messages, "
                    "reactions, replies, mentions) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (group_id, member_id, day) DO UPDATE SET "
                    "messages = qunyun_member_day.messages + excluded.messages, "
                    "reactions = qunyun_member_day.reactions + excluded.reactions, "
                    "replies = qunyun_member_day.replies + excluded.replies, "
                    "mentions = qunyun_member_day.mentions + excluded.mentions"),
                    [(cid, g, m, d(day), *v) for (g, m, day), v in member_days.items()],
                )
            cursor.executemany(_sql(
                "INSERT INTO qunyun_group_day (community_id, group_id, day, messages, reactions, joins, "
                "leaves, active_members) VALUES (%s, %s, %s, %s, %s, %s, %s, 0) "
                "ON CONFLICT (group_id, day) DO UPDATE SET "
                "messages = qunyun_group_day.messages + excluded.messages, "
                "reactions = qunyun_group_day.reactions + excluded.reactions, "
                "joins = qunyun_group_day.joins + excluded.joins, "
                "leaves = qunyun_group_day.leaves + excluded.leaves"),
                [(cid, g, d(day), *v) for (g, day), v in group_days.items()],
            )
            touched = {(g, day) for (g, _m, day) in member_days}
            if touched:
                cursor.executemany(_sql(
                    "UPDATE qunyun_group_day SET active_members = (SELECT COUNT(*) FROM qunyun_member_day md "
                    "WHERE md.group_id = %s AND md.day = %s) WHERE group_id = %s AND day = %s"),
                    [(g, d(day), g, d(day)) for g, day in touched],
                )
            if group_hours:
                cursor.executemany(_sql(
                    "INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (group_id, day, hour) DO UPDATE SET "
                    "messages = qunyun_group_hour.messages + excluded.messages"),
                    [(cid, g, d(day), hour, n) for (g, day, hour), n in group_hours.items()],
                )
        finally:
            cursor.close()


def _cursor():
    """A DB-API cursor of Django's connection, bypassing the wrapper's per-query overhead.

    The statements on this path are written with ``%s`` placeholders; :func:`_sql` turns them
    into SQLite's ``?`` once, instead of Django doing it on every call.
    """
    connection.ensure_connection()
    return connection.connection.cursor()


_SQL_CACHE: dict[str, str] = {}


def _sql(statement: str) -> str:
    if connection.vendor != "sqlite":
        return statement
    converted = _SQL_CACHE.get(statement)
    if converted is None:
        converted = _SQL_CACHE[statement] = statement.replace("%s", "?")
    return converted


def _accounts_of(event: ev.Event):
    """Every account an event names (subject, inviter, remover, deleter)."""
    subject = event.subject
    if subject is not None:
        yield subject
    if isinstance(event, ev.MemberJoined) and event.inviter is not None:
        yield event.inviter
    elif isinstance(event, ev.MemberLeft) and event.by is not None:
        yield event.by


def dumps_event(event: ev.Event) -> str:
    """Compact JSON of an event (for logs and exports)."""
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))

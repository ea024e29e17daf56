"""The batch store: appends normalized events to the event log, idempotently and fast.

One :class:`EventStore` serves one community. It resolves chats to groups and accounts to
members (creating them on first sight), inserts a batch of events skipping those already
stored (``ON CONFLICT DO NOTHING`` on the idempotency key) and learns which rows are new,
then, for the new events only, updates memberships and names, and has every rollup increased
from the new rows by set-based SQL (:mod:`qunyun.analytics.incremental`). It must be called inside
a transaction; the caller (the :mod:`runtime <qunyun.bus.runtime>`) owns it.

Raw SQL is used on purpose on this path: it is the hottest loop in the product (imports of
millions of messages) and the ORM's per-object overhead would dominate. The SQL runs
unchanged on SQLite (3.35+) and PostgreSQL except for the insert, which each engine does its
fastest way (see :meth:`EventStore._insert`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models

from qunyun.analytics.incremental import NewEvents, batch_prepare, rollups_apply, store_rollups_apply
from qunyun.communities.models import Channel, Community, Group, Identity, IdentityName, Member
from qunyun.core import events as ev
from qunyun.core.collector import collector_paused
from qunyun.core.codec import event_to_dict
from qunyun.core.ids import platform_of
from qunyun.core.timeutil import zone

from .context import CommunityInfo, GroupInfo, MemberInfo
from .dbapi import raw_cursor, raw_sql
from .memberships import MembershipFold, memberships_apply
from .rows import EVENT_COLUMNS, event_rows, rows_encodable, rows_without_nul, sqlite_datetime

__all__ = ["EVENT_COLUMNS", "EventStore", "StoredEvent", "community_info", "dumps_event"]

_ROWS_PER_INSERT = 1000  # PostgreSQL's multi-row insert: 19 columns × 1,000 rows stays under 65,535 parameters
#: PostgreSQL: batches of at least this many rows go through COPY into a work table, then one
#: INSERT … SELECT (a live batch of a few events keeps the single INSERT: one round trip).
_COPY_FROM = 500
_MESSAGE = ev.MessagePosted


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
        #: Off during a bulk load (:mod:`.bulk`): the rollups are rebuilt once at its end.
        self.rollups = True
        #: During a bulk load (:mod:`.bulk`): the memberships of every batch are folded here and
        #: written once at its end, instead of upserted batch by batch.
        self.membership_fold: MembershipFold | None = None
        #: The live writer's (:mod:`.deferred`): a batch's rollups are not applied here but kept in
        #: :attr:`deferred` as ``(NewEvents, new ids)`` for the caller (it queues them, or applies them
        #: with the others waiting).
        self.defer_rollups = False
        self.deferred: list[tuple[NewEvents, Any]] = []
        #: On for an import, whose caller only counts what was stored (no handlers run): the
        #: results then carry the event alone (building a StoredEvent and a MemberInfo per event
        #: cost ~2 µs, a tenth of the store's own Python in a bulk load).
        self.lean = False
        self.group_names: dict[str, str] = {}
        self._groups: dict[str, GroupInfo] = {}
        self._accounts: dict[str, _Account] = {}
        self._bots: set[int] | None = None  # bot members of the community (Member.is_bot)
        self._channels_by_link: dict[str, tuple[int, str]] | None = None
        self._channels_by_code: dict[str, tuple[int, str]] | None = None
        self._identity_version = community.identity_version
        self._sqlite = connection.vendor == "sqlite"
        if self._sqlite:
            # Django stores SQLite datetimes as naive UTC text; events are already UTC, so
            # formatting directly is the same value at a fraction of the ORM adapter's cost.
            self._dt = sqlite_datetime
            self._date = lambda day: day.isoformat()
            # What Django's JSONField writes on SQLite (json.dumps with its defaults), without its
            # layers of calls: ~8 µs a value otherwise, and a tenth of the events carry one.
            self._json = json.dumps
        else:
            self._dt = self._date = lambda value: value
            json_field = models.JSONField()
            self._json = lambda value: json_field.get_db_prep_value(value, connection)

    def forget(self) -> None:
        """Drop the caches (after a rolled-back transaction they may name rows that are gone)."""
        self._groups.clear()
        self._accounts.clear()
        self._bots = None
        self._channels_by_link = self._channels_by_code = None

    def _check_identity_version(self) -> None:
        """Drop the account cache if a merge moved identities since it was filled.

        One primary-key read per batch; it keeps a long-running bot from writing a merged
        account's new messages to the member it was merged away from.
        """
        cursor = raw_cursor()
        try:
            cursor.execute(raw_sql("SELECT identity_version FROM qunyun_community WHERE id = %s"), [self.community.pk])
            row = cursor.fetchone()
        finally:
            cursor.close()
        version = row[0] if row else None
        if version is not None and version != self._identity_version:
            self._accounts.clear()
            self._bots = None
            self._identity_version = version

    def _bot_members(self) -> set[int]:
        """The community's bot members, read once per store (members this store creates are added)."""
        if self._bots is None:
            self._bots = set(Member.objects.filter(community=self.community, is_bot=True).values_list("pk", flat=True))
        return self._bots

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

    def _scan(self, batch: list[ev.Event]) -> _Scan:
        """One pass over a batch for what must be looked up before its rows are built.

        The chats; the accounts the store does not know yet (with the first event naming them);
        the ``(account, time)`` sightings whose name may change what is recorded (an account's
        sightings from its first differing name on: later ones may change it back); the ids of
        the messages each chat's replies answer, and those of them not posted earlier in the batch
        (to be looked up in the log). Messages, nearly every event of a history, cost a few
        lookups here.
        """
        known = self._accounts
        chats: set[str] = set()
        seen: dict[str, tuple[ev.Account, datetime]] = {}
        named: list[tuple[ev.Account, datetime]] = []
        flagged: set[str] = set()  # accounts with a sighting in ``named``: every later one goes there too
        replied: dict[str, set[str]] = {}
        asked: dict[str, set[str]] = {}
        posted: dict[str, set[str]] = {}
        chat = None
        for event in batch:
            if event.chat is not chat:
                chat = event.chat
                chats.add(chat)
                wanted = replied.setdefault(chat, set())
                outside = asked.setdefault(chat, set())
                ids = posted.setdefault(chat, set())
            if type(event) is _MESSAGE:
                account = event.author
                ids.add(event.event_id)
                reply_to = event.reply_to
                if reply_to:
                    wanted.add(reply_to)
                    if reply_to not in ids:
                        outside.add(reply_to)
                aid = account.id
                acc = known.get(aid)
                if acc is None or aid in flagged or (account.name and account.name != acc.name):
                    _sighted(account, event.at, known, seen, named, flagged)
                continue
            subject = event.subject
            if subject is not None:
                _sighted(subject, event.at, known, seen, named, flagged)
            for account in _other_accounts(event):
                _sighted(account, event.at, known, seen, named, flagged)
        return _Scan(chats, seen, named, {c: ids for c, ids in replied.items() if ids},
                     {c: ids for c, ids in asked.items() if ids})

    def _resolve_accounts(self, seen: dict[str, tuple[ev.Account, datetime]]) -> set[str]:
        """Make sure every account of ``seen`` (id → the account and when it was first seen in the
        batch) has a member; returns the newly created ones."""
        known = self._accounts
        if not seen:
            return set()
        missing = list(seen)
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            rows = Identity.objects.filter(community=self.community, account_id__in=chunk).values_list(
                "account_id", "member_id", "pk", "display_name", "name_at", "is_bot", "member__first_seen_at")
            for account_id, member_id, identity_id, name, name_at, is_bot, first_seen in rows:
                known[account_id] = _Account(member_id, identity_id, name, name_at, is_bot, first_seen)
        new_ids = [a for a in missing if a not in known]
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
        bots = self._bot_members()
        for a, m, i in zip(new_ids, members, identities):
            known[a] = _Account(m.pk, i.pk, i.display_name, i.name_at, i.is_bot, m.first_seen_at)
            if m.is_bot:
                bots.add(m.pk)
        return set(new_ids)

    def _track_names(self, sightings: list[tuple[ev.Account, datetime]]) -> None:
        """Record display names over time; the newest name (by event time) is the current one.

        ``sightings`` are the batch's ``(account, time)`` pairs that may bring a name (see
        :meth:`_scan`), in time order.
        """
        changed: dict[str, tuple[str, datetime]] = {}
        names: list[IdentityName] = []
        accounts = self._accounts
        for account, at in sightings:
            if account.name and account.name != accounts[account.id].name:
                self._name_seen(account, at, names, changed)
        if names:
            IdentityName.objects.bulk_create(names, ignore_conflicts=True, batch_size=500)
        for account_id, (name, at) in changed.items():
            known = accounts[account_id]
            Identity.objects.filter(pk=known.identity_id).update(display_name=name, name_at=at)
            Member.objects.filter(pk=known.member_id).update(display_name=name)

    def _name_seen(self, account: ev.Account, at: datetime, names: list, changed: dict) -> None:
        known = self._accounts[account.id]
        names.append(IdentityName(identity_id=known.identity_id, name=account.name[:255], first_seen_at=at))
        if known.name_at is None or at >= known.name_at:
            known.name, known.name_at = account.name[:255], at
            changed[account.id] = (known.name, at)

    def _reply_authors(self, asked: dict[str, set[str]],
                       group_of: dict[str, GroupInfo]) -> dict[tuple[int, str], int]:
        """Author member ids of stored messages that the batch's replies answer.

        ``asked`` maps each chat to the message ids its replies name that the batch did not post
        before them; the batch's own are filled in while its rows are built (:func:`.rows.event_rows`).
        """
        authors: dict[tuple[int, str], int] = {}
        wanted = {group_of[chat].id: ids for chat, ids in asked.items()}
        if not wanted:
            return authors
        cursor = raw_cursor()
        try:
            for gid, ids in wanted.items():
                id_list = list(ids)
                for start in range(0, len(id_list), 500):
                    chunk = id_list[start:start + 500]
                    marks = ",".join(["%s"] * len(chunk))
                    cursor.execute(raw_sql(
                        f"SELECT message_id, member_id FROM qunyun_event WHERE group_id = %s "
                        f"AND type = 'message' AND message_id IN ({marks})"), [gid, *chunk])
                    for message_id, member_id in cursor.fetchall():
                        authors[(gid, message_id)] = member_id
        finally:
            cursor.close()
        return authors

    # ----------------------------------------------------------------- storing

    def store(self, events: list[ev.Event]) -> list[StoredEvent]:
        """Store ``events``; returns those that were not stored before, in time order.

        The cyclic garbage collector is paused meanwhile: a batch allocates tens of thousands
        of short-lived tuples that reference counting frees, and each collection it would
        trigger walks every object of the process (a sixth of an import's time otherwise).
        Nothing here makes reference cycles.
        """
        with collector_paused():
            return self._store(events)

    def _store(self, events: list[ev.Event]) -> list[StoredEvent]:
        unique: dict[str, ev.Event] = {}
        add = unique.setdefault
        for event in events:
            add(event.key, event)
        if not unique:
            return []
        # Importers deliver history nearly in time order (a Telegram reaction carries its own,
        # later time): the sort is then a short pass. Positions are sorted, by a C-level key.
        given = list(unique.values())
        made = list(unique)
        ats = [event.at for event in given]
        order = sorted(range(len(ats)), key=ats.__getitem__)
        batch = [given[i] for i in order]
        keys = [made[i] for i in order]
        self._check_identity_version()  # (first: it may empty the account cache the scan reads)
        scan = self._scan(batch)
        group_of = {chat: self.group(chat) for chat in scan.chats}
        new_accounts = self._resolve_accounts(scan.unknown)
        self._track_names(scan.named)
        reply_authors = self._reply_authors(scan.asked, group_of)
        rows, meta = self._rows(batch, keys, group_of, reply_authors, scan.replied)
        ids, where, params = self._insert(rows)
        if ids is None:
            return []
        if isinstance(ids, range):  # all new
            fresh = meta
            fresh_ids: Any = ids
        else:
            fresh = [item for item, event_id in zip(meta, ids) if event_id is not None]
            fresh_ids = [event_id for event_id in ids if event_id is not None]
        if self.membership_fold is not None:
            self.membership_fold.add(fresh, self._accounts)
            return self._stored(fresh, fresh_ids, new_accounts)
        touched, movers, roster_groups = self._apply_memberships(fresh)
        if not self.rollups:
            return self._stored(fresh, fresh_ids, new_accounts)
        new = NewEvents(
            community_id=self.community.pk, time_zone=self.community.time_zone, where=where, params=params,
            first_at=fresh[0][0].at, last_at=fresh[-1][0].at, bots=frozenset(self._bot_members()),
            sparse=any(item[4] for item in fresh), touched=touched, movers=movers, roster_groups=roster_groups,
        )
        if self.defer_rollups:
            self.deferred.append((new, fresh_ids))
            return self._stored(fresh, fresh_ids, new_accounts)
        batch_prepare(new)
        self._apply_rollups(new)
        rollups_apply(store=self, fresh=new)  # analytics-owned rollups (qunyun.analytics.incremental)
        return self._stored(fresh, fresh_ids, new_accounts)

    def _rows(self, batch: list[ev.Event], keys: list[str], group_of: dict[str, GroupInfo],
              reply_authors: dict[tuple[int, str], int], replied: dict[str, set[str]]) -> tuple[list[tuple], list[tuple]]:
        """The event-table rows of a batch (see :func:`.rows.event_rows`)."""
        return event_rows(self, batch, keys, group_of, reply_authors, replied)

    def _insert(self, rows: list[tuple[Any, ...]]) -> tuple[Any, str, list[Any]]:
        """Insert event rows, skipping keys already stored.

        Returns the new rows' ids aligned with ``rows`` (``None`` where the key was stored
        before; ``None`` instead of the list when nothing was new), and an SQL condition on
        ``e`` that selects exactly the new rows, with its parameters. When every row was new
        the ids come as a ``range``.

        SQLite: one prepared ``executemany`` (no ``RETURNING``: reading back every row costs
        more than the insert's own statement). SQLite has one writer at a time and the
        transaction holds the write lock, so the rows with an id above the largest id before
        the insert are exactly this batch's new rows; when all rows were new they have
        consecutive ids (AUTOINCREMENT), otherwise they are read back by that id range.
        PostgreSQL: multi-row ``INSERT … RETURNING`` (sequences interleave across concurrent
        transactions, so the new rows are named by their ids).
        """
        columns = ", ".join(EVENT_COLUMNS)
        cursor = raw_cursor()
        try:
            if self._sqlite:
                raw = connection.connection
                cursor.execute("SELECT MAX(id) FROM qunyun_event")
                before = cursor.fetchone()[0] or 0
                changes = raw.total_changes
                statement = (f"INSERT INTO qunyun_event ({columns}) VALUES ({', '.join(['?'] * len(EVENT_COLUMNS))}) "
                             "ON CONFLICT DO NOTHING")
                try:
                    cursor.executemany(statement, rows)
                except UnicodeEncodeError:
                    # Again, cleaned: the rows before the bad one are in and now skip as stored
                    # (same transaction, ids still in row order).
                    rows = rows_encodable(rows)
                    cursor.executemany(statement, rows)
                added = raw.total_changes - changes
                if not added:
                    return None, "", []
                if added == len(rows):
                    cursor.execute("SELECT MAX(id) FROM qunyun_event")
                    last = cursor.fetchone()[0]
                    return range(last - added + 1, last + 1), "e.id > %s", [before]
                cursor.execute("SELECT key, id FROM qunyun_event WHERE id > ?", [before])
                inserted = dict(cursor.fetchall())
                return [inserted.get(row[3]) for row in rows], "e.id > %s", [before]
            one = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
            inserted = {}
            rows = rows_without_nul(rows)  # (a live message may carry them; PostgreSQL refuses them)
            if len(rows) >= _COPY_FROM:
                inserted = _copy_insert(cursor, rows, columns)
                rows_left: list = []
            else:
                rows_left = rows
            for start in range(0, len(rows_left), _ROWS_PER_INSERT):
                chunk = rows[start:start + _ROWS_PER_INSERT]
                statement = (f"INSERT INTO qunyun_event ({columns}) VALUES {', '.join([one] * len(chunk))} "
                             "ON CONFLICT DO NOTHING RETURNING key, id")
                try:
                    cursor.execute(statement, [value for row in chunk for value in row])
                except UnicodeEncodeError:  # raised while adapting the parameters: nothing was sent
                    cursor.execute(statement, [value for row in rows_encodable(chunk) for value in row])
                inserted.update(cursor.fetchall())
        finally:
            cursor.close()
        if not inserted:
            return None, "", []
        return [inserted.get(row[3]) for row in rows], "e.id = ANY(%s)", [list(inserted.values())]

    def _stored(self, fresh: list[tuple], ids: Any, new_accounts: set[str]) -> list[StoredEvent]:
        """What the runtime hands to handlers: one :class:`StoredEvent` per new event (one MemberInfo per account)."""
        if self.lean:
            return [_Counted(item[0]) for item in fresh]
        infos: dict[str, MemberInfo] = {}
        accounts = self._accounts
        stored = []
        append = stored.append
        for (event, group, member_id, channel, _sparse), event_id in zip(fresh, ids):
            member = None
            subject = event.subject
            if subject is not None and member_id is not None:
                member = infos.get(subject.id)
                if member is None:
                    acc = accounts[subject.id]
                    member = infos[subject.id] = MemberInfo(id=member_id, display_name=acc.name, is_bot=acc.is_bot,
                                                            is_new=subject.id in new_accounts)
            append(StoredEvent(event=event, id=event_id, group=group, member=member,
                               channel_code=channel[1] if channel else None))
        return stored

    def _apply_memberships(self, fresh: list[tuple]) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
        """Bring memberships up to date (see :func:`.memberships.memberships_apply`)."""
        return memberships_apply(fresh=fresh, accounts=self._accounts, bots=self._bot_members(), dt=self._dt)

    def _apply_rollups(self, fresh: NewEvents) -> None:
        """The store's own rollups (member-day, group-day, group-hour), from the batch's new rows in SQL."""
        store_rollups_apply(fresh)


def _copy_insert(cursor, rows: list[tuple], columns: str) -> dict[str, int]:
    """PostgreSQL: ``rows`` copied into this session's work table and inserted from there,
    skipping stored keys; ``{key: id}`` of the new rows.

    COPY sends the rows as one stream instead of binding 19 parameters per row into statements
    of 1,000 rows. The work table (a temporary table, this connection's own) is emptied after
    each use. A text the driver cannot encode (a lone UTF-16 surrogate) fails the COPY: it is
    rolled back to a savepoint and done again with the text cleaned, as the INSERT path does.
    """
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS qunyun_event_in AS SELECT {columns} FROM qunyun_event WITH NO DATA")
    cursor.execute("SAVEPOINT qunyun_event_copy")
    try:
        _copy_rows(cursor, rows, columns)
    except UnicodeEncodeError:
        cursor.execute("ROLLBACK TO SAVEPOINT qunyun_event_copy")
        _copy_rows(cursor, rows_encodable(rows), columns)
    cursor.execute("RELEASE SAVEPOINT qunyun_event_copy")
    cursor.execute(f"INSERT INTO qunyun_event ({columns}) SELECT {columns} FROM qunyun_event_in "
                   "ON CONFLICT DO NOTHING RETURNING key, id")
    inserted = dict(cursor.fetchall())
    cursor.execute("TRUNCATE qunyun_event_in")
    return inserted


def _copy_rows(cursor, rows: list[tuple], columns: str) -> None:
    with cursor.copy(f"COPY qunyun_event_in ({columns}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write(row)


class _Counted:
    """A stored event as a lean store returns it: the event only (the caller counts them by type)."""

    __slots__ = ("event",)

    def __init__(self, event: ev.Event) -> None:
        self.event = event


@dataclass(slots=True)
class _Scan:
    """What :meth:`EventStore._scan` found in a batch."""

    chats: set[str]
    unknown: dict[str, tuple[ev.Account, datetime]]
    named: list[tuple[ev.Account, datetime]]
    replied: dict[str, set[str]]
    asked: dict[str, set[str]]


def _sighted(account: ev.Account, at: datetime, known: dict, unknown: dict, named: list, flagged: set) -> None:
    """Note a sighting of ``account`` that :meth:`EventStore._scan` keeps (see there)."""
    aid = account.id
    if aid not in known and aid not in unknown:
        unknown[aid] = (account, at)
    if aid in flagged or (account.name and (aid not in known or account.name != known[aid].name)):
        flagged.add(aid)
        named.append((account, at))


def _other_accounts(event: ev.Event):
    """The accounts an event names besides its subject (inviter, remover)."""
    if isinstance(event, ev.MemberJoined) and event.inviter is not None:
        yield event.inviter
    elif isinstance(event, ev.MemberLeft) and event.by is not None:
        yield event.by


def dumps_event(event: ev.Event) -> str:
    """Compact JSON of an event (for logs and exports)."""
    return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))

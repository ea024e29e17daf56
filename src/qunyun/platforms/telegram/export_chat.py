"""One chat of a Telegram Desktop export: its messages as normalized events.

Ids are those of the Bot API (see :func:`chat_id`, :func:`account_id`), so that imported history
and the live bot's events land on the same group and members. The quirks handled are listed
in :mod:`.importer` and docs/import.md.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import msgspec

from qunyun.core import events as ev
from qunyun.core.timeutil import UTC

from ..importing import ImportContext, NameBook
from .exported import PLATFORM, ExportedMessage, flatten_text, message_kind
from .exported import UNSET as _UNSET

_GROUP_TYPES = {"private_group", "private_supergroup", "public_supergroup"}
_CHANNEL_TYPES = {"private_channel", "public_channel"}
_JOIN_ACTIONS = {"create_group", "create_channel", "invite_members", "join_group_by_link",
                 "join_group_by_request"}


def chat_id(raw_id: Any, chat_type: str | None) -> str:
    """The qualified Bot API id of an exported chat."""
    local = str(raw_id)
    if chat_type in _GROUP_TYPES - {"private_group"} or chat_type in _CHANNEL_TYPES:
        return f"{PLATFORM}:-100{local}"
    if chat_type == "private_group":
        return f"{PLATFORM}:-{local}"
    return f"{PLATFORM}:{local}"


def account_id(from_id: str) -> str:
    """``user123`` → ``telegram:123``; ``channel123`` → ``telegram:-100123``; ``chat123`` → ``telegram:-123``."""
    if from_id.startswith("user"):
        return PLATFORM + ":" + from_id[4:]
    if from_id.startswith("channel"):
        return PLATFORM + ":-100" + from_id[7:]
    if from_id.startswith("chat"):
        return PLATFORM + ":-" + from_id[4:]
    return PLATFORM + ":" + from_id


def _name_fallback(name: str) -> str:
    # Someone Telegram names only in a service message (added, removed, never posted): the
    # export gives no id, so the name stands in for one. Documented in docs/import.md.
    return f"{PLATFORM}:name:{name}"


_to_message = functools.partial(msgspec.convert, type=ExportedMessage)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TEXT = ev.MessageKind.TEXT  # (an enum member through its class costs a lookup per message)
_SECONDS = [timedelta(seconds=s) for s in range(3600)]  # within an hour: a message's time is hour + one of these
_new_message = ev.MessagePosted.make  # the constructor's keywords, without the class call's cost
_new_reaction = ev.ReactionAdded.make


class ChatState:
    """Converts the messages of one exported chat, remembering names and pending service events."""

    def __init__(self, raw_id: Any, chat_type: str | None, name: str | None, ctx: ImportContext) -> None:
        self.chat = chat_id(raw_id, chat_type)
        self.is_channel = chat_type in _CHANNEL_TYPES
        self.ctx = ctx
        self.report = ctx.report
        self.names = NameBook(fallback=_name_fallback)
        self.keep_raw = ctx.keep_raw
        self._authors: dict[str, tuple[Any, ev.Account]] = {}  # from_id -> (name as exported, account)
        # (from_id, name) -> (account id, its local part, account), for reactors
        self._reactors: dict[tuple[str, str | None], tuple[str, str, ev.Account]] = {}
        self._hour: int | None = None  # the Unix hour of the last message, and when it starts
        self._hour_start = _EPOCH
        ctx.name_chat(self.chat, name)

    def finish(self) -> Iterator[ev.Event]:
        yield from self.names.flush()

    # ---- times

    def _time(self, m: ExportedMessage, location: str) -> tuple[datetime, str | None] | None:
        unix = m.date_unixtime
        if unix is not None:
            try:
                return datetime.fromtimestamp(int(unix), UTC), None
            except (TypeError, ValueError, OverflowError):
                self.report.skip(location, f"'date_unixtime' {unix!r} is not a Unix time")
                return None
        local = m.date
        if isinstance(local, str):
            try:
                return self.ctx.local(datetime.fromisoformat(local)), self.ctx.options.tz
            except ValueError:
                self.report.skip(location, f"'date' {local!r} is not a date and time")
                return None
        self.report.skip(location, "no 'date_unixtime' or 'date'")
        return None

    def _wall_clock(self, m: ExportedMessage, text: Any, default: datetime, offset: Any = _UNSET) -> datetime:
        """A time the export gives only as wall-clock text (reaction dates, old 'edited').

        ``offset`` is the message's :func:`_exporter_offset` when the caller has it already.
        """
        if text.__class__ is not str:
            return default
        try:
            naive = datetime.fromisoformat(text)
        except ValueError:
            return default
        if naive.tzinfo is not None:
            return naive.astimezone(UTC)
        if offset is _UNSET:
            offset = _exporter_offset(m, default)
        if offset is None:
            return self.ctx.local(naive)
        return (naive - offset).replace(tzinfo=UTC)

    # ---- one message

    def convert(self, m: Any, label: str, index: int) -> ev.Event | list[ev.Event] | None:
        """The event(s) of one exported message: one event, a list, or None when left out.

        ``m`` is an :class:`ExportedMessage`, or the message as parsed JSON (a dict, which is
        also what ``--keep-raw`` keeps).
        """
        raw = None
        if m.__class__ is not ExportedMessage:
            if m.__class__ is not dict:
                self.report.skip(_where(label, index), "not a JSON object")
                return None
            if self.keep_raw:
                raw = m
            m = _to_message(m)
        mid = m.id
        if mid.__class__ is not int and (mid is None or isinstance(mid, (dict, list))):
            self.report.skip(_where(label, index), "no message 'id'")
            return None
        kind = m.type
        if kind == "message":
            return self._message(m, str(mid), label, index, raw)
        if kind == "service":
            return list(self._service(m, str(mid), _where(label, index), raw))
        if kind == "unsupported":
            self.report.ignore("messages Telegram Desktop could not export ('unsupported')")
        else:
            self.report.skip(_where(label, index), f"unknown message type {kind!r}")
        return None

    def _message(self, m: ExportedMessage, mid: str, label: str, index: int,
                 raw: dict[str, Any] | None) -> ev.Event | list[ev.Event] | None:
        unix = m.date_unixtime
        source_tz = None
        if unix.__class__ is str:
            try:
                hour, second = divmod(int(unix), 3600)
                if hour != self._hour:  # exports are in time order: the hour seldom changes
                    self._hour_start = _EPOCH + timedelta(hours=hour)
                    self._hour = hour
                at = self._hour_start + _SECONDS[second]  # as datetime.fromtimestamp(…, UTC), for less
            except (ValueError, OverflowError):
                self.report.skip(_where(label, index), f"'date_unixtime' {unix!r} is not a Unix time")
                return None
        else:
            when = self._time(m, _where(label, index))
            if when is None:
                return None
            at, source_tz = when
        from_id = m.from_id
        name = m.from_
        known = self._authors.get(from_id) if from_id.__class__ is str else None
        if known is not None and known[0] == name:  # the usual case: a sender seen before, same name
            author = known[1]
        else:
            author = self._author(from_id, name)
            if author is None:
                self.report.skip(_where(label, index), "no 'from_id' (who sent it)")
                return None
        text = m.text
        if text.__class__ is str:
            mentions: tuple[str, ...] = ()
            links = 0
        else:
            text, mentions, links = flatten_text(text)
        # Plain text unless a media key is present (checked inline: this runs once per message).
        if (links or m.photo is not _UNSET or m.media_type is not _UNSET or m.file is not _UNSET
                or m.poll is not _UNSET or m.location_information is not _UNSET
                or m.contact_information is not _UNSET or m.game_title is not _UNSET
                or m.invoice_information is not _UNSET or m.place_name is not _UNSET
                or m.todo_list is not _UNSET or m.giveaway_information is not _UNSET):
            kind = message_kind(m, links)
        else:
            kind = _TEXT
        reply = m.reply_to_message_id
        forwarded = m.forwarded_from is not _UNSET
        edited_at = None
        if m.edited_unixtime is not _UNSET or m.edited is not _UNSET:
            try:
                edited_at = datetime.fromtimestamp(int(m.edited_unixtime), UTC)
            except (TypeError, ValueError, OverflowError):
                edited_at = self._wall_clock(m, m.edited, at)
        if reply is None and not mentions and not forwarded and edited_at is None and source_tz is None and raw is None:
            # The common case, with only the fields that differ from the defaults.
            message = _new_message(chat=self.chat, event_id=mid, at=at, author=author, text=text, kind=kind)
        else:
            message = _new_message(
                chat=self.chat, event_id=mid, at=at, source_tz=source_tz, author=author, text=text, kind=kind,
                reply_to=str(reply) if reply is not None and m.reply_to_peer_id is _UNSET else None,
                mentions=mentions, forwarded=forwarded, edited_at=edited_at, raw=raw,
            )
        reactions = m.reactions
        if reactions:
            return [message, *self._reactions(m, mid, at, reactions, _where(label, index))]
        return message

    def _author(self, from_id: Any, name: Any) -> ev.Account | None:
        """The account of a message's sender (None when the message does not say who)."""
        clean = name if name.__class__ is str else None
        if from_id.__class__ is not str or not from_id:
            if not (self.is_channel and name):
                return None
            from_q = self.chat  # an old channel export: posts are the channel's own
        else:
            from_q = account_id(from_id)
        self.names.learn(clean, from_q)
        author = self.ctx.account(from_q, clean)
        if from_id.__class__ is str and from_id:
            self._authors[from_id] = (name, author)
        return author

    def _reactions(self, m: ExportedMessage, mid: str, at: datetime, reactions: Any,
                   location: str) -> list[ev.Event]:
        out: list[ev.Event] = []
        if reactions.__class__ is not list:
            self.report.skip(f"{location}.reactions", "not a list")
            return out
        offset = _UNSET  # the exporter's UTC offset on this message, measured once when needed
        for r in reactions:
            if r.__class__ is not dict:
                continue
            emoji = r.get("emoji") or (f"custom:{r['document_id']}" if r.get("document_id") else r.get("type"))
            emoji = str(emoji)
            recent = r.get("recent") or []
            named = 0
            for who in recent:
                if who.__class__ is not dict:
                    continue
                from_id = who.get("from_id")
                if from_id.__class__ is not str:
                    continue
                name = who.get("from")
                if name.__class__ is not str:
                    name = None
                known = self._reactors.get((from_id, name))
                if known is None:
                    reactor = account_id(from_id)
                    known = self._reactors[(from_id, name)] = (reactor, reactor.partition(":")[2],
                                                               self.ctx.account(reactor, name))
                if name:
                    self.names.ids_by_name[name] = known[0]  # (NameBook.learn, inline: once per reactor)
                named += 1
                when = who.get("date")
                if when.__class__ is str and offset is _UNSET:
                    offset = _exporter_offset(m, at)
                out.append(_new_reaction(
                    chat=self.chat, event_id=f"{mid}:{emoji}:{known[1]}",
                    at=self._wall_clock(m, when, at, offset), message_id=mid, author=known[2], emoji=emoji,
                ))
            try:
                unnamed = int(r.get("count", 0)) - named
            except (TypeError, ValueError):
                unnamed = 0
            if unnamed > 0:
                self.report.ignore("reactions the export counts without saying who reacted", unnamed)
        return out

    def _service(self, m: ExportedMessage, mid: str, location: str, raw: dict[str, Any] | None) -> Iterator[ev.Event]:
        action = m.action
        actor_raw = m.actor_id
        if not isinstance(actor_raw, str) or not actor_raw:
            self.report.ignore("service messages without an actor (payments, proximity…)")
            return
        when = self._time(m, location)
        if when is None:
            return
        at, source_tz = when
        actor_q = account_id(actor_raw)
        actor_name = m.actor if isinstance(m.actor, str) else None
        self.names.learn(actor_name, actor_q)
        actor = self.ctx.account(actor_q, actor_name)
        common = {"chat": self.chat, "at": at, "source_tz": source_tz, "raw": raw}
        if action in _JOIN_ACTIONS:
            if action in ("create_group", "create_channel"):
                yield ev.MemberJoined(event_id=f"{mid}/creator", member=actor, via=ev.JoinMethod.CREATOR, **common)
                if action == "create_channel":
                    return
            if action == "join_group_by_link":
                inviter = m.inviter if isinstance(m.inviter, str) else None
                yield from self._when_named([inviter] if inviter else [], lambda book: iter([ev.MemberJoined(
                    event_id=f"{mid}/0", member=actor, via=ev.JoinMethod.INVITE_LINK,
                    inviter=self.ctx.account(book.id_for(inviter)) if inviter else None, **common)]))
                return
            if action == "join_group_by_request":
                yield ev.MemberJoined(event_id=f"{mid}/0", member=actor, via=ev.JoinMethod.REQUEST, **common)
                return
            names = self._member_names(m, location)
            if names is None:
                return

            def joins(book: NameBook) -> Iterator[ev.Event]:
                for i, name in enumerate(names):
                    if name is None:
                        continue
                    if name == actor_name:  # joined by themselves (a public group, or rejoining)
                        yield ev.MemberJoined(event_id=f"{mid}/{i}", member=actor, via=ev.JoinMethod.UNKNOWN,
                                              **common)
                    else:
                        yield ev.MemberJoined(event_id=f"{mid}/{i}", member=self.ctx.account(book.id_for(name), name),
                                              via=ev.JoinMethod.INVITED, inviter=actor, **common)

            yield from self._when_named([n for n in names if n and n != actor_name], joins)
        elif action == "remove_members":
            names = self._member_names(m, location)
            if names is None:
                return

            def leaves(book: NameBook) -> Iterator[ev.Event]:
                for i, name in enumerate(names):
                    if name is None:
                        continue
                    if name == actor_name:  # "removed" themselves: they left
                        yield ev.MemberLeft(event_id=f"{mid}/{i}", member=actor, reason=ev.LeaveReason.LEFT,
                                            **common)
                    else:
                        yield ev.MemberLeft(event_id=f"{mid}/{i}", member=self.ctx.account(book.id_for(name), name),
                                            reason=ev.LeaveReason.REMOVED, by=actor, **common)

            yield from self._when_named([n for n in names if n and n != actor_name], leaves)
        else:
            title = m.title or m.new_title
            text = f"{action}: {title}" if isinstance(title, str) and title else str(action or "service")
            yield ev.MessagePosted(event_id=mid, author=actor, text=text, kind=ev.MessageKind.SYSTEM, **common)

    def _member_names(self, m: ExportedMessage, location: str) -> list[str | None] | None:
        names = m.members
        if not isinstance(names, list):
            self.report.skip(location, f"'{m.action}' without a 'members' list")
            return None
        out = [n if isinstance(n, str) and n else None for n in names]
        missing = sum(1 for n in out if n is None)
        if missing:
            self.report.ignore("members named by no name in service messages (deleted accounts)", missing)
        return out

    def _when_named(self, names: list[str], build) -> Iterator[ev.Event]:
        """Emit now when every name has a known id, else at the end of the chat."""
        if self.names.knows(names):
            yield from build(self.names)
        else:
            self.names.later(build)


def _exporter_offset(m: ExportedMessage, at: datetime) -> timedelta | None:
    """The exporting computer's UTC offset, measured on this very message: ``date`` is its wall
    clock, ``at`` the message's true time (from ``date_unixtime``); None without both."""
    if m.date_unixtime is None:
        return None
    try:
        return datetime.fromisoformat(m.date) - at.replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- text


def _where(label: str, index: int) -> str:
    return f"{label}: messages[{index}]"

"""``qunyun export --format jsonl``: a community's event log as qunyun JSONL.

Each stored event is rebuilt as a normalized event and written with
:func:`qunyun.core.codec.event_to_dict`, one per line, in time order, after a ``chat`` line
naming its group. People are written as the account the member is known by (their first
identity) with the name they carried at the event's time, so importing the file into an
empty community gives the same messages, members, joins, leaves and daily counts. The log is
read in chunks: memory stays flat.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from datetime import datetime
from typing import IO, Any

from qunyun.core import events as ev
from qunyun.core.codec import event_to_dict, parse_datetime

from .importer import CHAT_LINE


class _People:
    """Member ids → the account and the names over time they are exported as."""

    def __init__(self, community) -> None:
        from qunyun.communities.models import Identity, IdentityName, Member

        bots = set(Member.objects.filter(community=community, is_bot=True).values_list("pk", flat=True))
        self.accounts: dict[int, tuple[str, bool]] = {}
        identity_of: dict[int, int] = {}
        fallback: dict[int, str] = {}
        for pk, member_id, account_id, name in (Identity.objects.filter(community=community)
                                                 .order_by("pk").values_list("pk", "member_id", "account_id",
                                                                             "display_name")):
            if member_id not in self.accounts:
                self.accounts[member_id] = (account_id, member_id in bots)
                identity_of[pk] = member_id
                if name:
                    fallback[member_id] = name
        names: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        for identity_id, name, since in (IdentityName.objects.filter(identity_id__in=identity_of)
                                         .order_by("first_seen_at").values_list("identity_id", "name",
                                                                                "first_seen_at")):
            names[identity_of[identity_id]].append((since, name))
        self.names = {member: ([s for s, _n in items], [n for _s, n in items]) for member, items in names.items()}
        self.fallback = fallback

    def account(self, member_id: int | None, at: datetime) -> ev.Account | None:
        if member_id is None or member_id not in self.accounts:
            return None
        account_id, is_bot = self.accounts[member_id]
        name = self.fallback.get(member_id)
        history = self.names.get(member_id)
        if history is not None:
            index = bisect.bisect_right(history[0], at) - 1
            name = history[1][max(index, 0)]
        return ev.Account(id=account_id, name=name, is_bot=is_bot)


def _event(row: dict[str, Any], chat: str, people: _People, channels: dict[int, str]) -> ev.Event | None:
    etype = row["type"]
    at = row["at"]
    event_id = row["key"][len(chat) + len(etype) + 2:]
    common: dict[str, Any] = {"chat": chat, "event_id": event_id, "at": at, "source_tz": row["source_tz"] or None}
    data = row["data"] or {}
    if isinstance(data, str):
        data = json.loads(data)
    subject = people.account(row["member_id"], at)
    actor = people.account(row["actor_id"], at)
    if etype == "message":
        mentions = tuple(a.id for a in (people.account(m, at) for m in row["mentions"] or ()) if a is not None)
        mentions += tuple(data.get("mentions_unresolved") or ())
        edited = data.get("edited_at")
        return ev.MessagePosted(author=subject, text=row["text"], kind=ev.MessageKind(row["kind"] or "text"),
                                reply_to=row["reply_to"] or None, thread=data.get("thread"), mentions=mentions,
                                forwarded=bool(data.get("forwarded")),
                                edited_at=parse_datetime(edited) if edited else None, **common)
    if etype == "join":
        return ev.MemberJoined(member=subject, via=ev.JoinMethod(row["detail"] or "unknown"), inviter=actor,
                               invite_link=data.get("invite_link"), channel=channels.get(row["channel_id"]),
                               **common)
    if etype == "leave":
        return ev.MemberLeft(member=subject, reason=ev.LeaveReason(row["detail"] or "left"), by=actor, **common)
    if etype in ("reaction", "unreaction"):
        cls = ev.ReactionAdded if etype == "reaction" else ev.ReactionRemoved
        return cls(message_id=row["message_id"], author=subject, emoji=row["detail"], **common)
    if etype == "edit":
        return ev.MessageEdited(message_id=row["message_id"], author=subject, text=row["text"], **common)
    if etype == "delete":
        return ev.MessageDeleted(message_id=row["message_id"], by=subject, **common)
    if etype == "rename":
        new_name = data.get("new_name")
        member = ev.Account(id=subject.id, name=new_name, is_bot=subject.is_bot) if subject else None
        return ev.MemberRenamed(member=member, old_name=data.get("old_name"), **common)
    if etype == "payment":
        return ev.PaymentMade(member=subject, amount=str(data.get("amount", "0")), currency=data.get("currency", "CNY"),
                              reference=data.get("reference", ""), **common)
    return None


def export_jsonl(*, community, out: IO[str]) -> int:
    """Write every event of ``community`` to ``out`` as qunyun JSONL; returns the number written."""
    from qunyun.communities.models import Channel, Event, Group

    people = _People(community)
    groups = {pk: (chat, name) for pk, chat, name in
              Group.objects.filter(community=community).values_list("pk", "chat_id", "name")}
    channels = dict(Channel.objects.filter(community=community).values_list("pk", "code"))
    named: set[int] = set()
    written = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    rows = (Event.objects.filter(community=community).order_by("at", "pk")
            .values("type", "key", "at", "group_id", "member_id", "actor_id", "message_id", "kind", "text",
                    "reply_to", "mentions", "channel_id", "detail", "source_tz", "data"))
    for row in rows.iterator(chunk_size=2000):
        chat, name = groups[row["group_id"]]
        if row["group_id"] not in named:
            named.add(row["group_id"])
            out.write(dumps({"type": CHAT_LINE, "chat": chat, "name": name}) + "\n")
        event = _event(row, chat, people, channels)
        if event is None or (event.subject is None and row["type"] not in ("delete",)):
            continue
        out.write(dumps(event_to_dict(event)) + "\n")
        written += 1
    return written

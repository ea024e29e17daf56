"""Moderation decisions qunyun carries out itself, after the deciding transaction committed.

Registered in :data:`qunyun.bus.internal.INTERNAL_EXECUTORS` (``open_case``, ``appeal_record``)
and :data:`qunyun.bus.internal.AFTER_EXECUTED` (``unmute``, ``unban``: the penalty is marked
lifted once the platform carried it out). Each runs in its own transaction and is idempotent:
the outbox row's key identifies the case it creates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection
from django.utils import translation

from qunyun.bus.models import Notification, OutboxItem
from qunyun.bus.outbox import outbox_enqueue
from qunyun.communities.models import Community, Event, Group, Identity, Member
from qunyun.core.decisions import Decision, OpenCase, SendMessage

from . import notices, services
from .decisions import RecordAppeal
from .models import Case
from .rawrows import in_model_order, model_from_row

_COMMUNITY_FIELDS = ("id", "slug", "name", "time_zone", "settings", "dry_run")
"""What opening a case and writing its notice read of the community."""

_EVENT_FIELDS = ("id", "key", "at", "text", "message_id", "community_id", "group_id", "member_id")
_EVENT_SQL: tuple[str, tuple[str, ...], tuple[str, ...]] | None = None
_MEMBER_FIELDS = ("id", "display_name")  # in model order


def _event_with_community(event_id: int) -> Event | None:
    """The event a case is about, with its community and its author's name: one plain SQL
    statement (the ORM spent about a millisecond of CPU building the joined query, per case).

    The event and the community come back as model instances holding only these fields, each
    value converted as the ORM would (:func:`~.rawrows.model_from_row`); the author as a member
    holding its id and name (the notice's); the group stays an id.
    """
    global _EVENT_SQL
    if _EVENT_SQL is None:
        e, c, m = Event._meta.db_table, Community._meta.db_table, Member._meta.db_table
        event_fields = in_model_order(Event, _EVENT_FIELDS)
        community_fields = in_model_order(Community, _COMMUNITY_FIELDS)
        _EVENT_SQL = (f"SELECT {', '.join('e.' + f for f in event_fields)}, m.display_name, "
                      f"{', '.join('c.' + f for f in community_fields)} FROM {e} e "
                      f"JOIN {c} c ON c.id = e.community_id LEFT JOIN {m} m ON m.id = e.member_id WHERE e.id = %s",
                      event_fields, community_fields)
    sql, event_fields, community_fields = _EVENT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [event_id])
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(event_fields)
    event = model_from_row(Event, event_fields, row[:n])
    event.community = model_from_row(Community, community_fields, row[n + 1:])
    if event.member_id is not None:
        event.member = model_from_row(Member, _MEMBER_FIELDS, (event.member_id, row[n]))
    return event


def case_open(item: OutboxItem, decision: Decision) -> dict[str, Any]:
    """Create the case (and penalty) an OpenCase decision asks for, then tell the member.

    Idempotent: the row's key is the case's ``outbox_key`` (unique per community), so a second
    run finds the case the first one made instead of opening another.
    """
    assert isinstance(decision, OpenCase)
    details = dict(decision.details or {})
    # The event with its community and author's name in one query (the notice names the member
    # in the community's language and time zone).
    event = _event_with_community(item.event_id) if item.event_id else None
    community = event.community if event is not None else Community.objects.get(pk=item.community_id)
    if event is not None and event.group_id is not None:
        group = Group(id=event.group_id, community_id=community.pk)  # only its id goes into the case
    else:
        group = Group.objects.filter(community=community, chat_id=decision.chat).first()
    member_id = details.get("member_pk") or (event.member_id if event else None) or Identity.objects.filter(
        community=community, account_id=decision.member).values_list("member_id", flat=True).first()
    end_item_id = None
    if details.get("until") and not details.get("shadow") and item.event_id:  # a timed penalty: its end
        end_item_id = OutboxItem.objects.filter(
            community_id=item.community_id, event_id=item.event_id, kind__in=("unmute", "unban"),
            key__endswith="|end", payload__member=decision.member).values_list("pk", flat=True).first()
    try:
        case = services.case_open(
            community=community, account_id=decision.member, chat=decision.chat, action=decision.action,
            details=details, at=event.at if event else item.due_at, group=group, member_id=member_id,
            event_id=event.pk if event else None, event_key=details.get("event_key") or (event.key if event else ""),
            message_id=decision.message_id or "", text=event.text if event else "",
            source=details.get("source") or Case.Source.LIVE, outbox_key=item.key, start=item.due_at,
            end_item_id=end_item_id)
    except IntegrityError:  # opened by an earlier run of this row (rolled back to its savepoint)
        existing = Case.objects.filter(community_id=item.community_id, outbox_key=item.key).values_list(
            "pk", "number").first()
        if existing is None:
            raise
        return {"case": existing[0], "number": existing[1]}
    if event is not None and event.member_id is not None and case.member_id == event.member_id:
        case.member = event.member  # already read: no query for the notice's name
    until = datetime.fromisoformat(details["until"]) if details.get("until") else None
    services.case_notify_member(case=case, community=community, until=until, now=item.due_at)
    if case.step == "ban" and not case.shadow:
        Notification.objects.create(community=community, severity="warning", reason=f"moderation:case {case.number}",
                                    text=f"case #{case.number}: {case.account_id} banned ({', '.join(case.categories)})")
    return {"case": case.pk, "number": case.number}


def appeal_record(item: OutboxItem, decision: Decision) -> dict[str, Any]:
    """Record an appeal written as a bot command, and answer the member in the chat."""
    assert isinstance(decision, RecordAppeal)
    community = Community.objects.get(pk=item.community_id)
    member_ids = list(Identity.objects.filter(community=community, account_id=decision.member).values_list(
        "member_id", flat=True))
    case = None
    if decision.case_number.isdigit():
        case = Case.objects.filter(community=community, number=int(decision.case_number),
                                   member_id__in=member_ids).first()
    result: dict[str, Any]
    if case is None:
        reply = notices.appeal_unknown_notice(decision.case_number, community=community)
        result = {"appeal": None, "error": "no such case of this member"}
    else:
        try:
            with translation.override(notices.member_language(community)):
                appeal = services.appeal_submit(case=case, text=decision.text or "(no reason given)", via="bot",
                                                account_id=decision.member)
        except services.ModerationError as exc:
            reply, result = str(exc), {"appeal": None, "error": str(exc)}
        else:
            reply = notices.appeal_received_notice(case, community=community)
            result = {"appeal": appeal.pk, "case": case.number}
            Notification.objects.create(community=community, severity="info", reason=f"moderation:appeal {appeal.pk}",
                                        text=f"appeal against case #{case.number} (via bot command)")
    outbox_enqueue(community=community, key_prefix=f"{item.key}|answer", now=item.due_at,
                   decisions=[SendMessage(chat=decision.chat, text=reply, reply_to=decision.message_id,
                                          to_member=decision.member, reason="moderation:appeal")])
    return result


def penalty_lifted(item: OutboxItem, decision: Decision, now: datetime) -> None:
    """After an unmute/unban was carried out: mark the penalty lifted."""
    services.penalty_lifted(community_id=item.community_id, chat=decision.chat, account=decision.member,
                            kind=decision.kind, outbox_item_id=item.pk, now=now)

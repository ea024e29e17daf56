"""Moderation decisions qunyun carries out itself, after the deciding transaction committed.

Registered in :data:`qunyun.bus.internal.INTERNAL_EXECUTORS` (``open_case``, ``appeal_record``)
and :data:`qunyun.bus.internal.AFTER_EXECUTED` (``unmute``, ``unban``: the penalty is marked
lifted once the platform carried it out). Each runs in its own transaction and is idempotent:
the outbox row's key identifies the case it creates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError
from django.utils import translation

from qunyun.bus.models import Notification, OutboxItem
from qunyun.bus.outbox import outbox_enqueue
from qunyun.communities.models import Community, Event, Group, Identity
from qunyun.core.decisions import Decision, OpenCase, SendMessage

from . import notices, services
from .decisions import RecordAppeal
from .models import Case

_COMMUNITY_FIELDS = ("id", "slug", "name", "time_zone", "settings", "dry_run")
"""What opening a case and writing its notice read of the community."""


def case_open(item: OutboxItem, decision: Decision) -> dict[str, Any]:
    """Create the case (and penalty) an OpenCase decision asks for, then tell the member.

    Idempotent: the row's key is the case's ``outbox_key`` (unique per community), so a second
    run finds the case the first one made instead of opening another.
    """
    assert isinstance(decision, OpenCase)
    details = dict(decision.details or {})
    # The event with its community, group and author's name in one query (the notice names the
    # member in the community's language and time zone).
    event = Event.objects.filter(pk=item.event_id).select_related("community", "group", "member").only(
        "id", "key", "at", "text", "message_id", "community", "group", "member__id", "member__display_name",
        *(f"community__{f}" for f in _COMMUNITY_FIELDS)).first() if item.event_id else None
    community = event.community if event is not None else Community.objects.get(pk=item.community_id)
    group = event.group if event else None
    if group is None:
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

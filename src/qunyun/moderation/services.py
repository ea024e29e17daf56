"""Writes of moderation: one named function per change, keyword-only arguments.

Platform effects (delete, mute, unmute, a notice to the member) are never called directly:
they are written to the outbox with :func:`qunyun.bus.outbox.outbox_enqueue` in the same
transaction as the change, so they happen only if it commits.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import IO, Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from qunyun.bus.models import OutboxItem
from qunyun.bus.outbox import outbox_enqueue
from qunyun.core.decisions import DeleteMessage, SendMessage, Unban, Unmute
from qunyun.core.errors import InvalidInput
from qunyun.core.timeutil import utcnow

from . import enforce, live, notices, taxonomy
from .ladder import Ladder, PriorPenalty, Step
from .models import Appeal, Case, CaseCounter, CommunityPolicy, GroupPolicy, LabelledExample, Penalty
from .policy import Policy, PolicyOverride

MUTE_STEPS = (Step.MUTE_1D.value, Step.MUTE_7D.value, Step.MUTE_15D.value)


class ModerationError(InvalidInput):
    """A moderation change that cannot be made, with a message for the operator."""


# ----------------------------------------------------------------- policy


@transaction.atomic
def policy_save(*, community, policy: Policy, ladder: Ladder | None = None, enabled: bool | None = None,
                allow_domains: list[str] | None = None, deny_domains: list[str] | None = None,
                lexicons: list[str] | None = None, model_path: str | None = None, by=None) -> CommunityPolicy:
    """Store a community's policy (and optionally its ladder and other settings)."""
    row, _ = CommunityPolicy.objects.select_for_update().get_or_create(community=community)
    row.policy = policy.to_dict()
    if ladder is not None:
        row.ladder = ladder.to_dict()
    if enabled is not None:
        row.enabled = enabled
    if allow_domains is not None:
        row.allow_domains = sorted({d.strip().lower() for d in allow_domains if d.strip()})
    if deny_domains is not None:
        row.deny_domains = sorted({d.strip().lower() for d in deny_domains if d.strip()})
    if lexicons is not None:
        row.lexicons = [p.strip() for p in lexicons if p.strip()]
    if model_path is not None:
        row.model_path = model_path.strip()
    row.updated_by = by if getattr(by, "pk", None) else None
    row.save()
    transaction.on_commit(lambda: live.forget(community.pk))
    return row


@transaction.atomic
def group_override_save(*, group, override: PolicyOverride | None) -> GroupPolicy | None:
    """Store (or, with ``None`` or an empty override, remove) a group's override."""
    if override is None or (not override.rules and override.shadow is None):
        GroupPolicy.objects.filter(group=group).delete()
        transaction.on_commit(lambda: live.forget(group.community_id))
        return None
    row, _ = GroupPolicy.objects.update_or_create(group=group, defaults={"override": override.to_dict()})
    transaction.on_commit(lambda: live.forget(group.community_id))
    return row


# ----------------------------------------------------------------- cases and penalties


_NEXT_NUMBER = f"UPDATE {CaseCounter._meta.db_table} SET last = last + 1 WHERE community_id = %s RETURNING last"


def _next_number(community_id: int) -> int:
    """The community's next case number: one ``UPDATE … RETURNING`` (the row locked until commit)
    once its counter exists (three ORM queries were a fifth of opening a case)."""
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_NEXT_NUMBER, [community_id])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        CaseCounter.objects.get_or_create(community_id=community_id)
    raise RuntimeError(f"no case counter for community {community_id}")  # pragma: no cover - created above


def case_open(*, community, account_id: str, chat: str, action: str, details: dict[str, Any], at: datetime,
              group=None, member_id: int | None = None, event_id: int | None = None, event_key: str = "",
              message_id: str = "", text: str = "", source: str = Case.Source.LIVE, outbox_key: str | None = None,
              decided_by=None, start: datetime | None = None, end_item_id: int | None = None) -> Case:
    """Open a case numbered next in its community; with a ladder step, record the penalty too.

    ``details`` is the OpenCase shape of :func:`qunyun.moderation.enforce.case_details`.
    """
    with transaction.atomic():
        shadow = bool(details.get("shadow"))
        step = details.get("step") or ""
        case = Case.objects.create(
            community=community, number=_next_number(community.pk), group=group, member_id=member_id,
            account_id=account_id, chat=chat, event_id=event_id, event_key=event_key, message_id=message_id or "",
            text=text, categories=list(details.get("categories") or []), score=float(details.get("score") or 0.0),
            evidence=list(details.get("evidence") or []), findings=list(details.get("findings") or []),
            rule=str(details.get("rule") or "")[:100], decided_by=decided_by, action=action[:32], step=step,
            needs_review=bool(details.get("needs_review")), shadow=shadow, source=source, at=at,
            outbox_key=outbox_key)
        if step:
            until = details.get("until")
            _penalty_create(case, step=step, category=case.rule, start=start or at,
                            end=datetime.fromisoformat(until) if until else None, end_item_id=end_item_id)
    return case


def _penalty_create(case: Case, *, step: str, category: str, start: datetime, end: datetime | None,
                    end_item_id: int | None = None) -> Penalty:
    if step == Step.WARNING.value:
        end = start
    return Penalty.objects.create(
        community_id=case.community_id, case=case, member_id=case.member_id, account_id=case.account_id,
        chat=case.chat, step=step, category=category, start=start, end=end, end_item_id=end_item_id,
        shadow=case.shadow)


def case_notify_member(*, case: Case, community, until: datetime | None, now: datetime | None = None) -> int:
    """Tell the member about their penalty in the chat (case number, appeal link, command)."""
    if case.shadow or not case.step or not case.chat:
        return 0
    text = notices.penalty_notice(case, community=community, until=until)
    return outbox_enqueue(community=community, key_prefix=f"moderation:case:{case.pk}:notice", now=now,
                          decisions=[SendMessage(chat=case.chat, text=text, to_member=case.account_id or None,
                                                 reason=f"moderation:case {case.number}")])


def _prior(case: Case) -> list[PriorPenalty]:
    rows = Penalty.objects.filter(community_id=case.community_id, member_id=case.member_id, shadow=False,
                                  overturned_at__isnull=True).values_list("step", "start", "category")
    return [PriorPenalty(step=Step(s), at=at, category=c or None) for s, at, c in rows]


@transaction.atomic
def case_confirm(*, case: Case, by, penalize: bool = True, note: str = "", now: datetime | None = None) -> Case:
    """A moderator agrees with the case. An open review case is then enforced: its message is
    deleted and, with ``penalize``, the member takes the next ladder step. Shadow cases are only
    labelled. The message becomes a training example of the case's category.
    """
    now = now or utcnow()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Case.Status.OVERTURNED:
        raise ModerationError(_("case #%(n)s was overturned; open a new case instead") % {"n": case.number})
    community = case.community
    if case.needs_review and not case.shadow and not case.step and case.action == "review":
        decisions, until = [], None
        if case.message_id:
            decisions.append(DeleteMessage(chat=case.chat, message_id=case.message_id,
                                           reason=f"moderation:case {case.number}"))
            case.action = "delete"
        if penalize and case.member_id is not None:
            from .selectors import stored_policy

            ladder = stored_policy(community_id=community.pk).ladder
            penalty = ladder.next(_prior(case), category=enforce.ladder_category(case.categories), now=now)
            decisions += enforce.penalty_decisions(chat=case.chat, account=case.account_id, penalty=penalty,
                                                   reason=f"moderation:case {case.number}")
            case.step, until = penalty.step.value, penalty.until
            case.action = f"delete+{penalty.step.value}" if case.message_id else penalty.step.value
            _penalty_create(case, step=case.step, category=case.rule, start=now, end=penalty.until)
        if decisions:
            outbox_enqueue(community=community, decisions=decisions, key_prefix=f"moderation:case:{case.pk}:confirm",
                           now=now)
            _link_end_item(case, key_prefix=f"moderation:case:{case.pk}:confirm")
        if case.step:
            case_notify_member(case=case, community=community, until=until, now=now)
        case.decided_by = by if getattr(by, "pk", None) else None
    case.status = Case.Status.CONFIRMED
    case.reviewed_at, case.reviewed_by, case.review_note = now, (by if getattr(by, "pk", None) else None), note
    case.save()
    label = case.rule if taxonomy.is_known(case.rule) and case.rule != taxonomy.OK else (
        next((c for c in case.categories if taxonomy.is_known(c)), ""))
    if label:
        example_label(case=case, label=label, by=by)
    return case


def _link_end_item(case: Case, *, key_prefix: str) -> None:
    end = OutboxItem.objects.filter(community_id=case.community_id, key__startswith=key_prefix + "|",
                                    key__endswith="|end").values_list("pk", flat=True).first()
    if end is not None:
        Penalty.objects.filter(case=case).update(end_item_id=end)


@transaction.atomic
def case_overturn(*, case: Case, by, note: str = "", now: datetime | None = None) -> Case:
    """A moderator disagrees: the penalty is undone (unmute/unban through the outbox, the
    scheduled end cancelled), it stops counting on the ladder, and the message becomes an
    ``ok`` training example. A deleted message cannot be restored.
    """
    now = now or utcnow()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Case.Status.OVERTURNED:
        return case
    penalty = Penalty.objects.select_for_update().filter(case=case).first()
    if penalty is not None and penalty.overturned_at is None:
        penalty.overturned_at = now
        penalty.save(update_fields=["overturned_at"])
        still_on = penalty.lifted_at is None and (penalty.end is None or penalty.end > now)
        if not penalty.shadow and still_on and penalty.step in (*MUTE_STEPS, Step.BAN.value):
            if penalty.end_item_id:
                OutboxItem.objects.filter(pk=penalty.end_item_id, status=OutboxItem.Status.PENDING).update(
                    status=OutboxItem.Status.CANCELLED)
            undo = Unban if penalty.step == Step.BAN.value else Unmute
            outbox_enqueue(community=case.community, key_prefix=f"moderation:case:{case.pk}:undo", now=now,
                           decisions=[undo(chat=penalty.chat, member=penalty.account_id,
                                           reason=f"moderation:case {case.number} overturned")])
    case.status = Case.Status.OVERTURNED
    case.reviewed_at, case.reviewed_by, case.review_note = now, (by if getattr(by, "pk", None) else None), note
    case.save()
    example_label(case=case, label=taxonomy.OK, by=by)
    return case


def penalty_lifted(*, community_id: int, chat: str, account: str, kind: str, outbox_item_id: int,
                   now: datetime) -> int:
    """Record that an unmute/unban was carried out: the matching penalty is lifted."""
    steps = (Step.BAN.value,) if kind == "unban" else MUTE_STEPS
    base = Penalty.objects.filter(community_id=community_id, chat=chat, account_id=account, step__in=steps,
                                  lifted_at__isnull=True, shadow=False)
    exact = base.filter(end_item_id=outbox_item_id)
    if exact.exists():
        return exact.update(lifted_at=now)
    # An undo (overturn) or a manual unmute: everything of that kind still on is lifted.
    return base.filter(start__lte=now).update(lifted_at=now)


# ----------------------------------------------------------------- appeals


def appeal_submit(*, case: Case, text: str, via: str, account_id: str = "") -> Appeal:
    """Record a member's appeal against a case (one open appeal per case)."""
    text = (text or "").strip()
    if not text:
        raise ModerationError(_("write why the decision was wrong"))
    if len(text) > 4000:
        raise ModerationError(_("the appeal is too long (at most 4,000 characters)"))
    if case.shadow:
        raise ModerationError(_("case #%(n)s took no action; there is nothing to appeal") % {"n": case.number})
    if case.status == Case.Status.OVERTURNED:
        raise ModerationError(_("case #%(n)s was already overturned") % {"n": case.number})
    if case.opened_at and case.opened_at < utcnow() - timedelta(days=notices.APPEAL_DAYS):
        raise ModerationError(_("case #%(n)s is older than %(days)s days and can no longer be appealed") % {
            "n": case.number, "days": notices.APPEAL_DAYS})
    with transaction.atomic():
        if Appeal.objects.select_for_update().filter(case=case, status=Appeal.Status.OPEN).exists():
            raise ModerationError(_("an appeal against case #%(n)s is already waiting for a moderator") % {
                "n": case.number})
        return Appeal.objects.create(community_id=case.community_id, case=case, text=text, via=via,
                                     account_id=account_id or case.account_id)


@transaction.atomic
def appeal_decide(*, appeal: Appeal, accept: bool, by, note: str = "", now: datetime | None = None) -> Appeal:
    """A moderator decides an appeal: accepting overturns the case (undoing its penalty); the
    member is told in the chat either way."""
    now = now or utcnow()
    appeal = Appeal.objects.select_for_update().select_related("case", "case__community").get(pk=appeal.pk)
    if appeal.status != Appeal.Status.OPEN:
        raise ModerationError(_("this appeal was already decided"))
    case = appeal.case
    if accept:
        case = case_overturn(case=case, by=by, note=note or "appeal accepted", now=now)
    elif case.status == Case.Status.OPEN:
        case = case_confirm(case=case, by=by, penalize=False, note=note or "appeal rejected", now=now)
    appeal.status = Appeal.Status.ACCEPTED if accept else Appeal.Status.REJECTED
    appeal.decided_at, appeal.note = now, note
    appeal.decided_by = by if getattr(by, "pk", None) else None
    appeal.save()
    if case.chat:
        outbox_enqueue(community=case.community, key_prefix=f"moderation:appeal:{appeal.pk}:decided", now=now,
                       decisions=[SendMessage(chat=case.chat, to_member=case.account_id or None,
                                              text=notices.appeal_decided_notice(case, community=case.community,
                                                                                 accepted=accept),
                                              reason=f"moderation:case {case.number}")])
    return appeal


# ----------------------------------------------------------------- training examples


def example_label(*, case: Case, label: str, by=None) -> LabelledExample | None:
    """Keep the case's message as a training example with ``label`` (relabels an earlier one)."""
    if not case.text.strip() or not taxonomy.is_known(label):
        return None
    example, _ = LabelledExample.objects.update_or_create(
        case=case, defaults={"community_id": case.community_id, "text": case.text, "label": label,
                             "decided_by": by if getattr(by, "pk", None) else None})
    return example


def training_examples_export(*, community, out: IO[str]) -> int:
    """Write the community's moderator-labelled examples as ``{"text", "label"}`` JSONL lines
    (the input of ``qunyun moderation train``). Returns the number of lines."""
    from .selectors import examples_iter

    n = 0
    for text, label in examples_iter(community=community):
        out.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
        n += 1
    return n


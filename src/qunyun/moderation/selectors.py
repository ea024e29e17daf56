"""Reads of moderation: the stored policy, a member's earlier penalties, the queue, cases, appeals."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

from django.db import connection
from django.db.models import Count, Max, Q, QuerySet

from qunyun.bus.models import OutboxItem
from qunyun.communities.models import Event, Group, Membership

from .ladder import Ladder, PriorPenalty, Step
from .models import Appeal, Case, CommunityPolicy, GroupPolicy, Penalty
from .policy import Policy, PolicyOverride, default_policy
from .rawrows import aware

log = logging.getLogger(__name__)

EXEMPT_ROLES = ("owner", "admin")
"""Group roles moderation never acts on (their messages are not judged)."""


@dataclass
class StoredPolicy:
    """A community's stored moderation settings as pure objects (defaults where nothing is stored)."""

    enabled: bool = True
    policy: Policy = field(default_factory=default_policy)
    ladder: Ladder = field(default_factory=Ladder)
    overrides: dict[str, PolicyOverride] = field(default_factory=dict)
    lexicons: list[str] = field(default_factory=list)
    allow_domains: list[str] = field(default_factory=list)
    deny_domains: list[str] = field(default_factory=list)
    model_path: str = ""
    row: CommunityPolicy | None = None


def stored_policy(*, community_id: int) -> StoredPolicy:
    """The community's policy, ladder and group overrides (keyed by chat id)."""
    row = CommunityPolicy.objects.filter(community_id=community_id).first()
    out = StoredPolicy(row=row)
    if row is not None:
        out.enabled = row.enabled
        try:
            out.policy = Policy.from_dict(row.policy) if row.policy else default_policy()
            out.ladder = Ladder.from_dict(row.ladder or {})
        except (ValueError, TypeError, AttributeError) as exc:  # edited by hand into nonsense
            log.warning("stored moderation policy of community %s is unusable (%s); using the default", community_id,
                        exc)
            out.policy, out.ladder = default_policy(), Ladder()
        out.lexicons = [str(p) for p in row.lexicons or []]
        out.allow_domains = [str(d) for d in row.allow_domains or []]
        out.deny_domains = [str(d) for d in row.deny_domains or []]
        out.model_path = row.model_path
    for chat, override in GroupPolicy.objects.filter(group__community_id=community_id).values_list(
            "group__chat_id", "override"):
        if override:
            try:
                merged = PolicyOverride.from_dict(override)
                out.policy.merged(merged)
            except (ValueError, TypeError, AttributeError) as exc:
                log.warning("moderation override of group %s is unusable (%s); ignored", chat, exc)
                continue
            out.overrides[chat] = merged
    return out


def policy_stamp(*, community_id: int) -> tuple:
    """Changes when the stored policy or an override changes (and at least once a minute)."""
    updated = CommunityPolicy.objects.filter(community_id=community_id).values_list("updated_at", flat=True).first()
    overrides = GroupPolicy.objects.filter(group__community_id=community_id).aggregate(n=Count("id"), at=Max("updated_at"))
    return (updated, overrides["n"], overrides["at"], int(time.monotonic() // 60))


def exempt_members(*, community_id: int) -> frozenset[tuple[str, int]]:
    """``(chat, member id)`` of group owners and admins."""
    return frozenset(Membership.objects.filter(
        group__community_id=community_id, role__in=EXEMPT_ROLES, is_member=True).values_list(
        "group__chat_id", "member_id"))


def recent_activity(*, community_id: int, before: datetime, messages_since: datetime, joins_since: datetime,
                    limit: int) -> list[tuple[str, str, int | None, datetime, str, int]]:
    """Recent joins and messages for a behaviour window: ``(kind, chat, member id, at, text, mentions)``.

    Messages since ``messages_since`` (and, for members who joined since ``joins_since``, all
    their messages since then, so "first message of a newcomer" stays right), oldest first.
    """
    base = Event.objects.filter(community_id=community_id, at__lt=before)
    joins = list(base.filter(type="join", at__gte=joins_since).order_by("-at").values_list(
        "group__chat_id", "member_id", "at")[:limit])
    newcomers = {m for _, m, _ in joins}
    messages = base.filter(type="message").filter(
        Q(at__gte=messages_since) | Q(at__gte=joins_since, member_id__in=newcomers)).exclude(
        member__is_bot=True).order_by("-at").values_list("group__chat_id", "member_id", "at", "text", "mentions")[:limit]
    rows = [("join", chat, m, at, "", 0) for chat, m, at in joins]
    rows += [("message", chat, m, at, text or "", len(mentions or ())) for chat, m, at, text, mentions in messages]
    rows.sort(key=lambda r: (r[3], r[0] != "join"))
    return rows


def _prior_sql() -> tuple[str, str]:
    """The two statements of :func:`prior_penalties` (table names from the models)."""
    penalty, case = Penalty._meta.db_table, Case._meta.db_table
    outbox, event = OutboxItem._meta.db_table, Event._meta.db_table
    recorded = (f"SELECT c.event_key, p.step, p.start, p.category, p.overturned_at FROM {penalty} p "
                f"JOIN {case} c ON c.id = p.case_id "
                "WHERE p.community_id = %s AND p.member_id = %s AND p.shadow = %s")
    # The outbox rows of the member's recent events: a sliced subquery keeps the event index
    # (member, time) as the way in, never the outbox's status index, which may hold a backlog
    # when the worker is down; status and kind are checked on those few rows only.
    waiting = (f"SELECT o.status, o.payload, o.due_at FROM {outbox} o WHERE o.event_id IN "
               f"(SELECT e.id FROM {event} e WHERE e.member_id = %s AND e.at >= %s ORDER BY e.at DESC LIMIT 500) "
               "AND o.kind = 'open_case'")
    return recorded, waiting


_PRIOR_SQL: tuple[str, str] | None = None
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def prior_penalties(*, community_id: int, member_id: int, shadow: bool = False,
                    since: datetime | None = None) -> tuple[list[tuple[str, PriorPenalty]], set[str]]:
    """A member's earlier penalties that count on the ladder, as ``(event key, penalty)``, and
    the event keys of every recorded penalty (overturned ones included).

    Counted: recorded penalties that were not overturned, plus penalties decided but not yet
    recorded (OpenCase decisions still waiting in the outbox, for messages since ``since``).
    Runs for every message the policy penalizes, so it is two plain SQL statements (the ORM
    spent several times the database's time building them).
    """
    global _PRIOR_SQL
    if _PRIOR_SQL is None:
        _PRIOR_SQL = _prior_sql()
    recorded_sql, waiting_sql = _PRIOR_SQL
    out: list[tuple[str, PriorPenalty]] = []
    recorded: set[str] = set()
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(recorded_sql, [community_id, member_id, shadow])
        for key, step, start, category, overturned in cursor.fetchall():
            recorded.add(key)
            if overturned is None:
                out.append((key, PriorPenalty(step=Step(step), at=aware(start), category=category or None)))
        cursor.execute(waiting_sql, [member_id, ops.adapt_datetimefield_value(since or _EPOCH)])
        rows = cursor.fetchall()
    for status, payload, due in rows:
        if status not in (OutboxItem.Status.PENDING, OutboxItem.Status.RUNNING):
            continue
        if isinstance(payload, (str, bytes)):
            payload = json.loads(payload)
        details = payload.get("details") or {}
        if details.get("step") and bool(details.get("shadow")) == shadow:
            out.append((details.get("event_key") or "", PriorPenalty(
                step=Step(details["step"]), at=aware(due), category=details.get("rule"))))
    return out, recorded


# ----------------------------------------------------------------- console reads


def review_queue(*, community, include_shadow: bool = False) -> QuerySet[Case]:
    """Open cases waiting for a moderator, oldest first."""
    qs = Case.objects.filter(community=community, status=Case.Status.OPEN, needs_review=True)
    if not include_shadow:
        qs = qs.filter(shadow=False)
    return qs.select_related("member", "group").order_by("at", "number")


CASE_FILTERS = ("all", "open", "confirmed", "overturned", "review", "shadow", "penalties")


def case_list(*, community, which: str = "all", q: str = "") -> QuerySet[Case]:
    """Cases of a community, newest first, filtered by status or kind and member name."""
    qs = Case.objects.filter(community=community).select_related("member", "group", "penalty")
    if which in ("open", "confirmed", "overturned"):
        qs = qs.filter(status=which)
    elif which == "review":
        qs = qs.filter(needs_review=True, status=Case.Status.OPEN, shadow=False)
    elif which == "shadow":
        qs = qs.filter(shadow=True)
    elif which == "penalties":
        qs = qs.exclude(step="").filter(shadow=False)
    if q:
        qs = qs.filter(Q(member__display_name__icontains=q) | Q(account_id__icontains=q))
    return qs.order_by("-number")


def case_get(*, community, number: int) -> Case | None:
    return Case.objects.filter(community=community, number=number).select_related(
        "member", "group", "decided_by", "reviewed_by").first()


def case_history_of_member(*, community, member_id: int | None, exclude: int | None = None) -> list[Case]:
    """The member's other cases, newest first (for a case page)."""
    if member_id is None:
        return []
    qs = Case.objects.filter(community=community, member_id=member_id).select_related("penalty").order_by("-number")
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return list(qs[:20])


def appeal_list(*, community, status: str | None = "open") -> QuerySet[Appeal]:
    qs = Appeal.objects.filter(community=community).select_related("case", "case__member", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("created_at" if status == "open" else "-created_at")


def moderation_counts(*, community) -> dict[str, int]:
    """Figures for the moderation pages' header."""
    cases = Case.objects.filter(community=community)
    return {
        "queue": cases.filter(status=Case.Status.OPEN, needs_review=True, shadow=False).count(),
        "appeals": Appeal.objects.filter(community=community, status=Appeal.Status.OPEN).count(),
        "cases": cases.filter(shadow=False).count(),
        "shadow": cases.filter(shadow=True).count(),
    }


def group_choices(*, community) -> list[Group]:
    return list(Group.objects.filter(community=community).order_by("name"))


def highlight(text: str, evidence: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Split ``text`` into ``(piece, note or None)``; pieces with a note are evidence spans.

    Overlapping spans are merged; offsets outside the text are ignored.
    """
    spans = []
    for e in evidence or []:
        try:
            start, end = int(e.get("start", 0)), int(e.get("end", 0))
        except (TypeError, ValueError, AttributeError):
            continue
        start, end = max(0, start), min(len(text), end)
        if end > start:
            spans.append([start, end, str(e.get("note") or "")])
    spans.sort()
    merged: list[list] = []
    for s in spans:
        if merged and s[0] <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s[1])
            if s[2] and s[2] not in merged[-1][2]:
                merged[-1][2] = f"{merged[-1][2]}, {s[2]}" if merged[-1][2] else s[2]
        else:
            merged.append(s)
    out: list[tuple[str, str | None]] = []
    pos = 0
    for start, end, note in merged:
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], note or "evidence"))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def examples_iter(*, community) -> Iterator[tuple[str, str]]:
    """The community's moderator-labelled examples as ``(text, label)``."""
    from .models import LabelledExample

    yield from LabelledExample.objects.filter(community=community).exclude(text="").order_by("id").values_list(
        "text", "label").iterator()

"""Decisions qunyun carries out itself (not on a platform), by kind: a table you can read.

Each executor takes the outbox row and the decoded decision, does its work (in its own
transaction, after the deciding transaction committed), and returns a small JSON-able result
kept on the row. Domain apps add their executors here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qunyun.core.decisions import Decision, NotifyOperator
from qunyun.moderation import executors as moderation

from .deferred import ApplyRollups, rollups_execute
from .models import Notification, OutboxItem


def notify_operator(item: OutboxItem, decision: Decision) -> dict[str, Any]:
    """Keep a notice for the community's operators (shown in the console)."""
    assert isinstance(decision, NotifyOperator)
    note = Notification.objects.create(community_id=item.community_id, severity=decision.severity,
                                       text=decision.text, reason=decision.reason[:200])
    return {"notification": note.pk}


INTERNAL_EXECUTORS: dict[str, Callable[[OutboxItem, Decision], dict[str, Any]]] = {
    NotifyOperator.kind: notify_operator,
    "open_case": moderation.case_open,
    "appeal_record": moderation.appeal_record,
    ApplyRollups.kind: rollups_execute,
}

AFTER_EXECUTED: dict[str, tuple[Callable[..., None], ...]] = {
    "unmute": (moderation.penalty_lifted,),
    "unban": (moderation.penalty_lifted,),
}
"""Bookkeeping after a platform decision was carried out, by kind: ``listener(item, decision, now)``."""

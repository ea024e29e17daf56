"""Moderation's own decision: an appeal sent as a bot command, recorded by qunyun itself.

Registered in :data:`qunyun.core.decisions.DECISION_TYPES` on import (the app's ``ready()``
imports this module, so every process that runs the outbox can decode it). Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from qunyun.core.decisions import DECISION_TYPES, Decision


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordAppeal(Decision):
    """A member appealed case ``case_number`` from the group (``/appeal 12 why`` or ``申诉 12 理由``).

    ``member`` is the qualified account id that wrote the command; the executor checks that the
    case is theirs, records the appeal and answers in the chat.
    """

    kind: ClassVar[str] = "appeal_record"
    on_platform: ClassVar[bool] = False

    member: str
    case_number: str
    text: str = ""
    message_id: str | None = None


DECISION_TYPES.setdefault(RecordAppeal.kind, RecordAppeal)

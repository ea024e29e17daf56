"""Decisions → OneBot v11 actions, and the answers back to failures. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qunyun.bus.adapters import PermanentFailure, TemporaryFailure
from qunyun.core import decisions as d

from .normalize import local_group, local_user

CAPABILITIES = frozenset({"send", "delete", "mute", "unmute", "kick", "ban", "set_title"})
#: QQ's longest mute: 30 days.
MAX_MUTE_SECONDS = 30 * 24 * 3600


def _seconds_until(until: datetime | None, now: datetime) -> int:
    if until is None:
        return MAX_MUTE_SECONDS
    return max(1, min(MAX_MUTE_SECONDS, int((until - now).total_seconds() + 0.999)))


def decision_actions(decision: d.Decision, *, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The OneBot actions that carry ``decision`` out."""
    if isinstance(decision, d.DeleteMessage):
        return [("delete_msg", {"message_id": int(decision.message_id)})]
    group = local_group(decision.chat)
    if isinstance(decision, d.SendMessage):
        segments: list[dict[str, Any]] = []
        if decision.reply_to:
            segments.append({"type": "reply", "data": {"id": str(decision.reply_to)}})
        if decision.to_member:
            segments.append({"type": "at", "data": {"qq": str(local_user(decision.to_member))}})
            segments.append({"type": "text", "data": {"text": " "}})
        text = decision.text + ("\n" + " / ".join(decision.buttons) if decision.buttons else "")
        segments.append({"type": "text", "data": {"text": text}})
        return [("send_group_msg", {"group_id": group, "message": segments})]
    if isinstance(decision, d.Mute):
        return [("set_group_ban", {"group_id": group, "user_id": local_user(decision.member),
                                   "duration": _seconds_until(decision.until, now)})]
    if isinstance(decision, d.Unmute):
        return [("set_group_ban", {"group_id": group, "user_id": local_user(decision.member), "duration": 0})]
    if isinstance(decision, d.Kick):
        return [("set_group_kick", {"group_id": group, "user_id": local_user(decision.member),
                                    "reject_add_request": False})]
    if isinstance(decision, d.Ban):  # QQ has no timed ban: remove and refuse future requests
        return [("set_group_kick", {"group_id": group, "user_id": local_user(decision.member),
                                    "reject_add_request": True})]
    if isinstance(decision, d.SetMemberTitle):
        return [("set_group_special_title", {"group_id": group, "user_id": local_user(decision.member),
                                             "special_title": decision.title, "duration": -1})]
    raise PermanentFailure(f"onebot cannot {decision.kind}")


def check_answer(action: str, answer: Any) -> Any:
    """The ``data`` of an action's answer, or the matching failure."""
    if not isinstance(answer, dict):
        raise TemporaryFailure(f"onebot {action}: no answer")
    if answer.get("status") in ("ok", "async") and answer.get("retcode") in (0, 1, None):
        return answer.get("data")
    message = f"onebot {action}: retcode {answer.get('retcode')} {answer.get('message') or answer.get('wording') or ''}"
    if answer.get("retcode") in (1401, 1403, 1404, 1400):
        raise PermanentFailure(message.strip())
    raise TemporaryFailure(message.strip())

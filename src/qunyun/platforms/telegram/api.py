"""The Telegram Bot API over plain HTTP (httpx), and the adapter that carries decisions out.

``api_base`` is configurable (default ``https://api.telegram.org``) so a local Bot API server,
or a recording server in tests, can stand in. Errors follow the API's contract: ``429`` carries
``parameters.retry_after`` (honoured as :class:`TemporaryFailure`), 5xx and network errors are
temporary, anything else (no rights, message gone) is permanent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from qunyun.bus.adapters import PermanentFailure, TemporaryFailure
from qunyun.core import decisions as d

#: Everything a member may do; passed to lift a mute.
ALL_PERMISSIONS = {k: True for k in (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
    "can_add_web_page_previews", "can_invite_users")}
NO_SENDING = {k: False for k in ALL_PERMISSIONS if k != "can_invite_users"}

CAPABILITIES = frozenset({"send", "delete", "mute", "unmute", "ban", "unban", "kick", "set_title"})


class TelegramError(Exception):
    pass


def check_response(method: str, response: httpx.Response) -> Any:
    """The ``result`` of a Bot API answer, or the matching failure."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 200 and body.get("ok"):
        return body.get("result")
    description = body.get("description") or f"HTTP {response.status_code}"
    message = f"telegram {method}: {description}"
    if response.status_code == 429 or body.get("error_code") == 429:
        retry = (body.get("parameters") or {}).get("retry_after")
        raise TemporaryFailure(message, retry_after=float(retry) if retry is not None else None)
    if response.status_code >= 500:
        raise TemporaryFailure(message)
    raise PermanentFailure(message)


def local(qualified: str) -> int | str:
    value = qualified.partition(":")[2]
    try:
        return int(value)
    except ValueError:
        return value


def _until(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def decision_call(decision: d.Decision) -> list[tuple[str, dict[str, Any]]]:
    """The Bot API calls that carry ``decision`` out, in order."""
    chat = local(decision.chat)
    if isinstance(decision, d.SendMessage):
        params: dict[str, Any] = {"chat_id": chat, "text": decision.text}
        if decision.reply_to:
            params["reply_parameters"] = {"message_id": int(decision.reply_to), "allow_sending_without_reply": True}
        if decision.buttons:
            params["reply_markup"] = {"inline_keyboard": [[{"text": b, "callback_data": b[:64]}
                                                           for b in decision.buttons]]}
        return [("sendMessage", params)]
    if isinstance(decision, d.DeleteMessage):
        return [("deleteMessage", {"chat_id": chat, "message_id": int(decision.message_id)})]
    if isinstance(decision, d.Mute):
        # until_date < 30 s or > 366 days away means "forever" to Telegram; qunyun's own
        # scheduled unmute ends short mutes on time anyway.
        return [("restrictChatMember", {"chat_id": chat, "user_id": local(decision.member), "permissions": NO_SENDING,
                                        "until_date": _until(decision.until)})]
    if isinstance(decision, d.Unmute):
        return [("restrictChatMember", {"chat_id": chat, "user_id": local(decision.member),
                                        "permissions": ALL_PERMISSIONS})]
    if isinstance(decision, d.Ban):
        return [("banChatMember", {"chat_id": chat, "user_id": local(decision.member),
                                   "until_date": _until(decision.until), "revoke_messages": False})]
    if isinstance(decision, d.Unban):
        return [("unbanChatMember", {"chat_id": chat, "user_id": local(decision.member), "only_if_banned": True})]
    if isinstance(decision, d.Kick):  # Telegram's kick: ban, then unban so they may come back
        member = local(decision.member)
        return [("banChatMember", {"chat_id": chat, "user_id": member}),
                ("unbanChatMember", {"chat_id": chat, "user_id": member, "only_if_banned": True})]
    if isinstance(decision, d.SetMemberTitle):
        return [("setChatAdministratorCustomTitle", {"chat_id": chat, "user_id": local(decision.member),
                                                     "custom_title": decision.title[:16]})]
    raise PermanentFailure(f"telegram cannot {decision.kind}")


class BotApi:
    """Synchronous Bot API calls (the outbox worker thread and the CLI use these)."""

    def __init__(self, token: str, *, api_base: str = "https://api.telegram.org", timeout: float = 30.0) -> None:
        self.base = f"{api_base.rstrip('/')}/bot{token}"
        self.http = httpx.Client(timeout=timeout)

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.post(f"{self.base}/{method}", json=params or {})
        except httpx.HTTPError as exc:
            # The URL holds the token: say what failed without it.
            raise TemporaryFailure(f"telegram {method}: {type(exc).__name__}") from None
        return check_response(method, response)

    def create_invite_link(self, chat: str, *, name: str) -> str:
        """A new invite link named after a channel (joins through it say which channel)."""
        return self.call("createChatInviteLink", {"chat_id": local(chat), "name": name[:32]})["invite_link"]


class TelegramAdapter:
    """Carries decisions out through the Bot API."""

    platform = "telegram"
    capabilities = CAPABILITIES

    def __init__(self, api: BotApi) -> None:
        self.api = api

    def execute(self, decision: d.Decision, *, idempotency_key: str) -> dict[str, Any] | None:
        # The Bot API has no idempotency key: a crash between the call and the outbox marking it
        # done can repeat it (the documented window); every call here is harmless to repeat
        # except sendMessage.
        result = None
        for method, params in decision_call(decision):
            result = self.api.call(method, params)
        if isinstance(result, dict) and "message_id" in result:
            return {"message_id": result["message_id"]}
        return None

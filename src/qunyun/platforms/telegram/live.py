"""The Telegram connector: long polling (getUpdates) or a webhook, and the Bot API adapter.

Polling keeps the next ``offset`` in the connection state only after the updates were stored,
so a crash re-reads them and the store's keys make that harmless. Webhook mode registers the
webhook (with its ``secret_token``) at start and then waits for Telegram to call
``/hooks/telegram/<community>/``.
"""

from __future__ import annotations

from typing import Any

import httpx

from qunyun.connections.live import ConnectionInfo
from qunyun.core.timeutil import utcnow

from .api import CAPABILITIES, BotApi, TelegramAdapter, check_response
from .normalize import ALLOWED_UPDATES, group_name, update_to_events

POLL_TIMEOUT = 25


def updates_to_events(updates: list[dict[str, Any]], *, member_updates: str) -> tuple[list, dict[str, str]]:
    events, names = [], {}
    now = utcnow()
    for update in updates:
        events.extend(update_to_events(update, member_updates=member_updates, received_at=now))
        named = group_name(update)
        if named:
            names[named[0]] = named[1]
    return events, names


class TelegramConnector:
    platform = "telegram"
    capabilities = CAPABILITIES

    def __init__(self, info: ConnectionInfo, *, host) -> None:
        self.info = info
        self.host = host
        self.api_base = info.settings.get("api_base", "https://api.telegram.org").rstrip("/")
        self.token = info.secrets["token"]
        self.adapter = TelegramAdapter(BotApi(self.token, api_base=self.api_base))
        self.member_updates = info.settings.get("member_updates", "chat_member")

    def execute(self, decision, *, idempotency_key: str):
        return self.adapter.execute(decision, idempotency_key=idempotency_key)

    async def _call(self, http: httpx.AsyncClient, method: str, params: dict[str, Any], timeout: float = 30):
        try:
            response = await http.post(f"{self.api_base}/bot{self.token}/{method}", json=params, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"telegram {method}: {type(exc).__name__}") from None
        return check_response(method, response)

    async def run(self, connected) -> bool:
        async with httpx.AsyncClient() as http:
            if self.info.settings.get("mode") == "webhook":
                await self._call(http, "setWebhook", {
                    "url": self.info.settings["webhook_url"], "secret_token": self.info.secrets.get("secret"),
                    "allowed_updates": ALLOWED_UPDATES})
                return False
            await self._call(http, "deleteWebhook", {"drop_pending_updates": False})
            offset = self.info.state.get("offset")
            connected()
            while True:
                params: dict[str, Any] = {"timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES}
                if offset is not None:
                    params["offset"] = offset
                updates = await self._call(http, "getUpdates", params, timeout=POLL_TIMEOUT + 10)
                if not updates:
                    continue
                events, names = updates_to_events(updates, member_updates=self.member_updates)
                if events:
                    await self.host.ingest(self.info, events, group_names=names)
                offset = max(u["update_id"] for u in updates) + 1
                await self.host.save_state(self.info, offset=offset)

    def close(self) -> None:
        pass

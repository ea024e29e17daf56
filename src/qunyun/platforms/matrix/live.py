"""The Matrix connector: log in, accept invitations, sync, and carry decisions out.

Sessions: password login (the device id is kept in the connection state so restarts reuse one
device) or an access token. The first sync of a new connection only records the position (so
old history is not acted upon); later syncs resume from the saved position, so events that
arrive while qunyun is down are handled after restart — once, thanks to the store's keys.

Decisions: send (with reply and mention), delete (redact), mute and unmute (power levels: a
muted user's level is set just below what sending a message needs, and removed again), kick,
ban, unban. Each call passes the outbox's idempotency key as the Matrix transaction id where
the API has one. Rate limits (``M_LIMIT_EXCEEDED``) become :class:`TemporaryFailure` with the
homeserver's ``retry_after_ms``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from qunyun.bus.adapters import PermanentFailure, TemporaryFailure
from qunyun.connections.live import ConnectionInfo, call_on_loop
from qunyun.core import decisions as d

from .normalize import account_id, chat_id, local_id, room_event_to_events

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
_FIRST_SYNC_FILTER = {"room": {"timeline": {"limit": 0}}, "presence": {"types": []}}
_SYNC_FILTER = {"presence": {"types": []}, "account_data": {"types": []}}
_TEMPORARY_CODES = {"M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN"}


def _error(resp: Any, what: str) -> Exception | None:
    """The failure for a nio error response, or None if ``resp`` is a success."""
    import nio

    if not isinstance(resp, nio.responses.ErrorResponse):
        return None
    code = resp.status_code or ""
    message = f"matrix {what}: {code} {resp.message}".strip()
    if code == "M_LIMIT_EXCEEDED":
        return TemporaryFailure(message, retry_after=(resp.retry_after_ms or 1000) / 1000)
    transport = getattr(resp, "transport_response", None)
    status = getattr(transport, "status", 0) or 0
    if code in _TEMPORARY_CODES or status >= 500 or status == 0 and not code:
        return TemporaryFailure(message)
    return PermanentFailure(message)


def sources_after_bot_join(sources: list[dict], bot_user: str) -> list[dict]:
    """The timeline events to act on: when the bot's own join is in the timeline (a room it just
    entered), the room's history before it is what happened without the bot, and is skipped."""
    for index in range(len(sources) - 1, -1, -1):
        source = sources[index]
        if (source.get("type") == "m.room.member" and source.get("state_key") == bot_user
                and (source.get("content") or {}).get("membership") == "join"
                and ((source.get("unsigned") or {}).get("prev_content") or {}).get("membership") != "join"):
            return sources[index + 1:]
    return sources


class MatrixConnector:
    platform = "matrix"
    capabilities = frozenset({"send", "delete", "mute", "unmute", "kick", "ban", "unban"})

    def __init__(self, info: ConnectionInfo, *, host) -> None:
        self.info = info
        self.host = host
        self.loop: asyncio.AbstractEventLoop = host.loop
        self.homeserver = info.settings["homeserver"]
        self.user_id = info.settings["user_id"]
        self.client = None
        self.ready = False

    # ----------------------------------------------------------------- session

    async def _login(self):
        import nio

        config = nio.AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2, request_timeout=SYNC_TIMEOUT_MS / 1000 + 15,
                                       store_sync_tokens=False, encryption_enabled=False)
        client = nio.AsyncClient(self.homeserver, self.user_id, device_id=self.info.state.get("device_id"),
                                 config=config)
        token = self.info.secrets.get("token")
        if token:
            client.access_token = token
            resp = await client.whoami()
            if isinstance(resp, nio.responses.ErrorResponse):
                await client.close()
                raise ConnectionError(f"the access token was refused: {resp.status_code} {resp.message}")
            client.user_id = resp.user_id
            client.device_id = resp.device_id or client.device_id
        else:
            resp = await client.login(self.info.secrets.get("password"), device_name="qunyun")
            if isinstance(resp, nio.responses.ErrorResponse):
                await client.close()
                raise ConnectionError(f"login failed: {resp.status_code} {resp.message}")
            if resp.device_id != self.info.state.get("device_id"):
                await self.host.save_state(self.info, device_id=resp.device_id)
        return client

    async def run(self, connected) -> bool:
        import nio

        self.client = await self._login()
        try:
            since = self.info.state.get("since")
            if not since:
                resp = await self.client.sync(timeout=0, sync_filter=_FIRST_SYNC_FILTER, full_state=True)
                if isinstance(resp, nio.responses.ErrorResponse):
                    raise ConnectionError(f"first sync failed: {resp.status_code} {resp.message}")
                await self._accept_invites(resp)
                since = resp.next_batch
                await self.host.save_state(self.info, since=since)
            self.ready = True
            connected()
            while True:
                resp = await self.client.sync(timeout=SYNC_TIMEOUT_MS, sync_filter=_SYNC_FILTER, since=since)
                if isinstance(resp, nio.responses.ErrorResponse):
                    raise ConnectionError(f"sync failed: {resp.status_code} {resp.message}")
                await self._accept_invites(resp)
                await self._handle(resp)
                since = resp.next_batch
                await self.host.save_state(self.info, since=since)
        finally:
            self.ready = False
            client, self.client = self.client, None
            if client is not None:
                await client.close()

    async def _accept_invites(self, resp) -> None:
        for room_id in list(resp.rooms.invite):
            joined = await self.client.join(room_id)
            if _error(joined, "join") is not None:
                log.warning("could not accept the invitation to %s: %s", room_id, getattr(joined, "message", ""))

    async def _handle(self, resp) -> None:
        events = []
        names: dict[str, str] = {}
        for room_id, info in resp.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is not None and room.display_name:
                names[chat_id(room_id)] = room.display_name

            def name_of(user: str, room=room) -> str | None:
                if room is None:
                    return None
                member = room.users.get(user)
                return member.display_name if member is not None else None

            sources = [e.source for e in info.timeline.events if isinstance(getattr(e, "source", None), dict)]
            for source in sources_after_bot_join(sources, self.client.user_id):
                events.extend(room_event_to_events(room_id, source, bot_user=self.client.user_id, name_of=name_of))
        if events:
            await self.host.ingest(self.info, events, group_names=names)

    def close(self) -> None:
        self.ready = False

    # ----------------------------------------------------------------- decisions

    def execute(self, decision: d.Decision, *, idempotency_key: str) -> dict[str, Any] | None:
        if self.client is None or not self.ready:
            raise TemporaryFailure("the Matrix connection is not live yet")
        return call_on_loop(self.loop, self._execute(decision, idempotency_key))

    def invite(self, chat: str, account: str) -> None:
        if self.client is None or not self.ready:
            raise TemporaryFailure("the Matrix connection is not live yet")
        resp = call_on_loop(self.loop, self.client.room_invite(local_id(chat), local_id(account)))
        failure = _error(resp, "invite")
        if failure is not None:
            raise failure

    async def _execute(self, decision: d.Decision, key: str) -> dict[str, Any] | None:
        room = local_id(decision.chat)
        client = self.client
        if isinstance(decision, d.SendMessage):
            content: dict[str, Any] = {"msgtype": "m.text", "body": decision.text}
            if decision.buttons:
                content["body"] += "\n" + " / ".join(decision.buttons)
            if decision.reply_to:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": decision.reply_to}}
            if decision.to_member:
                content["m.mentions"] = {"user_ids": [local_id(decision.to_member)]}
            resp = await client.room_send(room, "m.room.message", content, tx_id=key, ignore_unverified_devices=True)
            self._raise(resp, "send")
            return {"event_id": resp.event_id}
        if isinstance(decision, d.DeleteMessage):
            resp = await client.room_redact(room, decision.message_id, reason=decision.reason or None, tx_id=key)
            self._raise(resp, "redact")
            return {"event_id": resp.event_id}
        if isinstance(decision, (d.Mute, d.Unmute)):
            return await self._set_muted(room, local_id(decision.member), isinstance(decision, d.Mute))
        if isinstance(decision, d.Kick):
            self._raise(await client.room_kick(room, local_id(decision.member), reason=decision.reason or None), "kick")
            return None
        if isinstance(decision, d.Ban):
            self._raise(await client.room_ban(room, local_id(decision.member), reason=decision.reason or None), "ban")
            return None
        if isinstance(decision, d.Unban):
            self._raise(await client.room_unban(room, local_id(decision.member)), "unban")
            return None
        raise PermanentFailure(f"matrix cannot {decision.kind}")

    async def _set_muted(self, room: str, user: str, muted: bool) -> dict[str, Any]:
        """Mute by setting the user's power level just below what sending a message needs."""
        resp = await self.client.room_get_state_event(room, "m.room.power_levels")
        self._raise(resp, "read power levels")
        levels = dict(resp.content)
        users = dict(levels.get("users") or {})
        send_level = int((levels.get("events") or {}).get("m.room.message", levels.get("events_default", 0)))
        current = int(users.get(user, levels.get("users_default", 0)))
        if muted:
            if current < send_level:
                return {"level": current, "changed": False}
            users[user] = send_level - 1
        else:
            if user not in users or int(users[user]) >= send_level:
                return {"level": current, "changed": False}
            users.pop(user)
        levels["users"] = users
        self._raise(await self.client.room_put_state(room, "m.room.power_levels", levels), "set power levels")
        return {"level": users.get(user, levels.get("users_default", 0)), "changed": True}

    @staticmethod
    def _raise(resp: Any, what: str) -> None:
        failure = _error(resp, what)
        if failure is not None:
            raise failure


__all__ = ["MatrixConnector", "account_id", "chat_id"]

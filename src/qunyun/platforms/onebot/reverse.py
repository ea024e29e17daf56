"""The OneBot v11 reverse WebSocket: the implementation connects to
``/hooks/onebot/<community>/ws`` and sends events; qunyun sends actions back on it.

Plain ASGI (routed by :mod:`qunyun.asgi`): a wrong access token is answered ``401`` before the
handshake completes (where the server supports denial responses, else the socket is closed with
code 1008), and logged without any payload.
"""

from __future__ import annotations

import asyncio
import logging
import re

from .auth import token_from, token_ok
from .live import OneBotConnector, Transport

log = logging.getLogger(__name__)

PATH = re.compile(r"^/hooks/onebot/(?P<slug>[-\w]+)/ws/?$")


def _lookup(slug: str):
    """The connection's connector (the running one under ``qunyun serve``, else a new one)."""
    from django.db import close_old_connections

    from qunyun.connections.models import Connection
    from qunyun.connections.supervisor import connection_info, supervisor_get

    close_old_connections()
    conn = Connection.objects.select_related("community").filter(
        community__slug=slug, platform="onebot", enabled=True).first()
    if conn is None:
        return None
    supervisor = supervisor_get()
    if supervisor is not None and conn.pk in supervisor.connectors:
        return supervisor.connectors[conn.pk]
    # No supervisor in this process (a web-only process, tests): serve the socket with a
    # connector of its own and make it the outbox's OneBot adapter here.
    from qunyun.bus.registry import adapter_get, adapter_register
    from qunyun.connections.router import PlatformRouter

    connector = OneBotConnector(connection_info(conn), host=None)
    router = adapter_get("onebot")
    if not isinstance(router, PlatformRouter):
        router = PlatformRouter("onebot", OneBotConnector.capabilities)
        adapter_register(router)
    router.add(connector)
    return connector


async def _deny(scope, send, status: int, text: str) -> None:
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "websocket.http.response.body", "body": text.encode()})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def onebot_reverse_ws(scope, receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    match = PATH.match(scope.get("path", ""))
    if match is None:
        await _deny(scope, send, 404, "not found")
        return
    slug = match.group("slug")
    connector = await asyncio.to_thread(_lookup, slug)
    if connector is None:
        await _deny(scope, send, 404, f"no onebot connection for {slug}")
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers") or ()}
    given = token_from(headers.get("authorization"), (scope.get("query_string") or b"").decode())
    if not token_ok(connector.access_token, given):
        client = (scope.get("client") or ("?",))[0]
        log.warning("refused a onebot reverse WebSocket for %s from %s: missing or wrong access token", slug, client)
        await _deny(scope, send, 401, "unauthorized")
        return
    await send({"type": "websocket.accept"})

    async def send_text(text: str) -> None:
        await send({"type": "websocket.send", "text": text})

    from qunyun.connections.ingest import ingest_events

    info = connector.info

    async def ingest(events) -> None:
        await asyncio.to_thread(ingest_events, info.community_id, events, connection_id=info.id)

    connector.attach(Transport(send_text, asyncio.get_running_loop()))
    queue: asyncio.Queue = asyncio.Queue()
    consumer = asyncio.get_running_loop().create_task(connector.consume(queue, ingest))
    await asyncio.to_thread(_status, info.id, "connected")
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            if message["type"] == "websocket.receive":
                text = message.get("text") if message.get("text") is not None else message.get("bytes", b"")
                frame = connector.frame_received(text)
                if frame is not None:
                    queue.put_nowait(frame)
    finally:
        connector.attach(None)
        consumer.cancel()
        await asyncio.to_thread(_status, info.id, "waiting")


def _status(connection_id: int, status: str) -> None:
    from django.db import close_old_connections

    from qunyun.connections.services import connection_status_set

    close_old_connections()
    connection_status_set(connection_id=connection_id, status=status)

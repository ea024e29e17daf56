"""The OneBot v11 connector: forward WebSocket (qunyun connects), reverse WebSocket or HTTP POST
(the implementation connects or posts to qunyun), and actions with echo ids.

Actions go over whichever WebSocket is up (forward or reverse, sharing one code path: a send
function and the event loop it lives on); without one, over the implementation's HTTP API when
``api_url`` is set; otherwise the outbox is told to try again later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import httpx

from qunyun.bus.adapters import TemporaryFailure
from qunyun.connections.live import ConnectionInfo, call_on_loop
from qunyun.core.timeutil import utcnow

from .actions import CAPABILITIES, check_answer, decision_actions
from .normalize import event_to_events

log = logging.getLogger(__name__)

ACTION_TIMEOUT = 15.0


class Transport:
    """One live WebSocket to the implementation: a send coroutine, its loop, answers by echo."""

    def __init__(self, send, loop: asyncio.AbstractEventLoop) -> None:
        self.send = send
        self.loop = loop
        self.pending: dict[str, asyncio.Future] = {}

    async def call(self, action: str, params: dict[str, Any]) -> Any:
        echo = uuid.uuid4().hex
        future = self.loop.create_future()
        self.pending[echo] = future
        try:
            await self.send(json.dumps({"action": action, "params": params, "echo": echo}, ensure_ascii=False))
            answer = await asyncio.wait_for(future, ACTION_TIMEOUT)
        except asyncio.TimeoutError:
            raise TemporaryFailure(f"onebot {action}: no answer within {ACTION_TIMEOUT:.0f} s") from None
        finally:
            self.pending.pop(echo, None)
        return check_answer(action, answer)

    def answered(self, frame: dict[str, Any]) -> bool:
        """Resolve a pending action if ``frame`` is its answer."""
        echo = frame.get("echo")
        if isinstance(echo, str) and echo in self.pending and "status" in frame:
            future = self.pending[echo]
            if not future.done():
                future.set_result(frame)
            return True
        return False

    def fail_all(self) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(TemporaryFailure("the OneBot WebSocket closed"))


class OneBotConnector:
    platform = "onebot"
    capabilities = CAPABILITIES

    def __init__(self, info: ConnectionInfo, *, host) -> None:
        self.info = info
        self.host = host
        self.transport: Transport | None = None
        self.access_token = info.secrets.get("access_token")
        self.api_url = info.settings.get("api_url")

    # ----------------------------------------------------------------- events

    def frame_received(self, text: str | bytes) -> dict[str, Any] | None:
        """One frame from the implementation: an action's answer is resolved here (at once, so
        answers never wait behind events); an event is returned for :meth:`consume`."""
        try:
            frame = json.loads(text)
        except ValueError:
            log.warning("onebot %s: a frame that is not JSON (%d bytes, not logged)", self.info.community_slug, len(text))
            return None
        if not isinstance(frame, dict) or (self.transport is not None and self.transport.answered(frame)):
            return None
        return frame

    async def consume(self, queue: asyncio.Queue, ingest) -> None:
        """Store events in the order they came, one after another."""
        while True:
            frame = await queue.get()
            try:
                events = event_to_events(frame)
                if events:
                    await ingest(events)
            except Exception:  # one bad event must not stop the connection
                log.exception("onebot %s: an event could not be handled", self.info.community_slug)

    def attach(self, transport: Transport | None) -> None:
        if self.transport is not None and transport is None:
            self.transport.fail_all()
        self.transport = transport

    # ----------------------------------------------------------------- session

    async def run(self, connected) -> bool:
        if self.info.settings.get("mode") != "forward":
            return False
        import websockets

        headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        async with websockets.connect(self.info.settings["ws_url"], additional_headers=headers,
                                      max_size=16 * 2**20) as ws:
            transport = Transport(ws.send, asyncio.get_running_loop())
            self.attach(transport)
            queue: asyncio.Queue = asyncio.Queue()
            consumer = asyncio.get_running_loop().create_task(
                self.consume(queue, lambda events: self.host.ingest(self.info, events)))
            connected()
            try:
                async for message in ws:
                    frame = self.frame_received(message)
                    if frame is not None:
                        queue.put_nowait(frame)
            finally:
                self.attach(None)
                consumer.cancel()
        raise ConnectionError("the OneBot WebSocket closed")

    def close(self) -> None:
        self.attach(None)

    # ----------------------------------------------------------------- decisions

    def execute(self, decision, *, idempotency_key: str) -> dict[str, Any] | None:
        result = None
        for action, params in decision_actions(decision, now=utcnow()):
            result = self.call(action, params)
        return {"message_id": result["message_id"]} if isinstance(result, dict) and "message_id" in result else None

    def call(self, action: str, params: dict[str, Any]) -> Any:
        transport = self.transport
        if transport is not None:
            return call_on_loop(transport.loop, transport.call(action, params), timeout=ACTION_TIMEOUT + 5)
        if self.api_url:
            headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
            try:
                answer = httpx.post(f"{self.api_url.rstrip('/')}/{action}", json=params, headers=headers, timeout=15)
            except httpx.HTTPError as exc:
                raise TemporaryFailure(f"onebot {action}: {type(exc).__name__}") from None
            if answer.status_code in (401, 403):
                from qunyun.bus.adapters import PermanentFailure

                raise PermanentFailure(f"onebot {action}: the HTTP API refused the access token")
            try:
                body = answer.json()
            except ValueError:
                raise TemporaryFailure(f"onebot {action}: HTTP {answer.status_code}") from None
            return check_answer(action, body)
        raise TemporaryFailure("no OneBot WebSocket is connected and no --api-url is set")

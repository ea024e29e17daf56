"""The supervisor: runs every enabled connection of this process on one asyncio loop thread.

It builds each connection's connector, registers one :class:`~.router.PlatformRouter` per
platform with the outbox's adapter registry, and keeps each session alive: when a session
drops, the connection's status says so (``reconnecting``, the error, the reconnect count) and
it is retried after 1, 2, 4 … 60 seconds. Database work from the loop (ingesting events,
status, sync positions) runs on one helper thread, so the loop never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from qunyun.bus.registry import adapter_register

from .live import ConnectionInfo, Connector, reconnect_delay
from .models import Connection
from .router import PlatformRouter
from .secrets import SecretError
from .services import connection_secrets, connection_state_set, connection_status_set

log = logging.getLogger(__name__)

#: The connector class of each platform (imported only when a connection uses it).
CONNECTORS = {
    "matrix": "qunyun.platforms.matrix.live:MatrixConnector",
    "telegram": "qunyun.platforms.telegram.live:TelegramConnector",
    "onebot": "qunyun.platforms.onebot.live:OneBotConnector",
    "generic": "qunyun.platforms.generic.live:GenericConnector",
}


def connector_class(platform: str):
    module, _, name = CONNECTORS[platform].partition(":")
    return getattr(importlib.import_module(module), name)


def connection_info(conn: Connection) -> ConnectionInfo:
    return ConnectionInfo(id=conn.pk, community_id=conn.community_id, community_slug=conn.community.slug,
                          platform=conn.platform, settings=dict(conn.settings or {}),
                          secrets=connection_secrets(conn), state=dict(conn.state or {}))


class Host:
    """What connectors may ask of the process: store events, save progress, report status."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qunyun-db")

    async def _db(self, fn, *args, **kwargs):
        def call():
            close_old_connections()
            return fn(*args, **kwargs)
        return await self.loop.run_in_executor(self.db, call)

    async def ingest(self, info: ConnectionInfo, events, *, group_names: dict[str, str] | None = None):
        from .ingest import ingest_events

        return await self._db(ingest_events, info.community_id, list(events), group_names=group_names,
                              connection_id=info.id)

    async def save_state(self, info: ConnectionInfo, **values) -> None:
        info.state.update(values)
        await self._db(connection_state_set, connection_id=info.id, **values)

    async def status(self, info: ConnectionInfo, status: str, *, error: str = "", reconnect: bool = False) -> None:
        await self._db(connection_status_set, connection_id=info.id, status=status, error=error, reconnect=reconnect)


class Supervisor:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.host = Host(self.loop)
        self.routers: dict[str, PlatformRouter] = {}
        self.connectors: dict[int, Connector] = {}
        self._thread = threading.Thread(target=self._run, name="qunyun-connections", daemon=True)
        self._tasks: dict[int, asyncio.Future] = {}

    def _run(self) -> None:  # pragma: no cover - runs in serve and e2e
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        """Start every enabled connection (call from a thread that may use the database)."""
        self._thread.start()
        for conn in Connection.objects.filter(enabled=True).select_related("community"):
            self.add(conn)

    def add(self, conn: Connection) -> Connector | None:
        try:
            info = connection_info(conn)
        except SecretError as exc:
            connection_status_set(connection_id=conn.pk, status=Connection.Status.ERROR, error=str(exc))
            log.error("connection %s/%s: %s", conn.community.slug, conn.platform, exc)
            return None
        cls = connector_class(conn.platform)
        connector = cls(info, host=self.host)
        router = self.routers.get(conn.platform)
        if router is None:
            router = self.routers[conn.platform] = PlatformRouter(conn.platform, cls.capabilities)
            adapter_register(router)
        router.add(connector)
        self.connectors[conn.pk] = connector
        self._tasks[conn.pk] = asyncio.run_coroutine_threadsafe(self._keep(connector), self.loop)
        return connector

    async def _keep(self, connector: Connector) -> None:
        info = connector.info
        attempt = 0

        def connected() -> None:
            nonlocal attempt
            attempt = 0
            self.loop.create_task(self.host.status(info, Connection.Status.CONNECTED))

        await self.host.status(info, Connection.Status.CONNECTING)
        while True:
            try:
                holds = await connector.run(connected)
                if not holds:  # webhook-style: nothing to hold, the platform calls us
                    await self.host.status(info, Connection.Status.WAITING)
                    return
                raise ConnectionError("session ended")
            except asyncio.CancelledError:
                raise
            except SecretError as exc:
                await self.host.status(info, Connection.Status.ERROR, error=str(exc))
                return
            except Exception as exc:  # a dropped session: say so, wait, reconnect
                delay = reconnect_delay(attempt)
                attempt += 1
                message = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("connection %s/%s dropped (%s); reconnecting in %.0f s", info.community_slug,
                            info.platform, message, delay)
                await self.host.status(info, Connection.Status.RECONNECTING, error=message, reconnect=True)
                await asyncio.sleep(delay)

    def stop(self) -> None:
        """Stop every connection: its task cancelled and finished, the connectors closed, the
        loop stopped. The tasks finish before the loop stops: a task merely asked to cancel when
        the loop stopped stayed pending, and was closed later by the collector, where it took the
        interruption for a dropped session and tried to report it on the closed loop."""
        if self.loop.is_running() and threading.current_thread() is not self._thread:
            try:
                asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(timeout=STOP_TIMEOUT_SECONDS)
            except Exception as exc:  # a connector that does not stop in time: the loop stops all the same
                log.warning("connections did not all stop within %.0f s (%s)", STOP_TIMEOUT_SECONDS, exc)
        else:
            for future in self._tasks.values():
                future.cancel()
        for connector in self.connectors.values():
            try:
                connector.close()
            except Exception:  # pragma: no cover - best effort at shutdown
                pass
        for conn_id in self.connectors:
            connection_status_set(connection_id=conn_id, status=Connection.Status.STOPPED)
        self.loop.call_soon_threadsafe(self.loop.stop)


#: How long :meth:`Supervisor.stop` waits for the connections' tasks to finish.
STOP_TIMEOUT_SECONDS = 5.0


async def _cancel_all() -> None:
    """Cancel every other task of the running loop and wait until each has finished."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


_supervisor: Supervisor | None = None


def supervisor_start() -> Supervisor:
    """Start the connections of this process (once)."""
    global _supervisor
    if _supervisor is None:
        _supervisor = Supervisor()
        _supervisor.start()
    return _supervisor


def supervisor_get() -> Supervisor | None:
    return _supervisor

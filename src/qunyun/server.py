"""``qunyun serve``: the console, the API, the platform connections, the scheduler and the outbox
worker — one process on the embedded default.

The scheduler is the outbox worker itself: delayed decisions (the end of a mute, a screening
timeout) are outbox rows with a due time, and the worker sleeps until the next one is due.
Connections (Matrix sync, Telegram polling, OneBot WebSocket) run on one asyncio loop thread
(:mod:`qunyun.connections.supervisor`); webhooks and the OneBot reverse WebSocket are served by
the same web server (:mod:`qunyun.asgi`). ``QUNYUN_CONNECTIONS=0`` starts no connection.
"""

from __future__ import annotations

import errno
import logging
import socket

from qunyun.cli.errors import UserError

log = logging.getLogger(__name__)

_worker = None


def check_port(host: str, port: int) -> None:
    """Fail with one clear line when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} on {host} is already in use; pick another with --port") from exc
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); check --host and --port") from exc


def start_background(*, connections: bool | None = None) -> None:
    """Start the outbox worker and (unless ``QUNYUN_CONNECTIONS=0``) the connections, once per process."""
    global _worker
    if _worker is not None:
        return
    import os

    from qunyun.bus.worker import OutboxWorker

    _worker = OutboxWorker()
    _worker.start()
    if connections is None:
        connections = os.environ.get("QUNYUN_CONNECTIONS", "1").strip().lower() not in ("0", "false", "no", "off")
    if connections:
        from qunyun.connections.supervisor import supervisor_start

        supervisor_start()


def outbox_doorbell():
    """The running worker's wake function, for runtimes in this process (or None)."""
    return _worker.wake if _worker is not None else None


def serve(*, host: str, port: int, banner: str | None = None) -> None:
    """Run everything until interrupted."""
    import uvicorn

    check_port(host, port)
    start_background()
    shown = "localhost" if host in ("127.0.0.1", "::1", "0.0.0.0") else host
    print(banner or f"qunyun console: http://{shown}:{port}/", flush=True)
    uvicorn.run("qunyun.asgi:application", host=host, port=port, log_level="warning", lifespan="off")

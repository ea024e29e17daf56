"""``qunyun version``, ``migrate``, ``serve`` and ``operator create``."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from .errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=cmd_version)

    p = sub.add_parser("migrate", help="create or update the database schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("serve", help="run the console, API, bot runtime and workers in one process")
    add_server_arguments(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="consume events from Redis Streams (needs QUNYUN_REDIS_URL)")
    p.add_argument("--name", default=None, help="consumer name (default: host name and process id)")
    p.add_argument("--partitions", type=int, default=8)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("operator", help="manage console operators")
    osub = p.add_subparsers(dest="operator_command", metavar="ACTION")
    c = osub.add_parser("create", help="create (or reset the password of) an operator")
    c.add_argument("username")
    c.add_argument("--password", help="password (default: QUNYUN_OPERATOR_PASSWORD, else asked for)")
    c.add_argument("--email", default="")
    c.add_argument("--superuser", action="store_true", help="may manage every community and operator")
    c.set_defaults(func=cmd_operator_create)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def add_server_arguments(p: argparse.ArgumentParser, *, default_port: int = 8000) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port})")


def cmd_version(args: argparse.Namespace) -> int:
    from qunyun import __version__

    print(f"qunyun {__version__} (Python {sys.version.split()[0]})")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready, migrate_if_needed

    django_ready(migrate=False)
    applied = migrate_if_needed(verbosity=0)
    print(f"database is up to date ({applied} migration(s) applied)")
    return 0


def cmd_operator_create(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.communities.services import operator_create

    password = args.password or os.environ.get("QUNYUN_OPERATOR_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise UserError("no password: pass --password or set QUNYUN_OPERATOR_PASSWORD", exit_code=2)
        password = getpass.getpass("Password: ")
    user, created = operator_create(username=args.username, password=password, email=args.email,
                                    superuser=args.superuser)
    print(f"operator {user.username!r} {'created' if created else 'updated'}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.server import serve

    serve(host=args.host, port=args.port)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from .bootstrap import django_ready

    django_ready()
    import socket

    from django.conf import settings

    if not settings.QUNYUN_REDIS_URL:
        raise UserError("qunyun worker needs QUNYUN_REDIS_URL (e.g. redis://127.0.0.1:6379/0)", exit_code=2)
    from qunyun.bus.runtime import Runtime
    from qunyun.bus.streams import StreamConsumer
    from qunyun.communities.services import community_get
    from qunyun.server import outbox_doorbell, start_background

    start_background()
    runtimes: dict[str, Runtime] = {}

    def runtime_for(slug: str) -> Runtime:
        if slug not in runtimes:
            runtimes[slug] = Runtime(community_get(slug=slug), wake=outbox_doorbell())
        return runtimes[slug]

    try:
        consumer = StreamConsumer(settings.QUNYUN_REDIS_URL, consumer=args.name or f"{socket.gethostname()}-{os.getpid()}",
                                  runtime_for=runtime_for, partitions=args.partitions)
    except Exception as exc:
        raise UserError(f"cannot use Redis at {settings.QUNYUN_REDIS_URL}: {exc}") from exc
    print(f"worker {consumer.consumer} consuming {len(consumer.streams)} streams", flush=True)
    while True:
        consumer.run_once()

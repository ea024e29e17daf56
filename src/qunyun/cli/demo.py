"""``qunyun demo``: build a realistic demo community, print a login, and serve the console.

The port is checked first, so a port in use fails at once rather than after the build. The
build is kept: a second run reuses it (``--reset`` rebuilds). The login is generated once and
kept in ``$QUNYUN_HOME/demo-login.txt``.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

from .errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="build a realistic demo community and open the console",
        description="Build the demo community (90 days of three simulated tea-and-coffee groups on QQ and "
                    "Telegram) in the local database, then serve the console and print a login.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.add_argument("--reset", action="store_true", help="throw the demo community away and build it again")
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default 1); a new seed needs --reset")
    p.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="size factor for groups and message volume (default 1.0; 0.2 builds a small demo fast)")
    p.add_argument("--no-serve", action="store_true", help="build the demo and print the login, then exit")
    p.set_defaults(func=cmd_demo)


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.days < 1 or args.days > 3660:
        raise UserError("--days must be between 1 and 3660", exit_code=2)
    if not 0 < args.scale <= 20:
        raise UserError("--scale must be more than 0 and at most 20", exit_code=2)
    started = time.perf_counter()
    if not args.no_serve:
        from qunyun.server import check_port

        check_port(args.host, args.port)  # before the slow part: a busy port fails at once

    from .bootstrap import django_ready

    django_ready()
    _say(f"[1/3] database ready ({_database_label()})")

    from qunyun.demo.build import DemoError, build_demo, demo_login

    try:
        build = build_demo(seed=args.seed, days=args.days, scale=args.scale, reset=args.reset,
                           progress=lambda line: _say("      " + line))
    except DemoError as exc:
        raise UserError(str(exc)) from exc
    if build.reused:
        note = "" if build.seed == args.seed else f"; it was built with seed {build.seed}, add --reset to use seed {args.seed}"
        _say(f"[2/3] demo community already built, reusing it (qunyun demo --reset rebuilds it{note})")
    else:
        _say(f"[2/3] demo community built: {build.events:,} events in {build.seconds:.1f} s")
    username, password = demo_login()
    _say(f"[3/3] operator login ready ({time.perf_counter() - started:.1f} s since start)")

    shown = "localhost" if args.host in ("127.0.0.1", "::1", "0.0.0.0", "::") else args.host
    base = f"http://{shown}:{args.port}"
    url = f"{base}/c/{build.community.slug}/"
    _say("")
    _say(f"  login:     {username} / {password}   (kept in {_login_file()})")
    if args.no_serve:
        _say(f"  run `qunyun demo` (or `qunyun serve`) and open {url}")
        return 0
    _say(f"  console:   {url}")
    _say("  stop with Ctrl+C")
    if not args.no_browser:
        _open_browser_when_up(args.host, args.port, url)
    from qunyun.server import serve

    serve(host=args.host, port=args.port, banner=f"qunyun demo is serving at {url}")
    return 0


def _database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        return f"SQLite {connection.settings_dict['NAME']}"
    return f"{connection.vendor} {connection.settings_dict.get('NAME', '')}"


def _login_file() -> str:
    from django.conf import settings

    from qunyun.demo.build import LOGIN_FILE

    return str(settings.QUNYUN_HOME / LOGIN_FILE)


def _open_browser_when_up(host: str, port: int, url: str) -> None:
    """Open ``url`` in a browser once the server answers; never fails, never blocks.

    On Linux without a display there is no browser to open (and :mod:`webbrowser` would
    start a text-mode one in this terminal), so nothing is done there.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return

    def wait_and_open() -> None:
        target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
        for _ in range(150):
            try:
                with socket.create_connection((target, port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        try:
            import webbrowser

            webbrowser.open(url)
        except Exception:  # no browser is not an error for a demo
            pass

    threading.Thread(target=wait_and_open, name="qunyun-open-browser", daemon=True).start()

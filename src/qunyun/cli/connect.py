"""``qunyun connect matrix|telegram|onebot|generic`` and ``qunyun connections list``.

Secrets (passwords, tokens, signing secrets) are stored encrypted, or — written as
``env:NAME`` — read from the environment variable ``NAME`` when the bot starts, so they never
touch the database. They are never printed.
"""

from __future__ import annotations

import argparse
import re
import secrets as _secrets
import sys

from .errors import UserError

_MATRIX_USER = re.compile(r"^@[^:\s]+:\S+$")
_TELEGRAM_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_TELEGRAM_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("connect", help="connect a community's bot to a chat platform")
    psub = p.add_subparsers(dest="platform", metavar="PLATFORM")

    m = psub.add_parser("matrix", help="a Matrix account (the bot) on a homeserver")
    m.add_argument("--community", required=True, metavar="SLUG")
    m.add_argument("--homeserver", required=True, metavar="URL", help="e.g. https://matrix.example.org")
    m.add_argument("--user-id", required=True, metavar="ID", help="the bot's Matrix id, e.g. @qunyun:example.org")
    how = m.add_mutually_exclusive_group(required=True)
    how.add_argument("--password", metavar="PW", help="the bot's password (or env:NAME)")
    how.add_argument("--token", metavar="T", help="an access token (or env:NAME)")
    m.set_defaults(func=cmd_matrix)

    t = psub.add_parser("telegram", help="a Telegram bot (token from @BotFather)")
    t.add_argument("--community", required=True, metavar="SLUG")
    t.add_argument("--token", required=True, metavar="T", help="the bot token (or env:NAME)")
    mode = t.add_mutually_exclusive_group()
    mode.add_argument("--webhook-url", metavar="URL",
                      help="public HTTPS URL Telegram posts to: https://HOST/hooks/telegram/SLUG/")
    mode.add_argument("--polling", action="store_true", help="long polling (getUpdates); the default")
    t.add_argument("--secret", metavar="S", help="webhook secret token (A-Z a-z 0-9 _ -); generated if omitted")
    t.add_argument("--api-base", metavar="URL", default="https://api.telegram.org",
                   help="Bot API server (default https://api.telegram.org; a local Bot API server works too)")
    t.add_argument("--member-updates", choices=("chat_member", "messages"), default="chat_member",
                   help="where joins and leaves are read from: chat_member updates (the bot is an administrator; "
                        "carries the invite link) or the service messages")
    t.set_defaults(func=cmd_telegram)

    o = psub.add_parser("onebot", help="a QQ bot through OneBot v11 (NapCat, Lagrange…)")
    o.add_argument("--community", required=True, metavar="SLUG")
    omode = o.add_mutually_exclusive_group(required=True)
    omode.add_argument("--ws-url", metavar="URL", help="forward WebSocket of the OneBot implementation (qunyun connects)")
    omode.add_argument("--reverse", action="store_true",
                       help="the implementation connects to ws://HOST/hooks/onebot/SLUG/ws (and/or posts events "
                            "to http://HOST/hooks/onebot/SLUG/)")
    o.add_argument("--access-token", metavar="T", help="OneBot access_token (or env:NAME)")
    o.add_argument("--secret", metavar="S", help="HTTP POST signing secret (X-Signature) (or env:NAME)")
    o.add_argument("--api-url", metavar="URL", help="the implementation's HTTP API, for actions when no WebSocket is up")
    o.set_defaults(func=cmd_onebot)

    g = psub.add_parser("generic", help="signed JSON events from any system (qunyun's own event shape)")
    g.add_argument("--community", required=True, metavar="SLUG")
    g.add_argument("--secret", required=True, metavar="S", help="HMAC-SHA256 signing secret (or env:NAME)")
    g.add_argument("--window", type=int, default=300, metavar="SECONDS",
                   help="accepted clock difference of the timestamp header (default 300)")
    g.set_defaults(func=cmd_generic)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    c = sub.add_parser("connections", help="list the bot's platform connections")
    csub = c.add_subparsers(dest="connections_command", metavar="ACTION")
    ls = csub.add_parser("list", help="connections with their status (secrets are never shown)")
    ls.add_argument("--community", metavar="SLUG")
    ls.set_defaults(func=cmd_list)
    links = csub.add_parser("invite-links", help="create a named Telegram invite link per channel route "
                            "(joins through it are attributed to the channel)")
    links.add_argument("--community", required=True, metavar="SLUG")
    links.set_defaults(func=cmd_invite_links)
    c.set_defaults(func=cmd_list, community=None)


def _save(args, platform: str, settings: dict, secrets: dict) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.connections.services import connection_configure
    from qunyun.connections.secrets import mask

    from .communities import get_community

    community = get_community(args.community)
    conn, created = connection_configure(community=community, platform=platform, settings=settings, secrets=secrets)
    stored = ", ".join(f"{name} {mask(value)}" for name, value in secrets.items() if value) or "no secrets"
    print(f"{platform} connection for {community.slug} {'created' if created else 'updated'} ({stored}); "
          "it starts with: qunyun serve")
    return 0


def _check_url(value: str, option: str, schemes=("http", "https")) -> str:
    if not re.match(rf"^({'|'.join(schemes)})://[^\s/]+", value or ""):
        raise UserError(f"{option}: {value!r} is not a {'/'.join(schemes)} URL", exit_code=2)
    return value.rstrip("/")


def cmd_matrix(args) -> int:
    homeserver = _check_url(args.homeserver, "--homeserver")
    if not _MATRIX_USER.match(args.user_id):
        raise UserError(f"--user-id: {args.user_id!r} is not a Matrix id (like @qunyun:example.org)", exit_code=2)
    return _save(args, "matrix", {"homeserver": homeserver, "user_id": args.user_id},
                 {"password": args.password, "token": args.token})


def cmd_telegram(args) -> int:
    if not args.token.startswith("env:") and not _TELEGRAM_TOKEN.match(args.token):
        raise UserError("--token: this is not a bot token as @BotFather gives it (digits:letters)", exit_code=2)
    settings = {"api_base": _check_url(args.api_base, "--api-base"), "member_updates": args.member_updates}
    secret = args.secret
    if args.webhook_url:
        settings["mode"] = "webhook"
        settings["webhook_url"] = _check_url(args.webhook_url, "--webhook-url")
        if not settings["webhook_url"].startswith("https://"):
            print("qunyun: warning: Telegram only delivers webhooks to https:// URLs", file=sys.stderr)
        secret = secret or _secrets.token_urlsafe(32)
        if not secret.startswith("env:") and not _TELEGRAM_SECRET.match(secret):
            raise UserError("--secret: 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)", exit_code=2)
    else:
        if secret:
            raise UserError("--secret is for --webhook-url (polling needs none)", exit_code=2)
        settings["mode"] = "polling"
    return _save(args, "telegram", settings, {"token": args.token, "secret": secret})


def cmd_onebot(args) -> int:
    settings: dict = {"mode": "reverse" if args.reverse else "forward"}
    if args.ws_url:
        settings["ws_url"] = _check_url(args.ws_url, "--ws-url", schemes=("ws", "wss"))
    if args.api_url:
        settings["api_url"] = _check_url(args.api_url, "--api-url")
    return _save(args, "onebot", settings, {"access_token": args.access_token, "secret": args.secret})


def cmd_generic(args) -> int:
    if args.window < 1:
        raise UserError("--window must be at least 1 second", exit_code=2)
    if not args.secret.startswith("env:") and len(args.secret) < 16:
        raise UserError("--secret: use at least 16 characters", exit_code=2)
    return _save(args, "generic", {"window": args.window}, {"secret": args.secret})


def cmd_list(args) -> int:
    from .bootstrap import django_ready

    django_ready()
    from qunyun.connections.selectors import connections_all

    from .communities import get_community

    views = connections_all()
    if getattr(args, "community", None):
        slug = get_community(args.community).slug
        views = [v for v in views if v.community == slug]
    if not views:
        print("no connections yet: qunyun connect PLATFORM --community SLUG …")
        return 0
    for v in views:
        detail = ", ".join(f"{k}={val}" for k, val in v.settings.items())
        secrets = ", ".join(f"{k} {val}" for k, val in v.secrets.items())
        state = v.status_label + ("" if v.enabled else " (disabled)")
        error = f"\tlast error: {v.last_error}" if v.last_error else ""
        print(f"{v.community}\t{v.platform}\t{state}\treconnects {v.reconnects}\t{detail}\t{secrets}{error}")
    return 0


def cmd_invite_links(args) -> int:
    """Create the missing invite links of a community's Telegram channel routes."""
    from .bootstrap import django_ready

    django_ready()
    from qunyun.bus.adapters import PermanentFailure, TemporaryFailure
    from qunyun.connections.models import Connection
    from qunyun.connections.services import connection_secrets
    from qunyun.onboarding.models import ChannelRoute
    from qunyun.platforms.telegram.api import BotApi

    from .communities import get_community

    community = get_community(args.community)
    conn = Connection.objects.filter(community=community, platform="telegram").first()
    if conn is None:
        raise UserError(f"{community.slug} has no Telegram connection: qunyun connect telegram --community "
                        f"{community.slug} --token T", exit_code=2)
    api = BotApi(connection_secrets(conn)["token"], api_base=conn.settings.get("api_base", "https://api.telegram.org"))
    routes = ChannelRoute.objects.filter(channel__community=community, group__platform="telegram",
                                         invite_link="").select_related("channel", "group")
    made = 0
    for route in routes:
        try:
            link = api.create_invite_link(route.group.chat_id, name=route.channel.name or route.channel.code)
        except (PermanentFailure, TemporaryFailure) as exc:
            raise UserError(f"channel {route.channel.code} in {route.group.chat_id}: {exc} "
                            "(is the bot an administrator allowed to invite users?)") from None
        route.invite_link = link
        route.save(update_fields=["invite_link"])
        if not route.channel.invite_link:
            route.channel.invite_link = link
            route.channel.save(update_fields=["invite_link"])
        print(f"{route.channel.code}\t{route.group.chat_id}\t{link}")
        made += 1
    print(f"{made} invite link(s) created")
    return 0

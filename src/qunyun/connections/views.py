"""The webhook views: authenticate, parse, ingest. Thin on purpose: the work is in the platform
packages; a wrong token or signature is answered 401 and logged without the body."""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Connection
from .secrets import SecretError
from .services import connection_secrets

log = logging.getLogger(__name__)


class Refused(Exception):
    """Authentication failed: answer 401 (the reason is logged, never the body)."""


def connection_for(slug: str, platform: str) -> tuple[Connection, dict[str, str]] | None:
    conn = (Connection.objects.select_related("community")
            .filter(community__slug=slug, platform=platform, enabled=True).first())
    if conn is None:
        return None
    return conn, connection_secrets(conn)


def _unauthorized(request: HttpRequest, platform: str, slug: str, why: str) -> JsonResponse:
    log.warning("refused a %s webhook for %s from %s: %s (%d bytes, body not logged)", platform, slug,
                request.META.get("REMOTE_ADDR", "?"), why, len(request.body))
    return JsonResponse({"ok": False, "error": "unauthorized"}, status=401)


def _hook(platform: str, handle):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, slug: str):
        try:
            found = connection_for(slug, platform)
        except SecretError as exc:
            log.error("%s webhook for %s: %s", platform, slug, exc)
            return JsonResponse({"ok": False, "error": "connection secrets unreadable"}, status=503)
        if found is None:
            return JsonResponse({"ok": False, "error": f"no {platform} connection for {slug}"}, status=404)
        conn, secrets = found
        try:
            return handle(request, conn, secrets)
        except Refused as exc:
            return _unauthorized(request, platform, slug, str(exc))
        except (ValueError, json.JSONDecodeError) as exc:
            return JsonResponse({"ok": False, "error": str(exc)[:500]}, status=400)
    view.__name__ = f"{platform}_webhook"
    return view


def _telegram(request, conn, secrets):
    from qunyun.platforms.telegram.webhook import telegram_handle

    return telegram_handle(request, conn, secrets)


def _onebot(request, conn, secrets):
    from qunyun.platforms.onebot.http import onebot_handle

    return onebot_handle(request, conn, secrets)


def _generic(request, conn, secrets):
    from qunyun.platforms.generic.webhook import generic_handle

    return generic_handle(request, conn, secrets)


telegram_webhook = _hook("telegram", _telegram)
onebot_http = _hook("onebot", _onebot)
generic_events = _hook("generic", _generic)

"""The Telegram webhook: check the secret token header, store the update, answer 200.

Telegram retries a webhook until it gets a 2xx; a retried update has the same event keys, so it
is stored and acted upon once.
"""

from __future__ import annotations

import hmac
import json

from django.http import JsonResponse

from qunyun.connections.ingest import ingest_events
from qunyun.connections.views import Refused

from .live import updates_to_events

SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"


def telegram_handle(request, conn, secrets) -> JsonResponse:
    expected = secrets.get("secret") or ""
    given = request.META.get(SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused("missing or wrong X-Telegram-Bot-Api-Secret-Token")
    try:
        update = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    if not isinstance(update, dict) or "update_id" not in update:
        raise ValueError("the body is not a Telegram Update (no update_id)")
    events, names = updates_to_events([update], member_updates=conn.settings.get("member_updates", "chat_member"))
    result = ingest_events(conn.community_id, events, group_names=names, connection_id=conn.pk)
    return JsonResponse({"ok": True, "stored": result.stored, "duplicates": result.duplicates})

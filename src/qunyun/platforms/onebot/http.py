"""OneBot v11 HTTP POST: the implementation posts each event to ``/hooks/onebot/<community>/``."""

from __future__ import annotations

import json

from django.http import HttpResponse

from qunyun.connections.ingest import ingest_events
from qunyun.connections.views import Refused

from .auth import signature_ok, token_from, token_ok
from .normalize import event_to_events


def onebot_handle(request, conn, secrets) -> HttpResponse:
    body = request.body
    if not signature_ok(secrets.get("secret"), body, request.META.get("HTTP_X_SIGNATURE")):
        raise Refused("missing or wrong X-Signature")
    given = token_from(request.META.get("HTTP_AUTHORIZATION"), request.META.get("QUERY_STRING", ""))
    if not token_ok(secrets.get("access_token"), given) and not secrets.get("secret"):
        raise Refused("missing or wrong access token")
    if given is not None and not token_ok(secrets.get("access_token"), given):
        raise Refused("wrong access token")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    events = event_to_events(payload)
    if events:
        ingest_events(conn.community_id, events, connection_id=conn.pk)
    return HttpResponse(status=204)

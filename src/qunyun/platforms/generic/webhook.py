"""Generic signed events: ``POST /hooks/generic/<community>/`` with one event or a list, in
qunyun's own JSON shape (:mod:`qunyun.core.codec`), signed (see :mod:`.signing`).

Each event is decoded on its own: valid ones are stored (each once: a repeated event has the
same key), invalid ones are reported with their index and the field at fault.
"""

from __future__ import annotations

import json
import time

from django.http import JsonResponse

from qunyun.connections.ingest import ingest_events
from qunyun.connections.views import Refused
from qunyun.core.codec import DecodeError, event_from_dict
from qunyun.core.ids import InvalidId, split

from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

MAX_EVENTS = 1000


def _meta(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


def generic_handle(request, conn, secrets) -> JsonResponse:
    body = request.body
    problem = verify(secrets.get("secret") or "", request.META.get(_meta(TIMESTAMP_HEADER)), body,
                     request.META.get(_meta(SIGNATURE_HEADER)), now=time.time(),
                     window=float(conn.settings.get("window", 300)))
    if problem is not None:
        raise Refused(problem)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None
    items = payload if isinstance(payload, list) else [payload]
    if len(items) > MAX_EVENTS:
        raise ValueError(f"at most {MAX_EVENTS} events per request (got {len(items)})")
    events, errors = [], []
    for index, item in enumerate(items):
        try:
            event = event_from_dict(item)
            split(event.chat)
            if event.subject is not None:
                split(event.subject.id)
        except (DecodeError, InvalidId, TypeError) as exc:
            errors.append({"index": index, "error": str(exc)})
            continue
        events.append(event)
    if not events:
        return JsonResponse({"ok": False, "stored": 0, "errors": errors}, status=400)
    result = ingest_events(conn.community_id, events, connection_id=conn.pk)
    return JsonResponse({"ok": not errors, "stored": result.stored, "duplicates": result.duplicates,
                         "errors": errors})

"""ASGI entry point (``qunyun serve`` runs it under uvicorn).

HTTP goes to Django. WebSocket connections go to the one WebSocket endpoint qunyun has: the
OneBot v11 reverse WebSocket at ``/hooks/onebot/<community>/ws`` (NapCat, Lagrange… connect to
it); any other WebSocket path is refused.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qunyun.settings.default")
django_application = get_asgi_application()


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        from qunyun.platforms.onebot.reverse import onebot_reverse_ws

        return await onebot_reverse_ws(scope, receive, send)
    return await django_application(scope, receive, send)

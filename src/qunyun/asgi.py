"""ASGI entry point (``qunyun serve`` runs it under uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qunyun.settings.default")
application = get_asgi_application()

"""The API object: authentication (session or token), error shapes, and the routers."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, django_auth

from qunyun import __version__
from qunyun.analytics.config import SettingsError
from qunyun.analytics.scope import AnalyticsError

from .services import token_user


class TokenAuth(HttpBearer):
    """``Authorization: Bearer qy_…`` — a token made with ``qunyun api-token create``."""

    def authenticate(self, request: HttpRequest, token: str):
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="qunyun API",
    version=__version__,
    description=(
        "Community figures as the console shows them. Every figure is defined in docs/metrics.md; each "
        "answer carries `definitions`, a map from its figures to their definition. Days, weeks (Monday "
        "first) and months are in the community's time zone. Authenticate with a console session or "
        "`Authorization: Bearer <token>` (`qunyun api-token create USERNAME`)."
    ),
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
)


@api.exception_handler(AnalyticsError)
def _analytics_error(request, exc: AnalyticsError):
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(SettingsError)
def _settings_error(request, exc: SettingsError):
    return api.create_response(request, {"detail": str(exc)}, status=400)


def _mount() -> None:
    from .analytics import router as analytics_router

    api.add_router("/", analytics_router)


_mount()

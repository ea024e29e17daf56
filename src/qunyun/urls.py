"""Top-level URLs: the console, the admin, the API and platform webhooks."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("qunyun.onboarding.urls")),
    path("hooks/", include("qunyun.connections.urls")),
    path("", include("qunyun.moderation.urls")),
    path("api/", include("qunyun.api.urls")),
    path("", include("qunyun.analytics.urls")),
    path("", include("qunyun.console.urls")),
]

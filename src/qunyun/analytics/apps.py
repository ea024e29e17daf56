from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "qunyun.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from .panels import panels_register

        panels_register()

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BusConfig(AppConfig):
    name = "qunyun.bus"
    label = "bus"
    verbose_name = _("Event bus")

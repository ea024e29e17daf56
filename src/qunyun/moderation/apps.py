from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    """The Django side of moderation: stored policy, cases, penalties, appeals, review queue."""

    name = "qunyun.moderation"
    label = "moderation"
    verbose_name = _("Moderation")

    def ready(self) -> None:
        # The outbox decodes stored decisions by kind; our own decision classes must be
        # registered in every process that runs the outbox, not only where handlers run.
        from . import decisions  # noqa: F401

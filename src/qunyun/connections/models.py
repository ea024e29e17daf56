"""A connection: how the bot of one community reaches one platform, and how it is doing.

Settings (homeserver, webhook URL, mode…) are plain JSON; secrets (passwords, tokens, signing
secrets) are kept apart, encrypted (see :mod:`.secrets`), and never shown. ``status``,
``last_error`` and ``reconnects`` are written by the running adapter so the console can say
whether the bot is live.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Connection(models.Model):
    class Platform(models.TextChoices):
        MATRIX = "matrix", "Matrix"
        TELEGRAM = "telegram", "Telegram"
        ONEBOT = "onebot", "OneBot v11 (QQ)"
        GENERIC = "generic", _("Generic signed HTTP")

    class Status(models.TextChoices):
        CONFIGURED = "configured", _("configured, not started")
        CONNECTING = "connecting", _("connecting")
        CONNECTED = "connected", _("connected")
        RECONNECTING = "reconnecting", _("reconnecting")
        WAITING = "waiting", _("waiting for the platform to call")
        ERROR = "error", _("error")
        STOPPED = "stopped", _("stopped")

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="connections")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, help_text="Fernet token of a JSON object; never shown.")
    state = models.JSONField(default=dict, blank=True, help_text="Adapter progress (sync token, update offset).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIGURED)
    status_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    reconnects = models.PositiveIntegerField(default=0)
    last_event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "qunyun_connection"
        ordering = ["community_id", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["community", "platform"], name="connection_community_platform")
        ]

    def __str__(self) -> str:
        return f"{self.platform} ({self.community_id})"

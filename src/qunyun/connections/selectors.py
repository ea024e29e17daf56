"""Reads of the connections area (for the console and the CLI). Secrets are never returned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from qunyun.communities.models import Community

from .models import Connection
from .secrets import SecretError, mask, secrets_decrypt

#: Settings that are shown to operators (others, if any, stay internal).
SHOWN_SETTINGS = ("homeserver", "user_id", "mode", "webhook_url", "ws_url", "api_url", "api_base")


@dataclass(frozen=True)
class ConnectionView:
    """What the console shows about one connection."""

    id: int
    community: str
    platform: str
    enabled: bool
    status: str
    status_label: str
    status_at: datetime | None
    last_error: str
    reconnects: int
    last_event_at: datetime | None
    settings: dict
    secrets: dict  # name -> "stored (encrypted)" / "from $VAR"

    @property
    def healthy(self) -> bool:
        return self.status in (Connection.Status.CONNECTED, Connection.Status.WAITING)


def _view(conn: Connection) -> ConnectionView:
    try:
        secrets = {name: mask(value) for name, value in secrets_decrypt(conn.secrets_encrypted).items()}
    except SecretError as exc:
        secrets = {"error": str(exc)}
    return ConnectionView(
        id=conn.pk, community=conn.community.slug, platform=conn.platform, enabled=conn.enabled,
        status=conn.status, status_label=str(Connection.Status(conn.status).label), status_at=conn.status_at,
        last_error=conn.last_error, reconnects=conn.reconnects, last_event_at=conn.last_event_at,
        settings={k: conn.settings[k] for k in SHOWN_SETTINGS if conn.settings.get(k)}, secrets=secrets,
    )


def connections_for_community(community: Community) -> list[ConnectionView]:
    """The community's connections with their live status, for the console."""
    return [_view(c) for c in Connection.objects.filter(community=community).select_related("community")]


def connections_all() -> list[ConnectionView]:
    return [_view(c) for c in Connection.objects.select_related("community").order_by("community__slug", "platform")]

"""Writes of the connections area."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from qunyun.communities.models import Community
from qunyun.core.timeutil import utcnow

from .models import Connection
from .secrets import SecretError, secret_resolve, secrets_decrypt, secrets_encrypt


class ConnectionError_(ValueError):
    """A connection that cannot be configured as asked; the message is for the operator."""


@transaction.atomic
def connection_configure(*, community: Community, platform: str, settings: dict, secrets: dict[str, str | None],
                         enabled: bool = True) -> tuple[Connection, bool]:
    """Create or replace the connection of ``community`` to ``platform``.

    ``secrets`` values are secrets or ``env:NAME`` pointers; ``None`` values are dropped.
    Returns ``(connection, created)``. The state (sync position) is kept when only settings
    change the same account, and reset when the account changes.
    """
    if platform not in Connection.Platform.values:
        raise ConnectionError_(f"unknown platform {platform!r} (one of {', '.join(Connection.Platform.values)})")
    clean = {k: v for k, v in secrets.items() if v}
    conn, created = Connection.objects.select_for_update().get_or_create(
        community=community, platform=platform, defaults={"settings": settings})
    if not created and conn.settings != settings:
        conn.state = {}
    conn.settings = settings
    conn.secrets_encrypted = secrets_encrypt(clean)
    conn.enabled = enabled
    conn.status = Connection.Status.CONFIGURED
    conn.last_error = ""
    conn.save()
    return conn, created


def connection_secrets(connection: Connection) -> dict[str, str]:
    """The connection's secrets, resolved (environment pointers read). For adapters only."""
    stored = secrets_decrypt(connection.secrets_encrypted)
    return {name: secret_resolve(value, name=f"{connection.platform} {name}") for name, value in stored.items()}


def connection_status_set(*, connection_id: int, status: str, error: str = "", reconnect: bool = False) -> None:
    """Record how a running connection is doing (shown in the console and ``connections list``)."""
    updates: dict = {"status": status, "status_at": utcnow()}
    if error or status in (Connection.Status.CONNECTED, Connection.Status.WAITING):
        updates["last_error"] = error[:2000]
    if reconnect:
        updates["reconnects"] = F("reconnects") + 1
    Connection.objects.filter(pk=connection_id).update(**updates)


def connection_state_set(*, connection_id: int, **values) -> None:
    """Merge ``values`` into the connection's progress state (sync token, update offset)."""
    with transaction.atomic():
        conn = Connection.objects.select_for_update().get(pk=connection_id)
        conn.state = {**(conn.state or {}), **values}
        conn.save(update_fields=["state", "updated_at"])


def connection_touch(*, connection_id: int) -> None:
    """Note that an event just arrived on the connection."""
    Connection.objects.filter(pk=connection_id).update(last_event_at=utcnow())


__all__ = ["ConnectionError_", "SecretError", "connection_configure", "connection_secrets", "connection_status_set",
           "connection_state_set", "connection_touch"]

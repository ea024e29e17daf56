"""Writes of the operators area: granting access and recording the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from qunyun.communities.models import Community

from .models import AuditEntry, OperatorAccess, Role


class AccessError(ValueError):
    """A grant that cannot be made, with a message for the operator."""


def access_grant(*, user, community: Community, role: str = Role.VIEWER, by=None) -> OperatorAccess:
    """Give ``user`` ``role`` in ``community`` (replacing any earlier role); audited."""
    if role not in Role.values:
        raise AccessError(f"unknown role {role!r} (one of {', '.join(Role.values)})")
    access, _created = OperatorAccess.objects.update_or_create(user=user, community=community,
                                                               defaults={"role": role})
    audit_record(user=by, community=community, action="access.grant",
                 detail={"operator": user.get_username(), "role": role})
    return access


def access_revoke(*, user, community: Community, by=None) -> bool:
    """Take away ``user``'s access to ``community``; returns whether there was any."""
    deleted, _ = OperatorAccess.objects.filter(user=user, community=community).delete()
    if deleted:
        audit_record(user=by, community=community, action="access.revoke",
                     detail={"operator": user.get_username()})
    return bool(deleted)


def operator_get(*, username: str):
    """The operator (user) called ``username``, or an :class:`AccessError`."""
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise AccessError(f"no operator {username!r} (create one with: qunyun operator create {username})") from None


def audit_record(*, user, community: Community | None, action: str, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Append who did what to the audit log.

    ``user`` may be ``None`` (the system, the command line); ``action`` is a short dotted
    name (``members.export``, ``case.close``); ``detail`` is JSON data — ids and counts, never
    message text.
    """
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return AuditEntry.objects.create(
        user=user, username=user.get_username() if user is not None else "",
        community=community, action=action[:64], detail=detail or {},
    )

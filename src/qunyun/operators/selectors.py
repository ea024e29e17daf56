"""Reads of the operators area; :func:`community_for_operator` is the one access check."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from qunyun.communities.models import Community

from .models import ROLE_RANK, OperatorAccess, Role


def communities_for_operator(user) -> QuerySet[Community]:
    """The communities ``user`` may see: all for a superuser, else those granted."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Community.objects.none()
    if user.is_superuser:
        return Community.objects.all()
    return Community.objects.filter(operator_access__user=user)


def operator_role(user, community: Community) -> str | None:
    """``user``'s role in ``community`` (``"owner"`` for a superuser), or ``None``."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.OWNER.value
    return OperatorAccess.objects.filter(user=user, community=community).values_list("role", flat=True).first()


def role_at_least(role: str | None, needed: str | None) -> bool:
    """Whether ``role`` carries at least the rights of ``needed`` (``None`` needs only access)."""
    if role is None:
        return False
    return needed is None or ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def community_for_operator(user, slug: str, *, role: str | None = None) -> Community:
    """The community ``slug`` if ``user`` may see it — every console view gets it this way.

    Raises :class:`~django.http.Http404` when the community does not exist *or* the user has no
    access (so a stranger cannot tell which slugs exist), and
    :class:`~django.core.exceptions.PermissionDenied` when the user has access but less than
    ``role`` (e.g. ``role="moderator"`` for moderation actions). The returned community carries
    ``operator_role``.
    """
    community = Community.objects.filter(slug=slug).first()
    found = operator_role(user, community) if community is not None else None
    if found is None:
        raise Http404("no such community")
    if not role_at_least(found, role):
        raise PermissionDenied(f"needs the {role} role")
    community.operator_role = found
    return community

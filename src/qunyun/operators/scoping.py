"""Per-community scoping for Django admin pages.

The Django admin checks model permissions, not communities. :class:`CommunityScopedAdmin`
adds the community: an operator who is not a superuser sees (and may pick) only rows of the
communities where they are ``owner`` or ``admin``.
"""

from __future__ import annotations

from django.contrib import admin

from qunyun.communities.models import Community

from .models import OperatorAccess, Role

ADMIN_ROLES = (Role.OWNER, Role.ADMIN)


def admin_community_ids(user) -> list[int] | None:
    """Ids of communities ``user`` may administer; ``None`` means all (a superuser)."""
    if user.is_superuser:
        return None
    return list(OperatorAccess.objects.filter(user=user, role__in=ADMIN_ROLES).values_list("community_id", flat=True))


class CommunityScopedAdmin(admin.ModelAdmin):
    """A model admin whose rows belong to a community reached through ``community_lookup``."""

    community_lookup = "community"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        allowed = admin_community_ids(request.user)
        if allowed is None:
            return qs
        return qs.filter(**{f"{self.community_lookup}__in": allowed})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.remote_field.model is Community:
            allowed = admin_community_ids(request.user)
            if allowed is not None:
                kwargs["queryset"] = Community.objects.filter(pk__in=allowed)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

"""Per-community access for console operators, and the audit log of what they did.

Superusers see every community. Any other operator sees the communities they were granted
through :class:`OperatorAccess`, with a role. The one place that checks it is
:func:`qunyun.operators.selectors.community_for_operator`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What an operator may do in a community, from most to least."""

    OWNER = "owner", _("owner")
    ADMIN = "admin", _("admin")
    MODERATOR = "moderator", _("moderator")
    VIEWER = "viewer", _("viewer")


# Higher rank = more rights; "at least moderator" means rank >= ROLE_RANK["moderator"].
ROLE_RANK = {Role.VIEWER: 1, Role.MODERATOR: 2, Role.ADMIN: 3, Role.OWNER: 4}


class OperatorAccess(models.Model):
    """One operator's role in one community."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="community_access",
                             verbose_name=_("operator"))
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="operator_access",
                                  verbose_name=_("community"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        db_table = "qunyun_operator_access"
        verbose_name = _("operator access")
        verbose_name_plural = _("operator access")
        constraints = [models.UniqueConstraint(fields=["user", "community"], name="operator_access_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.community} · {self.role}"


class AuditEntry(models.Model):
    """Who did what, when, in which community. Written only by :func:`..services.audit_record`.

    ``username`` is kept as written so the entry still says who it was after the user is deleted.
    """

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("operator"))
    username = models.CharField(_("operator name"), max_length=150, blank=True)
    community = models.ForeignKey("communities.Community", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="audit_entries", verbose_name=_("community"))
    action = models.CharField(_("action"), max_length=64)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        db_table = "qunyun_audit"
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["community", "at"], name="audit_community_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action}"

"""Admin for per-community access and the (read-only) audit log."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import AuditEntry, OperatorAccess


@admin.register(OperatorAccess)
class OperatorAccessAdmin(admin.ModelAdmin):
    list_display = ("user", "community", "role", "created_at")
    list_filter = ("role", "community")
    search_fields = ("user__username", "community__slug", "community__name")
    list_select_related = ("user", "community")
    autocomplete_fields = ("user", "community")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log is written by the product, never edited by hand."""

    list_display = ("at", "username", "community", "action")
    list_filter = ("action", "community")
    search_fields = ("username", "action")
    list_select_related = ("community",)
    date_hierarchy = "at"
    readonly_fields = ("at", "user", "username", "community", "action", "detail")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OperatorAccessInline(admin.TabularInline):
    model = OperatorAccess
    extra = 0
    autocomplete_fields = ("community",)


User = get_user_model()
if admin.site.is_registered(User):
    _base = type(admin.site._registry[User])
    admin.site.unregister(User)
else:  # pragma: no cover - a project without the auth admin
    _base = UserAdmin


@admin.register(User)
class OperatorUserAdmin(_base):
    """The user admin, with the communities each operator may see."""

    inlines = (*getattr(_base, "inlines", ()), OperatorAccessInline)

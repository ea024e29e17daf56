"""Django admin for the outbox and operator notifications: for reading, with two small actions.

Outbox rows are written by the runtime and finished by the worker; editing them by hand would
break the "executed once" promise, so every field is read-only. An operator may cancel
decisions that have not run yet, and mark notifications as read.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from qunyun.communities.models import Community
from qunyun.operators.scoping import CommunityScopedAdmin
from qunyun.operators.services import audit_record

from .models import Notification, OutboxItem


class ReadOnlyAdmin(CommunityScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is the detail view; fields stay read-only (see get_readonly_fields).
        return super().has_view_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "community", "kind", "chat", "status", "due_at", "attempts", "reason")
    list_filter = ("status", "kind", "community")
    search_fields = ("chat", "reason", "key")
    list_select_related = ("community",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ("cancel_pending",)

    def save_model(self, request, obj, form, change):  # pragma: no cover - nothing is editable
        pass

    @admin.action(description=_("Cancel the selected decisions that have not run yet"))
    def cancel_pending(self, request, queryset):
        by_community: dict[int, list[int]] = {}
        for pk, community_id in queryset.filter(status=OutboxItem.Status.PENDING).values_list("pk", "community_id"):
            by_community.setdefault(community_id, []).append(pk)
        done = 0
        for community_id, ids in by_community.items():
            done += OutboxItem.objects.filter(pk__in=ids, status=OutboxItem.Status.PENDING).update(
                status=OutboxItem.Status.CANCELLED)
            audit_record(user=request.user, community=Community.objects.get(pk=community_id),
                         action="outbox.cancel", detail={"items": ids})
        self.message_user(request, ngettext("%d decision cancelled.", "%d decisions cancelled.", done) % done,
                          messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "community", "severity", "text", "read_at")
    list_filter = ("severity", "community")
    search_fields = ("text", "reason")
    list_select_related = ("community",)
    actions = ("mark_read",)

    def save_model(self, request, obj, form, change):  # pragma: no cover - nothing is editable
        pass

    @admin.action(description=_("Mark the selected notifications as read"))
    def mark_read(self, request, queryset):
        done = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(request, ngettext("%d notification marked as read.", "%d notifications marked as read.",
                                            done) % done, messages.SUCCESS)

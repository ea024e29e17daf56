"""Django admin for moderation records: read-mostly views, scoped to the operator's communities.

Cases, penalties and appeals are changed through the console (review queue, appeals), whose
services also undo penalties and write the outbox; here they can only be inspected, so an
edit in the admin can never leave a member muted without a case that says why.
"""

from __future__ import annotations

from django.contrib import admin

from qunyun.operators.scoping import CommunityScopedAdmin

from .models import Appeal, Case, CommunityPolicy, GroupPolicy, LabelledExample, Penalty


class ReadOnlyAdmin(CommunityScopedAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("number", "community", "at", "account_id", "action", "step", "status", "needs_review", "shadow")
    list_filter = ("status", "needs_review", "shadow", "source", "community")
    search_fields = ("account_id", "member__display_name")
    list_select_related = ("community",)
    raw_id_fields = ("member", "group", "event")
    show_full_result_count = False


@admin.register(Penalty)
class PenaltyAdmin(ReadOnlyAdmin):
    list_display = ("case", "community", "account_id", "step", "start", "end", "lifted_at", "overturned_at", "shadow")
    list_filter = ("step", "shadow", "community")
    raw_id_fields = ("case", "member")
    show_full_result_count = False


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("case", "community", "via", "status", "created_at", "decided_at")
    list_filter = ("status", "via", "community")
    raw_id_fields = ("case",)


@admin.register(LabelledExample)
class LabelledExampleAdmin(ReadOnlyAdmin):
    list_display = ("id", "community", "label", "case", "created_at")
    list_filter = ("label", "community")
    raw_id_fields = ("case",)


@admin.register(CommunityPolicy)
class CommunityPolicyAdmin(CommunityScopedAdmin):
    list_display = ("community", "enabled", "updated_at")
    readonly_fields = ("updated_at",)


@admin.register(GroupPolicy)
class GroupPolicyAdmin(CommunityScopedAdmin):
    community_lookup = "group__community"
    list_display = ("group", "updated_at")
    raw_id_fields = ("group",)

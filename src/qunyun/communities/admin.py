"""Django admin for the operators' objects: communities, goals, groups, channels, members.

Every page is scoped to the communities the operator administers (see
:mod:`qunyun.operators.scoping`). Lists stay fast with hundreds of thousands of members: related
rows are selected in the same query, exact totals are not counted on filtered lists, and
foreign keys to members are raw ids instead of a 200,000-entry drop-down.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from qunyun.operators.scoping import CommunityScopedAdmin

from .models import Channel, Community, Goal, Group, Identity, IdentityName, Member, Membership


class GoalInline(admin.TabularInline):
    model = Goal
    extra = 0
    fields = ("title", "metric", "target", "baseline", "manual_value", "start", "due")


class GroupInline(admin.TabularInline):
    model = Group
    extra = 0
    fields = ("name", "platform", "chat_id", "size_cap", "is_active")
    show_change_link = True


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0
    fields = ("name", "code", "invite_link")


@admin.register(Community)
class CommunityAdmin(CommunityScopedAdmin):
    community_lookup = "pk"
    list_display = ("name", "slug", "time_zone", "owner", "dry_run")
    list_filter = ("dry_run",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (GoalInline, GroupInline, ChannelInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "time_zone", "owner", "dry_run")}),
        (_("Profile"), {"fields": ("theme", "target_members", "core_value", "slogan", "rules_text")}),
        (_("Settings"), {"classes": ("collapse",), "fields": ("settings",)}),
    )

    def has_add_permission(self, request):
        # A new community has no grants yet: only a superuser could see it afterwards.
        return request.user.is_superuser and super().has_add_permission(request)


@admin.register(Goal)
class GoalAdmin(CommunityScopedAdmin):
    list_display = ("title", "community", "metric", "target", "due")
    list_filter = ("metric", "community")
    search_fields = ("title",)
    list_select_related = ("community",)


@admin.register(Group)
class GroupAdmin(CommunityScopedAdmin):
    list_display = ("name", "community", "platform", "chat_id", "size_cap", "is_active")
    list_filter = ("platform", "is_active", "community")
    search_fields = ("name", "chat_id")
    list_select_related = ("community",)


@admin.register(Channel)
class ChannelAdmin(CommunityScopedAdmin):
    list_display = ("name", "code", "community", "invite_link")
    list_filter = ("community",)
    search_fields = ("name", "code", "invite_link")
    list_select_related = ("community",)


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("account_id", "platform", "display_name", "is_bot", "name_at")
    readonly_fields = ("platform", "name_at")
    show_change_link = True


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "member"
    extra = 0
    fields = ("group", "is_member", "role", "joined_at", "left_at", "join_method", "leave_reason", "channel",
              "inviter")
    raw_id_fields = ("inviter",)
    show_change_link = True

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Offer only the groups and channels of the member's own community.
        member_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if db_field.name in ("group", "channel") and member_id:
            community_id = Member.objects.filter(pk=member_id).values_list("community_id", flat=True).first()
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(community_id=community_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Member)
class MemberAdmin(CommunityScopedAdmin):
    list_display = ("__str__", "community", "channel", "first_seen_at", "is_bot")
    list_filter = ("is_bot", "community")
    search_fields = ("display_name", "identities__account_id")
    list_select_related = ("community", "channel")
    raw_id_fields = ("channel", "merged_into")
    readonly_fields = ("first_seen_at", "created_at")
    show_full_result_count = False
    inlines = (IdentityInline, MembershipInline)


class IdentityNameInline(admin.TabularInline):
    model = IdentityName
    extra = 0
    fields = ("name", "first_seen_at")


@admin.register(Identity)
class IdentityAdmin(CommunityScopedAdmin):
    list_display = ("account_id", "display_name", "member", "platform", "is_bot")
    list_filter = ("platform", "is_bot", "community")
    search_fields = ("account_id", "display_name")
    list_select_related = ("member",)
    raw_id_fields = ("member",)
    show_full_result_count = False
    inlines = (IdentityNameInline,)


@admin.register(Membership)
class MembershipAdmin(CommunityScopedAdmin):
    community_lookup = "group__community"
    list_display = ("member", "group", "is_member", "joined_at", "left_at", "join_method", "channel")
    list_filter = ("is_member", "join_method", "group__community", "group")
    search_fields = ("member__display_name",)
    list_select_related = ("member", "group", "channel")
    raw_id_fields = ("member", "inviter", "group", "channel")
    show_full_result_count = False

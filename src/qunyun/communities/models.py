"""Storage of communities and what happens in them.

Writes go through :mod:`.services` (and the bus's batch store); reads through :mod:`.selectors`.
The event log (:class:`Event`) is the source of truth for activity: every count can be rebuilt
from it. Times are UTC; ``Event.day`` is the calendar day in the community's time zone, fixed
at the moment the event is stored.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Community(models.Model):
    """A community: its profile (定位) and the groups it runs."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    theme = models.TextField(_("theme"), blank=True, help_text=_("What the community is about."))
    target_members = models.TextField(_("target members"), blank=True, help_text=_("Who it is for."))
    core_value = models.TextField(_("core value"), blank=True, help_text=_("What members get from it."))
    slogan = models.CharField(_("slogan"), max_length=300, blank=True)
    rules_text = models.TextField(_("rules"), blank=True)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    dry_run = models.BooleanField(
        _("dry run"), default=False, help_text=_("Record decisions without executing them.")
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    identity_version = models.IntegerField(
        default=0, help_text="Bumped when identities move between members (a merge), so running "
        "stores drop their cached account → member map.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_community"
        ordering = ["name"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return self.name


class Goal(models.Model):
    """A dated, concrete goal ("300 members by 2027-03-01")."""

    class Metric(models.TextChoices):
        MEMBERS = "members", _("members")
        WEEKLY_ACTIVE = "weekly_active", _("weekly active members")
        WEEKLY_ACTIVE_RATE = "weekly_active_rate", _("weekly active rate (%)")
        MESSAGES_PER_DAY = "messages_per_day", _("messages per day")
        MANUAL = "manual", _("counted by hand")

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(_("title"), max_length=200)
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices, default=Metric.MEMBERS)
    target = models.FloatField(_("target"))
    baseline = models.FloatField(_("baseline"), default=0)
    manual_value = models.FloatField(_("current value (manual)"), null=True, blank=True)
    start = models.DateField(_("start"), null=True, blank=True)
    due = models.DateField(_("due"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_goal"
        ordering = ["due"]

    def __str__(self) -> str:
        return self.title


class Group(models.Model):
    """One chat (group, room, channel) on one platform, run as part of a community."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="groups")
    platform = models.CharField(_("platform"), max_length=32)
    chat_id = models.CharField(_("chat id"), max_length=255, help_text=_("Platform-qualified id."))
    name = models.CharField(_("name"), max_length=200)
    size_cap = models.PositiveIntegerField(_("size cap"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_group"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["community", "chat_id"], name="group_chat_unique")]

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """An acquisition channel (渠道): where members come from, with its own invite link (活码)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(_("name"), max_length=200)
    code = models.SlugField(_("code"), max_length=64)
    invite_link = models.CharField(_("invite link"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_channel"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="channel_code_unique")]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A person in a community, across platforms and names. Bots are members flagged ``is_bot``."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="members")
    display_name = models.CharField(_("name"), max_length=255, blank=True)
    is_bot = models.BooleanField(_("bot"), default=False)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="members",
        help_text=_("The channel the member first came through."),
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_members"
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_member"
        indexes = [models.Index(fields=["community", "display_name"])]

    def __str__(self) -> str:
        return self.display_name or f"#{self.pk}"


class Identity(models.Model):
    """A platform account that belongs to a member (one member may have several)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="identities")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identities")
    account_id = models.CharField(_("account"), max_length=255, help_text=_("Platform-qualified id."))
    platform = models.CharField(max_length=32)
    display_name = models.CharField(max_length=255, blank=True)
    is_bot = models.BooleanField(default=False)
    name_at = models.DateTimeField(null=True, blank=True, help_text="When display_name was seen.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_identity"
        constraints = [
            models.UniqueConstraint(fields=["community", "account_id"], name="identity_account_unique")
        ]

    def __str__(self) -> str:
        return self.account_id


class IdentityName(models.Model):
    """A display name an identity used, from when it was first seen (names over time)."""

    identity = models.ForeignKey(Identity, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField()

    class Meta:
        db_table = "qunyun_identity_name"
        ordering = ["first_seen_at"]
        constraints = [models.UniqueConstraint(fields=["identity", "name"], name="identity_name_unique")]


class Membership(models.Model):
    """A member in a group: the current state; the history is in the event log."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")
    is_member = models.BooleanField(default=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    join_method = models.CharField(max_length=16, blank=True)
    leave_reason = models.CharField(max_length=16, blank=True)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL)
    inviter = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="invited_memberships"
    )
    role = models.CharField(max_length=16, default="member")
    state_at = models.DateTimeField(null=True, blank=True, help_text="Time of the event that set the state.")

    class Meta:
        db_table = "qunyun_membership"
        constraints = [models.UniqueConstraint(fields=["group", "member"], name="membership_unique")]
        # "who is in this group now" and "which groups is this member in now" are the console's
        # most frequent questions
        indexes = [
            models.Index(fields=["group", "is_member"], name="membership_group_current"),
            models.Index(fields=["member", "is_member"], name="membership_member_current"),
        ]


class Event(models.Model):
    """One stored event: the event log. ``key`` makes storing idempotent."""

    # Foreign keys carry no single-column index of their own: the composite indexes below lead
    # with them (or, for the sparse ones, partial indexes cover the non-null rows). Every index
    # costs on each insert, and this table takes millions of them.
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="events", db_index=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=16)
    key = models.CharField(max_length=400)
    at = models.DateTimeField()
    day = models.DateField(help_text="Day in the community's time zone.")
    member = models.ForeignKey(Member, null=True, on_delete=models.CASCADE, related_name="events", db_index=False)
    identity = models.ForeignKey(
        "Identity", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False,
        help_text="The account behind ``member``: what lets a merge of members be undone.")
    actor = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    message_id = models.CharField(max_length=128, blank=True)
    kind = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    reply_to = models.CharField(max_length=128, blank=True)
    reply_to_member = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+",
                                        db_index=False)
    mentions = models.JSONField(null=True)
    channel = models.ForeignKey(Channel, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    detail = models.CharField(max_length=64, blank=True, help_text="Join method, leave reason or emoji.")
    source_tz = models.CharField(max_length=64, blank=True)
    data = models.JSONField(null=True)
    # Worked out once when the event is stored, so that the analytics' passes over millions of
    # events read two small numbers instead of parsing each time and testing each text (null on
    # rows stored otherwise: the analytics then work them out in SQL).
    hour = models.SmallIntegerField(null=True, help_text="Hour (0-23) in the community's time zone.")
    marks = models.IntegerField(
        null=True, help_text="Messages: chat-only (bit 0), carries a link (bit 1), mentions (from bit 2); "
                             "see qunyun.core.marks.",
    )

    class Meta:
        db_table = "qunyun_event"
        constraints = [models.UniqueConstraint(fields=["community", "key"], name="event_key_unique")]
        indexes = [
            models.Index(fields=["group", "at"], name="event_group_at"),
            models.Index(fields=["community", "day"], name="event_community_day"),
            # What a rollup rebuild's pass reads of every event, in the order of its work table
            # (day, hour, group, member): its upserts then land next to each other, and SQLite
            # reads no table row of an event whose hour and marks are stored (docs/analytics.md).
            models.Index(fields=["community", "day", "hour", "group", "member", "type", "kind", "marks",
                                 "reply_to_member"], name="event_day_activity"),
            models.Index(fields=["group", "message_id"], name="event_group_message"),
            models.Index(fields=["member", "at"], name="event_member_at"),
            models.Index(fields=["actor"], name="event_actor", condition=models.Q(actor__isnull=False)),
            models.Index(fields=["reply_to_member"], name="event_reply_to_member",
                         condition=models.Q(reply_to_member__isnull=False)),
            models.Index(fields=["channel"], name="event_channel", condition=models.Q(channel__isnull=False)),
        ]


class MemberMerge(models.Model):
    """Two members found to be one person: ``source`` folded into ``target``, reversibly.

    What moved is recorded (identities, and the events whose inviter/remover or mentions named
    the source), so :func:`~qunyun.communities.merging.member_unmerge` can put it back.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="merges")
    source = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="merges_out")
    target = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="merges_in")
    identities = models.JSONField(default=list)
    actor_events = models.JSONField(default=list)
    mention_events = models.JSONField(default=list)
    target_before = models.JSONField(default=dict, help_text="The target's channel and first sighting before.")
    merged_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "qunyun_member_merge"
        ordering = ["-created_at"]

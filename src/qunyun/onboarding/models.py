"""What a community configures for newcomers, and the little state routing needs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WelcomeTemplate(models.Model):
    """A welcome text for joins through one channel (千人千面); ``channel`` empty = the default.

    ``group`` empty applies to every group of the community; a group's own template wins over
    the community-wide one for the same channel. Variables: {name} {group} {channel}
    {member_count} {rules_link}.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("communities.Channel", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    group = models.ForeignKey("communities.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("text"))
    with_rules = models.BooleanField(_("send the rules with it"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "qunyun_welcome_template"
        constraints = [models.UniqueConstraint(fields=["community", "channel", "group"], name="welcome_unique",
                                               nulls_distinct=False)]


class ChannelRoute(models.Model):
    """One group a channel sends newcomers to, in order (活码): the first one not full is used."""

    channel = models.ForeignKey("communities.Channel", on_delete=models.CASCADE, related_name="routes")
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    invite_link = models.CharField(max_length=500, blank=True,
                                   help_text="This channel's own link into this group (attributes the join).")

    class Meta:
        db_table = "qunyun_channel_route"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["channel", "group"], name="channel_route_unique")]


class JoinIntent(models.Model):
    """Someone came through a channel's /j/ link and said who they are: their next join into a
    group of the community is attributed to the channel (platforms without per-channel links)."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("communities.Channel", on_delete=models.CASCADE, related_name="+")
    account_id = models.CharField(max_length=255)
    group = models.ForeignKey("communities.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "qunyun_join_intent"
        indexes = [models.Index(fields=["community", "account_id", "used_at"], name="join_intent_lookup")]


class Screening(models.Model):
    """Entry screening (off by default): a newcomer must answer within ``timeout_seconds``."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("communities.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=False)
    question = models.TextField()
    answers = models.JSONField(default=list, blank=True,
                               help_text="Accepted answers (case-insensitive); empty = any message counts.")
    buttons = models.BooleanField(default=False, help_text="Offer the answers as buttons where the platform can.")
    timeout_seconds = models.PositiveIntegerField(default=300)

    class Meta:
        db_table = "qunyun_screening"
        constraints = [models.UniqueConstraint(fields=["community", "group"], name="screening_unique",
                                               nulls_distinct=False)]


class FaqEntry(models.Model):
    """An automatic answer: a keyword (or regular expression) → a reply, with a cooldown per group."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("communities.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    pattern = models.CharField(max_length=500)
    is_regex = models.BooleanField(default=False)
    answer = models.TextField()
    cooldown_seconds = models.PositiveIntegerField(default=300)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_faq_entry"
        ordering = ["id"]

"""Rollups: per member per day and per group per day, in the community's time zone.

They are derived data: :func:`qunyun.analytics.rollups.rollups_rebuild` recomputes them from
the event log, and the bus keeps them up to date incrementally as events are stored.
"""

from __future__ import annotations

from django.db import models


class MemberDay(models.Model):
    """What one member did in one group on one (community-local) day."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)
    replies = models.IntegerField(default=0, help_text="Messages that answer another member's message.")
    mentions = models.IntegerField(default=0, help_text="Mentions of other members made.")

    class Meta:
        db_table = "qunyun_member_day"
        constraints = [models.UniqueConstraint(fields=["group", "member", "day"], name="member_day_unique")]
        indexes = [
            models.Index(fields=["community", "day"], name="member_day_community_day"),
            models.Index(fields=["member", "day"], name="member_day_member_day"),
            models.Index(fields=["group", "day"], name="member_day_group_day"),
        ]


class GroupDay(models.Model):
    """What happened in one group on one (community-local) day.

    ``active_members`` counts members with a message or reaction that day in this group.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)
    active_members = models.IntegerField(default=0)
    joins = models.IntegerField(default=0)
    leaves = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_group_day"
        constraints = [models.UniqueConstraint(fields=["group", "day"], name="group_day_unique")]
        indexes = [models.Index(fields=["community", "day"], name="group_day_community_day")]


class GroupHour(models.Model):
    """Messages per group per local day and hour (0–23): the heatmap's source."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hour = models.SmallIntegerField()
    messages = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_group_hour"
        constraints = [models.UniqueConstraint(fields=["group", "day", "hour"], name="group_hour_unique")]

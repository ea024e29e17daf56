"""Rollups: per member per day and per group per day, in the community's time zone.

They are derived data: :func:`qunyun.analytics.rollups.rollups_rebuild` recomputes them from
the event log, and the bus keeps them up to date incrementally as events are stored.
"""

from __future__ import annotations

from django.db import models


# Foreign keys whose column leads another index or unique constraint of the same table have no
# index of their own (``db_index=False``): the longer index answers every lookup by that column
# (joins, cascades), and each extra index costs every rollup write and a full rebuild.
#
# The largest rollups are keyed by what identifies a row (a composite primary key, no ``id``),
# and on SQLite their tables are WITHOUT ROWID (migration 0012): the rows are stored in the
# key's B-tree itself, where a rowid table kept the rows once and the key's unique index a
# second time. Every upsert writes one B-tree less, and a rebuild of 10M events writes ~415 MB
# less (docs/analytics.md). ``WITHOUT_ROWID_TABLES`` names them; a test checks they stay so.
WITHOUT_ROWID_TABLES = ("qunyun_member_day", "qunyun_group_hour", "qunyun_member_week", "qunyun_member_month",
                        "qunyun_reply_edge_day")


class MemberDay(models.Model):
    """What one member did in one group on one (community-local) day."""

    pk = models.CompositePrimaryKey("day", "group", "member")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)
    replies = models.IntegerField(default=0, help_text="Messages that answer another member's message.")
    mentions = models.IntegerField(default=0, help_text="Mentions of other members made.")

    class Meta:
        db_table = "qunyun_member_day"
        # Keyed by day and group first: the same key answers "who was active in this group on this
        # day" (a group-day's active members), so no separate (group, day) index is kept up to date.
        # Day first (migration 0016): a rebuild writes its rows without a sort, its worker's later
        # days come after its own, and the live path's new days land at the end of the table.
        indexes = [
            # Covering: the dashboard's range scans (who was active on which day, how much) read
            # only this index, never the table.
            models.Index(fields=["community", "day", "member", "messages", "reactions", "replies"],
                         name="member_day_community_cover"),
            # Covering too: a member's days with their messages and replies (a core member's
            # window, last message day, the funnel's first message) without reading the table.
            models.Index(fields=["member", "day", "messages", "replies"], name="member_day_member_cover"),
        ]


class GroupDay(models.Model):
    """What happened in one group on one (community-local) day.

    ``active_members`` counts members with a message or reaction that day in this group.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)
    active_members = models.IntegerField(default=0)
    joins = models.IntegerField(default=0)
    leaves = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_group_day"
        constraints = [models.UniqueConstraint(fields=["group", "day"], name="group_day_unique")]
        # Covering the counts the community's reads sum over a range of days (the daily series,
        # the health alerts' per-group sums): read from the index alone, where a (community, day)
        # index fetched each row from the table (10M: the health sums 94 -> 33 ms, the daily
        # totals 25 -> 6 ms; docs/benchmarks.md, session 10). ``active_members`` is left out: it
        # is not read this way, and the live path's recount of it then leaves the index alone.
        indexes = [models.Index(fields=["community", "day", "group", "messages", "reactions", "joins", "leaves"],
                                name="group_day_community_cover")]


class GroupHour(models.Model):
    """Messages and distinct active members per group per local day and hour (0–23): the heatmap's source."""

    pk = models.CompositePrimaryKey("group", "day", "hour")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    hour = models.SmallIntegerField()
    messages = models.IntegerField(default=0)
    active_members = models.IntegerField(default=0, help_text="Members (not bots) with a message or reaction.")

    class Meta:
        db_table = "qunyun_group_hour"
        # Read by group (a one-group heatmap) through its key; the whole community reads CommunityHour.


class CommunityHour(models.Model):
    """Messages and distinct members active in a local day and hour across all the community's groups.

    (A member active in two groups in the same hour counts once; per group it is
    GroupHour.active_members.) The heatmap without a filter reads only these rows.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    hour = models.SmallIntegerField()
    messages = models.IntegerField(default=0)
    active_members = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_community_hour"
        constraints = [models.UniqueConstraint(fields=["community", "day", "hour"], name="community_hour_unique")]


class MemberWeek(models.Model):
    """A member's activity in one local week (Monday start), all groups of the community together."""

    pk = models.CompositePrimaryKey("member", "week")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    week = models.DateField(help_text="The Monday the week starts on.")
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)
    replies = models.IntegerField(default=0, help_text="Messages that answer another member's message.")
    active_days = models.IntegerField(default=0, help_text="Days of the week with activity in any group.")

    class Meta:
        db_table = "qunyun_member_week"
        # Covering: a whole week's rows for the community (member windows, weekly activity) are
        # read from this index alone. The table is stored in (member, week) order, so fetching
        # the counts from it would visit a page per row (the dashboard's growth: 235-260 ms with
        # the rows in week order, 340-355 ms fetched by key, at 10M).
        indexes = [models.Index(fields=["community", "week", "member", "messages", "reactions", "replies",
                                        "active_days"], name="member_week_community_cover")]


class MemberMonth(models.Model):
    """A member's activity in one local calendar month, all groups of the community together."""

    pk = models.CompositePrimaryKey("member", "month")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField(help_text="The first day of the month.")
    messages = models.IntegerField(default=0)
    reactions = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_member_month"
        # Covering, as for the weeks.
        indexes = [models.Index(fields=["community", "month", "member", "messages", "reactions"],
                                name="member_month_community_cover")]


class MemberStats(models.Model):
    """A member's firsts and lasts in the community (all groups): cohorts, new members, layers.

    Days are local days; ``first_active_day`` counts messages and reactions, ``first_message_day``
    messages only, ``first_join_day`` join events. Every non-bot member with a membership has a row.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.OneToOneField("communities.Member", on_delete=models.CASCADE, related_name="+")
    first_active_day = models.DateField(null=True)
    last_active_day = models.DateField(null=True)
    first_message_day = models.DateField(null=True)
    last_message_day = models.DateField(null=True)
    first_join_day = models.DateField(null=True)
    messages = models.IntegerField(default=0)
    in_group = models.BooleanField(default=False, help_text="In at least one group now (from the memberships).")

    class Meta:
        db_table = "qunyun_member_stats"
        # Each ends with the member: the reads by a range of days want the members (cohorts, the
        # funnel's joiners, the lifecycle's newcomers) and get them from the index alone (10M: a
        # month's first-actives 8.4 -> 3.8 ms, the funnel's three reads 114 -> 104 ms).
        indexes = [
            models.Index(fields=["community", "first_active_day", "member"], name="member_stats_first_cover"),
            models.Index(fields=["community", "first_join_day", "member"], name="member_stats_join_cover"),
            models.Index(fields=["community", "in_group", "last_message_day", "member"], name="member_stats_in_cover"),
        ]


class MemberGroupFirsts(models.Model):
    """A member's first days in one group: what :class:`MemberStats` holds for the community, per group.

    The dashboard filtered by group reads its cohorts, new members and funnel joiners from these
    (a member's first day in a set of groups is the earliest of their rows). Same meanings as in
    :class:`MemberStats`; bots have no rows. A row exists once the member was active in the group
    or joined it. Firsts only: a new event can only move them earlier, so the live path rarely
    writes here (lasts would change on every new day).
    """

    pk = models.CompositePrimaryKey("group", "member")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    first_active_day = models.DateField(null=True)
    first_message_day = models.DateField(null=True)
    first_join_day = models.DateField(null=True)

    class Meta:
        db_table = "qunyun_member_group_firsts"


class GroupDayMix(models.Model):
    """What kind of messages a group had on a day: water (灌水), links, deletions (health alerts).

    A row exists only for days where one of the counts is not zero.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    water = models.IntegerField(default=0)
    links = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_group_day_mix"
        constraints = [models.UniqueConstraint(fields=["group", "day"], name="group_day_mix_unique")]
        # Covering, as for GroupDay: the health alerts' shares read the counts from the index.
        indexes = [models.Index(fields=["community", "day", "group", "water", "links", "deleted"],
                                name="group_day_mix_community_cover")]


class FunnelDay(models.Model):
    """Payments a member made and members they brought in (as inviter), per local day: the funnel's last steps."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    member = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    payments = models.IntegerField(default=0)
    invites = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_funnel_day"
        constraints = [models.UniqueConstraint(fields=["member", "day"], name="funnel_day_unique")]
        indexes = [models.Index(fields=["community", "day"], name="funnel_day_community_day")]


class ReplyEdgeDay(models.Model):
    """Who answered whom in a group on a day: replies to and mentions of another member (the leaders' graph).

    A mention of the member being replied to is not counted again; bots are left out at both ends.
    """

    pk = models.CompositePrimaryKey("group", "day", "source", "target")
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    source = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.ForeignKey("communities.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    replies = models.IntegerField(default=0)
    mentions = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_reply_edge_day"
        indexes = [
            models.Index(fields=["community", "day", "source", "target", "replies", "mentions"],
                         name="reply_edge_community_cover"),
            models.Index(fields=["target", "day"], name="reply_edge_target_day"),
            models.Index(fields=["source", "day"], name="reply_edge_source_day"),
        ]


class TalkDay(models.Model):
    """Conversation figures of a group's day, computed from the log on first need and kept.

    A cache, not a rollup: the store deletes the rows a new message could change (its day, the
    day before — answers within 24 hours — and the day after — conversation starts); the next
    reader computes them again. ``answer_seconds`` lists the time to first answer of each
    question answered within 24 hours.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    group = models.ForeignKey("communities.Group", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    conversations = models.IntegerField(default=0)
    messages = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    questions = models.IntegerField(default=0)
    answer_seconds = models.JSONField(default=list)

    class Meta:
        db_table = "qunyun_talk_day"
        constraints = [models.UniqueConstraint(fields=["group", "day"], name="talk_day_unique")]
        indexes = [models.Index(fields=["community", "day"], name="talk_day_community_day")]


class CommunityDay(models.Model):
    """Distinct members active, and who posted, on a local day across all the community's groups.

    (A member active in two groups counts once; the per-group figure is GroupDay.active_members.)
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    active_members = models.IntegerField(default=0)
    authors = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_community_day"
        constraints = [models.UniqueConstraint(fields=["community", "day"], name="community_day_unique")]


class GroupSize(models.Model):
    """How many members (not bots) are in a group now: recounted from the memberships when they change."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    group = models.OneToOneField("communities.Group", on_delete=models.CASCADE, related_name="+")
    members_now = models.IntegerField(default=0)

    class Meta:
        db_table = "qunyun_group_size"

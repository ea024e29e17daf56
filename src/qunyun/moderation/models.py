"""Storage of moderation: the community's policy, cases, penalties, appeals, labelled examples.

The rules themselves are plain data from the pure layer (:mod:`qunyun.moderation.policy`,
:mod:`qunyun.moderation.ladder`); these tables keep them (as their ``to_dict`` JSON) and keep
what was done. Writes go through :mod:`.services` and the outbox executors in
:mod:`.executors`; reads through :mod:`.selectors`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CommunityPolicy(models.Model):
    """A community's moderation policy (``Policy.to_dict()``) and penalty ladder (``Ladder.to_dict()``).

    A community without a row uses :func:`qunyun.moderation.policy.default_policy` and the
    default ladder. ``enabled`` switches live moderation off altogether.
    """

    community = models.OneToOneField("communities.Community", on_delete=models.CASCADE,
                                     related_name="moderation_policy")
    enabled = models.BooleanField(_("moderation on"), default=True)
    policy = models.JSONField(_("policy"), default=dict, blank=True)
    ladder = models.JSONField(_("penalty ladder"), default=dict, blank=True)
    model_path = models.CharField(
        _("model file"), max_length=500, blank=True,
        help_text=_("A model from `qunyun moderation train`, used as one more signal."))
    allow_domains = models.JSONField(_("trusted domains"), default=list, blank=True)
    deny_domains = models.JSONField(_("forbidden domains"), default=list, blank=True)
    lexicons = models.JSONField(_("extra word lists"), default=list, blank=True,
                                help_text=_("Paths of lexicon files or folders, added to the starter lists."))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        db_table = "qunyun_moderation_policy"
        verbose_name = _("moderation policy")
        verbose_name_plural = _("moderation policies")

    def __str__(self) -> str:
        return f"policy of {self.community}"


class GroupPolicy(models.Model):
    """A group's override of its community's policy (``PolicyOverride.to_dict()``)."""

    group = models.OneToOneField("communities.Group", on_delete=models.CASCADE, related_name="moderation_override")
    override = models.JSONField(_("override"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "qunyun_moderation_group_policy"
        verbose_name = _("group policy override")
        verbose_name_plural = _("group policy overrides")


class CaseCounter(models.Model):
    """The last case number given in a community (numbers are per community, without gaps)."""

    community = models.OneToOneField("communities.Community", on_delete=models.CASCADE, related_name="+")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "qunyun_moderation_case_counter"


class Case(models.Model):
    """One moderation case: what was seen, who or which rule decided, what was done.

    ``action`` is the policy's action (``allow`` / ``review`` / ``delete`` /
    ``delete_penalize``); ``step`` the ladder step taken with it (``warning`` … ``ban``), if
    any. A ``shadow`` case records what a policy in shadow mode would have done: nothing was
    done. ``needs_review`` puts an open case in the review queue.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CONFIRMED = "confirmed", _("confirmed")
        OVERTURNED = "overturned", _("overturned")

    class Source(models.TextChoices):
        LIVE = "live", _("live")
        MODERATOR = "moderator", _("moderator")
        HISTORY = "history", _("history")

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="moderation_cases")
    number = models.PositiveIntegerField(_("number"))
    group = models.ForeignKey("communities.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    member = models.ForeignKey("communities.Member", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="moderation_cases")
    account_id = models.CharField(_("account"), max_length=255, blank=True)
    chat = models.CharField(max_length=255, blank=True)
    event = models.ForeignKey("communities.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_key = models.CharField(max_length=400, blank=True)
    message_id = models.CharField(max_length=128, blank=True)
    text = models.TextField(_("message"), blank=True,
                            help_text=_("The message as written (evidence offsets point into it)."))
    categories = models.JSONField(_("categories"), default=list, blank=True)
    score = models.FloatField(_("score"), default=0.0)
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    findings = models.JSONField(default=list, blank=True)
    rule = models.CharField(_("rule"), max_length=100, blank=True, help_text=_("The policy rule that decided."))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    action = models.CharField(_("action"), max_length=32)
    step = models.CharField(_("penalty step"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    needs_review = models.BooleanField(_("needs review"), default=False)
    shadow = models.BooleanField(_("shadow"), default=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.LIVE)
    at = models.DateTimeField(_("time"), help_text=_("When the offence happened."))
    opened_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    review_note = models.TextField(blank=True)
    outbox_key = models.CharField(max_length=500, null=True, blank=True,
                                  help_text="The OpenCase outbox row that created it (executed once).")

    class Meta:
        db_table = "qunyun_moderation_case"
        ordering = ["-number"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="moderation_case_number"),
            models.UniqueConstraint(fields=["community", "outbox_key"], name="moderation_case_outbox_key"),
        ]
        indexes = [
            models.Index(fields=["community", "status", "needs_review"], name="moderation_case_queue"),
            models.Index(fields=["member", "at"], name="moderation_case_member"),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"


class Penalty(models.Model):
    """A step of the ladder given to a member: when it started, when it ends, when it was lifted.

    ``end`` is ``None`` for a permanent ban and equals ``start`` for a warning. A timed mute or
    ban has its end as an outbox row with a due time (``end_item_id``); ``lifted_at`` is set when
    the unmute/unban was carried out, ``overturned_at`` when a moderator or an appeal undid it
    (an overturned penalty no longer counts on the ladder). Shadow penalties count only for
    other shadow cases.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="penalty")
    member = models.ForeignKey("communities.Member", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="moderation_penalties")
    account_id = models.CharField(max_length=255, blank=True)
    chat = models.CharField(max_length=255, blank=True)
    step = models.CharField(_("step"), max_length=16)
    category = models.CharField(max_length=64, blank=True)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), null=True, blank=True)
    end_item_id = models.BigIntegerField(null=True, blank=True, help_text="Outbox row that lifts it.")
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    overturned_at = models.DateTimeField(_("overturned at"), null=True, blank=True)
    shadow = models.BooleanField(default=False)

    class Meta:
        db_table = "qunyun_moderation_penalty"
        ordering = ["-start"]
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        indexes = [models.Index(fields=["community", "member", "start"], name="moderation_penalty_member")]


class Appeal(models.Model):
    """A member's appeal (申诉) against a case, through the link or the bot command."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    class Via(models.TextChoices):
        LINK = "link", _("link")
        BOT = "bot", _("bot command")

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="appeals")
    text = models.TextField(_("appeal"))
    via = models.CharField(_("via"), max_length=8, choices=Via.choices)
    account_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    note = models.TextField(_("answer"), blank=True)

    class Meta:
        db_table = "qunyun_moderation_appeal"
        ordering = ["-created_at", "-id"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        indexes = [models.Index(fields=["community", "status"], name="moderation_appeal_status")]


class LabelledExample(models.Model):
    """A message labelled by a moderator's decision: ``ok`` (overturned) or a category (confirmed).

    One per case (a changed decision relabels it). Exported in the JSONL shape that
    ``qunyun moderation train`` reads.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    case = models.OneToOneField(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="example")
    text = models.TextField()
    label = models.CharField(max_length=64)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "qunyun_moderation_example"
        ordering = ["id"]

"""The outbox: decisions waiting to be carried out, and what became of them."""

from __future__ import annotations

from django.db import models


class OutboxItem(models.Model):
    """One decision to execute, written in the transaction that decided it.

    ``key`` is unique within a community: the same event handled twice produces the same keys,
    so its decisions are written once. ``due_at`` lets a decision wait (the end of a mute, a screening timeout).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        DRY_RUN = "dry_run"
        CANCELLED = "cancelled"

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=500)
    chat = models.CharField(max_length=255)
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    due_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=64, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    event = models.ForeignKey("communities.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "qunyun_outbox"
        constraints = [models.UniqueConstraint(fields=["community", "key"], name="outbox_key_unique")]
        indexes = [models.Index(fields=["status", "due_at"], name="outbox_status_due")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.chat} ({self.status})"


class Notification(models.Model):
    """A notice to a community's operators (from a :class:`NotifyOperator` decision)."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="notifications")
    severity = models.CharField(max_length=16, default="info")
    text = models.TextField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "qunyun_notification"
        ordering = ["-created_at"]


class BulkLoad(models.Model):
    """A bulk import of a community under way, or cut short (see :mod:`qunyun.bus.bulk`).

    While the row exists the community's rollups may lack the imported events and the event
    table may lack indexes; the import deletes it when it has rebuilt both, and a command that
    starts after a crash finishes the work and deletes it then.
    """

    community = models.OneToOneField("communities.Community", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    pid = models.IntegerField()
    host = models.CharField(max_length=255, blank=True)

    class Meta:
        db_table = "qunyun_bulk_load"


class RollupPart(models.Model):
    """One part of a deferred rollups' application still to be written (SQLite; see :mod:`.deferred`).

    An application's changes are written in several short transactions, one rollup table or so
    each, so that the live writer never waits for all of them at once. Its first transaction
    deletes the waiting rollups rows it applies and stores the remaining parts here; each later
    one deletes its part's row and runs its statements (``steps``: ``[[sql, params], …]``, the
    staged rows as JSON in the parameters), so a crash between two leaves exactly the parts not
    yet written, which the next application of the community (or the worker's start) writes
    first. A rebuild deletes them with the waiting rows: it counts their events itself.
    """

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    seq = models.IntegerField()
    steps = models.TextField()

    class Meta:
        db_table = "qunyun_rollup_part"
        constraints = [models.UniqueConstraint(fields=["community", "seq"], name="rollup_part_unique")]

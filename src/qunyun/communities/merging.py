"""Merging two members into one person, and undoing it.

One person often shows up as several members: a WeChat account and a QQ account, an old and
a new Telegram account. An operator who knows they are the same merges them; the event log,
memberships and every rollup then count them as one. A merge is explicit and reversible:
what moved is recorded on a :class:`~qunyun.communities.models.MemberMerge` row.

What moves: the source's identities (so future events of those accounts go to the target);
the events authored through them (``Event.identity`` says which account wrote each one, which
is what makes the undo exact); the events that name the source as inviter/remover, as the
author answered (``reply_to_member``) or in mentions. Memberships of both members are
recomputed from the log, and the community's rollups are rebuilt.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef

from qunyun.core.errors import InvalidInput
from qunyun.core.timeutil import utcnow

from .models import Community, Event, Identity, Member, MemberMerge, Membership

_MEMBERSHIP_TYPES = ("message", "join", "leave", "reaction")


class MergeError(InvalidInput):
    """A merge or undo that cannot be done, with the reason."""


def _rebuild_rollups(community: Community) -> None:
    from qunyun.analytics.rollups import rollups_rebuild

    rollups_rebuild(community)


def _bump_identity_version(community: Community) -> None:
    Community.objects.filter(pk=community.pk).update(identity_version=F("identity_version") + 1)


def memberships_recompute(*, member_ids: list[int]) -> None:
    """Rebuild the memberships of some members from the event log (roles are kept).

    The same rule as the live store: the latest join, leave, message or reaction decides
    whether someone is in a group.
    """
    roles = {(g, m): role for g, m, role in Membership.objects.filter(member_id__in=member_ids)
             .exclude(role="member").values_list("group_id", "member_id", "role")}
    Membership.objects.filter(member_id__in=member_ids).delete()
    folded: dict[tuple[int, int], Membership] = {}
    events = (Event.objects.filter(member_id__in=member_ids, type__in=_MEMBERSHIP_TYPES)
              .order_by("at", "id")
              .values_list("group_id", "member_id", "type", "at", "detail", "channel_id", "actor_id"))
    for group_id, member_id, etype, at, detail, channel_id, actor_id in events.iterator(chunk_size=5000):
        row = folded.get((group_id, member_id))
        if row is None:
            row = folded[(group_id, member_id)] = Membership(
                group_id=group_id, member_id=member_id, first_seen_at=at,
                role=roles.get((group_id, member_id), "member"))
        row.is_member, row.state_at = etype != "leave", at
        if etype == "join":
            row.joined_at, row.join_method = at, detail
            row.channel_id = row.channel_id or channel_id
            row.inviter_id = row.inviter_id or actor_id
        elif etype == "leave":
            row.left_at, row.leave_reason = at, detail
    Membership.objects.bulk_create(folded.values(), batch_size=1000)


def _first_seen(member_id: int) -> datetime | None:
    return Event.objects.filter(member_id=member_id).aggregate(first=Min("at"))["first"]


def _rewrite_mentions(community: Community, old: int, new: int, only: list[int] | None = None) -> list[int]:
    """Replace member id ``old`` by ``new`` in events' mention lists; returns the event ids changed."""
    changed = []
    rows = Event.objects.filter(community=community, type="message", mentions__isnull=False)
    if only is not None:
        rows = rows.filter(pk__in=only)
    for pk, mentions in rows.values_list("pk", "mentions").iterator(chunk_size=5000):
        if mentions and old in mentions:
            Event.objects.filter(pk=pk).update(mentions=[new if m == old else m for m in mentions])
            changed.append(pk)
    return changed


@transaction.atomic
def member_merge(*, source: Member, target: Member, merged_by: str = "") -> MemberMerge:
    """Fold ``source`` into ``target``: one person from now on. Undo with :func:`member_unmerge`."""
    source = Member.objects.select_for_update().get(pk=source.pk)
    target = Member.objects.select_for_update().get(pk=target.pk)
    if source.pk == target.pk:
        raise MergeError("a member cannot be merged into itself")
    if source.community_id != target.community_id:
        raise MergeError("members of different communities cannot be merged")
    if source.merged_into_id or target.merged_into_id:
        raise MergeError("one of these members was already merged into another; undo that merge first")
    community = source.community
    identities = list(Identity.objects.filter(member=source).values_list("pk", flat=True))
    actor_events = list(Event.objects.filter(actor=source).values_list("pk", flat=True))
    merge = MemberMerge.objects.create(
        community=community, source=source, target=target, identities=identities, actor_events=actor_events,
        merged_by=merged_by[:150],
        target_before={"channel_id": target.channel_id,
                       "first_seen_at": target.first_seen_at.isoformat() if target.first_seen_at else None},
    )
    Identity.objects.filter(pk__in=identities).update(member=target)
    Event.objects.filter(member=source).update(member=target)
    Event.objects.filter(pk__in=actor_events).update(actor=target)
    Event.objects.filter(reply_to_member=source).update(reply_to_member=target)
    merge.mention_events = _rewrite_mentions(community, source.pk, target.pk)
    merge.save(update_fields=["mention_events"])
    firsts = [t for t in (source.first_seen_at, target.first_seen_at) if t is not None]
    Member.objects.filter(pk=target.pk).update(first_seen_at=min(firsts) if firsts else None,
                                               channel_id=target.channel_id or source.channel_id)
    Member.objects.filter(pk=source.pk).update(merged_into=target)
    memberships_recompute(member_ids=[source.pk, target.pk])
    _bump_identity_version(community)
    _rebuild_rollups(community)
    return merge


@transaction.atomic
def member_unmerge(*, merge: MemberMerge) -> None:
    """Undo a merge exactly: the source's accounts, events, memberships and counts come back."""
    merge = MemberMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise MergeError(f"merge #{merge.pk} was already undone")
    later = MemberMerge.objects.filter(target=merge.source, undone_at__isnull=True).exists() or \
        MemberMerge.objects.filter(source=merge.target, undone_at__isnull=True).exists()
    if later:
        raise MergeError("undo the later merges involving these members first")
    source, target, community = merge.source, merge.target, merge.community
    Identity.objects.filter(pk__in=merge.identities).update(member=source)
    Event.objects.filter(identity_id__in=merge.identities).update(member=source)
    Event.objects.filter(pk__in=merge.actor_events).update(actor=source)
    _rewrite_mentions(community, target.pk, source.pk, only=merge.mention_events)
    # Answers to messages the source wrote point at the source again.
    wrote_it = Event.objects.filter(group_id=OuterRef("group_id"), type="message", message_id=OuterRef("reply_to"),
                                    member=source)
    Event.objects.filter(community=community, reply_to_member=target).filter(Exists(wrote_it)).update(
        reply_to_member=source)
    before = merge.target_before or {}
    Member.objects.filter(pk=target.pk).update(channel_id=before.get("channel_id"), first_seen_at=_first_seen(target.pk))
    Member.objects.filter(pk=source.pk).update(merged_into=None, first_seen_at=_first_seen(source.pk))
    memberships_recompute(member_ids=[source.pk, target.pk])
    merge.undone_at = utcnow()
    merge.save(update_fields=["undone_at"])
    _bump_identity_version(community)
    _rebuild_rollups(community)

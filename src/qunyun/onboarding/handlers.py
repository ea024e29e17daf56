"""Onboarding handlers: welcome, screening and FAQ. Registered in :mod:`qunyun.bus.handlers`.

They read the community's onboarding settings (cached, see :mod:`.config`) and, where a rule
needs to know what was already decided (a pending screening, a FAQ cooldown), the outbox: that
state lives in the database, so it survives restarts and is shared by every worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db import connection

from qunyun.analytics.models import GroupSize
from qunyun.bus.models import OutboxItem
from qunyun.communities.models import Membership
from qunyun.core import events as ev
from qunyun.core.decisions import CancelLater, Kick, Later, SendMessage

from .config import onboarding_config, public_url
from .rules import faq_find, template_fill, welcome_choose

SCREEN_PREFIX = "screen:"


def screening_key(chat: str, member: str, join_event_id: str) -> str:
    """The delayed kick of one join's screening (one per join, so a rejoin is screened again)."""
    return f"{SCREEN_PREFIX}{chat}|{member}|{join_event_id}"


def _pending_screenings(community_id: int, chat: str, member: str) -> list[str]:
    prefix = "later:" + SCREEN_PREFIX + f"{chat}|{member}|"
    return [key[len("later:"):] for key in OutboxItem.objects.filter(
        community_id=community_id, key__startswith=prefix, status=OutboxItem.Status.PENDING).values_list(
        "key", flat=True)]


def _local_name(account_id: str) -> str:
    """What to call someone whose name the platform did not give: their own id, unqualified."""
    local = account_id.partition(":")[2]
    return local[3:] if local.startswith("qq:") else local


def _member_count(group_id: int) -> int:
    """Current members (not bots) of a group: the size the store's rollups keep up to date in this
    very transaction (one key read; counting the memberships cost ~4 ms a join in a big group)."""
    with connection.cursor() as cursor:  # raw: the ORM's query building cost more than the read
        cursor.execute(f"SELECT members_now FROM {GroupSize._meta.db_table} WHERE group_id = %s", [group_id])
        row = cursor.fetchone()
    size = row[0] if row else None
    if size is None:  # no rollup row yet
        size = Membership.objects.filter(group_id=group_id, is_member=True, member__is_bot=False).count()
    return size


def welcome_newcomer(event: ev.Event, ctx) -> Iterator[SendMessage | Later]:
    """Greet a newcomer with their channel's welcome; ask the screening question if it is on."""
    if not isinstance(event, ev.MemberJoined) or event.member.is_bot:
        return
    config = onboarding_config(ctx.community.id)
    welcome = welcome_choose(config.welcomes, channel=ctx.channel_code, chat=event.chat)
    name = event.member.name or _local_name(event.member.id)
    if welcome is not None:
        count = _member_count(ctx.group.id) if "{member_count}" in welcome.text else ""
        text = template_fill(welcome.text, {
            "name": name, "group": ctx.group.name, "member_count": count,
            "channel": config.channel_names.get(ctx.channel_code or "", ""),
            "rules_link": f"{public_url()}/r/{ctx.community.slug}/",
        })
        if welcome.with_rules and ctx.community.rules_text:
            text = f"{text}\n\n{ctx.community.rules_text}"
        yield SendMessage(chat=event.chat, text=text, to_member=event.member.id, reason="onboarding.welcome")
    screening = config.screening_for(event.chat)
    if screening is not None:
        seconds = screening.timeout_seconds
        yield SendMessage(
            chat=event.chat, to_member=event.member.id, reason="onboarding.screening",
            text=f"{name}: {screening.question} ({seconds} s)",
            buttons=screening.answers if screening.buttons else (),
        )
        yield Later(Kick(chat=event.chat, member=event.member.id, reason="onboarding.screening: no answer"),
                    at=ctx.now + timedelta(seconds=seconds),
                    key=screening_key(event.chat, event.member.id, event.event_id))


def screening_answer(event: ev.Event, ctx) -> Iterator[CancelLater | SendMessage]:
    """A newcomer who answers the screening question in time stays; leaving also cancels it."""
    if isinstance(event, ev.MemberLeft):
        who = event.member.id
    elif isinstance(event, ev.MessagePosted) and not event.author.is_bot:
        who = event.author.id
    else:
        return
    screening = onboarding_config(ctx.community.id).screening_for(event.chat)
    if screening is None:
        return
    pending = _pending_screenings(ctx.community.id, event.chat, who)
    if not pending:
        return
    if isinstance(event, ev.MessagePosted) and not screening.accepts(event.text):
        return
    for key in pending:
        yield CancelLater(chat=event.chat, key=key, reason="onboarding.screening: answered")


def faq_answer(event: ev.Event, ctx) -> Iterator[Later]:
    """Answer a known question, at most once per cooldown per group.

    The cooldown is read from the outbox (the last answer's due time) and also encoded in the
    outbox key (one answer per cooldown window), so two questions in one batch answer once.
    """
    if (not isinstance(event, ev.MessagePosted) or event.author.is_bot
            or event.kind == ev.MessageKind.SYSTEM or not event.text):
        return
    rule = faq_find(onboarding_config(ctx.community.id).faqs, chat=event.chat, text=event.text)
    if rule is None:
        return
    reason = f"onboarding.faq:{rule.id}"
    cooldown = max(rule.cooldown_seconds, 1)
    recent = OutboxItem.objects.filter(
        community_id=ctx.community.id, chat=event.chat, reason=reason,
        due_at__gt=ctx.now - timedelta(seconds=cooldown),
    ).exclude(status=OutboxItem.Status.CANCELLED).exists()
    if recent:
        return
    window = int(ctx.now.timestamp() // cooldown)
    yield Later(SendMessage(chat=event.chat, text=rule.answer, reply_to=event.message_id, reason=reason),
                at=ctx.now, key=f"faq:{event.chat}|{rule.id}|{window}")

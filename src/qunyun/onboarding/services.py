"""Writes of the onboarding area: one named function per change, keyword-only arguments."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from qunyun.communities.models import Channel, Community, Group, Membership
from qunyun.core.timeutil import utcnow

from .config import config_forget
from .models import ChannelRoute, FaqEntry, JoinIntent, Screening, WelcomeTemplate
from .rules import TemplateError, faq_check_pattern, template_check

#: How long a /j/ visit attributes the visitor's next join.
JOIN_INTENT_TTL = timedelta(hours=24)


class OnboardingError(ValueError):
    """A setting that cannot be saved; the message names what is wrong."""


def _group(community: Community, chat: str | None) -> Group | None:
    if not chat:
        return None
    try:
        return Group.objects.get(community=community, chat_id=chat)
    except Group.DoesNotExist:
        raise OnboardingError(f"no group {chat!r} in {community.slug} (groups appear when the bot first "
                              "sees them, or register one with its platform-qualified id)") from None


def _channel(community: Community, code: str | None, *, create_name: str | None = None) -> Channel | None:
    if not code:
        return None
    channel = Channel.objects.filter(community=community, code=code).first()
    if channel is None:
        if create_name is None:
            known = ", ".join(Channel.objects.filter(community=community).values_list("code", flat=True)) or "none"
            raise OnboardingError(f"no channel {code!r} in {community.slug} (known: {known})")
        channel = Channel.objects.create(community=community, code=code, name=create_name or code)
    return channel


def welcome_set(*, community: Community, text: str, channel: str | None = None, group: str | None = None,
                with_rules: bool = False) -> WelcomeTemplate:
    """Set the welcome for joins through ``channel`` (None: the default) into ``group`` (None: all)."""
    try:
        template_check(text)
    except TemplateError as exc:
        raise OnboardingError(str(exc)) from None
    if not text.strip():
        raise OnboardingError("the welcome text is empty")
    ch, gr = _channel(community, channel), _group(community, group)
    template, _ = WelcomeTemplate.objects.update_or_create(
        community=community, channel=ch, group=gr, defaults={"text": text, "with_rules": with_rules})
    config_forget(community.pk)
    return template


def screening_set(*, community: Community, enabled: bool, question: str = "", answers: list[str] | None = None,
                  timeout_seconds: int = 300, buttons: bool = False, group: str | None = None) -> Screening:
    """Switch entry screening on or off for a group (None: every group)."""
    if enabled and not question.strip():
        raise OnboardingError("screening needs a question (--question)")
    if timeout_seconds < 1:
        raise OnboardingError("the screening timeout must be at least 1 second")
    gr = _group(community, group)
    defaults = {"enabled": enabled, "timeout_seconds": timeout_seconds, "buttons": buttons}
    if question:
        defaults["question"] = question
    if answers is not None:
        defaults["answers"] = [a.strip() for a in answers if a.strip()]
    screening, _ = Screening.objects.update_or_create(community=community, group=gr, defaults=defaults)
    config_forget(community.pk)
    return screening


def faq_add(*, community: Community, pattern: str, answer: str, is_regex: bool = False, cooldown_seconds: int = 300,
            group: str | None = None) -> FaqEntry:
    """Add an automatic answer for messages containing ``pattern`` (or matching it, as a regex)."""
    try:
        faq_check_pattern(pattern, is_regex)
    except TemplateError as exc:
        raise OnboardingError(str(exc)) from None
    if not answer.strip():
        raise OnboardingError("the FAQ answer is empty")
    entry = FaqEntry.objects.create(community=community, group=_group(community, group), pattern=pattern,
                                    is_regex=is_regex, answer=answer, cooldown_seconds=cooldown_seconds)
    config_forget(community.pk)
    return entry


def faq_remove(*, community: Community, faq_id: int) -> None:
    deleted, _ = FaqEntry.objects.filter(community=community, pk=faq_id).delete()
    if not deleted:
        raise OnboardingError(f"no FAQ entry #{faq_id} in {community.slug}")
    config_forget(community.pk)


@transaction.atomic
def channel_route_set(*, community: Community, channel: str, group: str, invite_link: str = "",
                      position: int | None = None, channel_name: str | None = None) -> ChannelRoute:
    """Send newcomers of ``channel`` to ``group`` (after the groups already routed, unless
    ``position`` is given); creates the channel if needed. ``invite_link`` is the channel's own
    link into that group, when the platform has per-channel links."""
    ch = _channel(community, channel, create_name=channel_name or channel)
    gr = _group(community, group)
    if position is None:
        last = ChannelRoute.objects.filter(channel=ch).exclude(group=gr).order_by("-position").first()
        position = (last.position + 1) if last else 0
    route, _ = ChannelRoute.objects.update_or_create(channel=ch, group=gr,
                                                     defaults={"position": position, "invite_link": invite_link})
    if invite_link and not ch.invite_link:
        ch.invite_link = invite_link
        ch.save(update_fields=["invite_link"])
    return route


def group_is_full(group: Group) -> bool:
    """Whether ``group`` reached its size cap (members as qunyun knows them; bots not counted)."""
    if not group.size_cap:
        return False
    return Membership.objects.filter(group=group, is_member=True, member__is_bot=False).count() >= group.size_cap


def channel_route_pick(*, channel: Channel) -> ChannelRoute | None:
    """The first route of ``channel`` whose group is active and not full (活码), or None."""
    for route in channel.routes.select_related("group").filter(group__is_active=True):
        if not group_is_full(route.group):
            return route
    return None


def join_intent_record(*, channel: Channel, account_id: str, group: Group | None = None) -> JoinIntent:
    """Remember that ``account_id`` came through ``channel`` (their next join is attributed to it)."""
    return JoinIntent.objects.create(community_id=channel.community_id, channel=channel, account_id=account_id,
                                     group=group, created_at=utcnow())


def join_intent_claim(*, community_id: int, account_id: str) -> str | None:
    """The channel code of ``account_id``'s latest unused recent /j/ visit, marking it used."""
    now = utcnow()
    intent = (JoinIntent.objects.filter(community_id=community_id, account_id=account_id, used_at__isnull=True,
                                        created_at__gte=now - JOIN_INTENT_TTL)
              .select_related("channel").order_by("-created_at").first())
    if intent is None:
        return None
    JoinIntent.objects.filter(pk=intent.pk).update(used_at=now)
    return intent.channel.code


def invite_link_channel(*, community_id: int, invite_link: str) -> str | None:
    """The channel whose route carries ``invite_link`` (per-group channel links of 活码)."""
    return (ChannelRoute.objects.filter(channel__community_id=community_id, invite_link=invite_link)
            .values_list("channel__code", flat=True).first())

"""Writes of the communities area: one named function per change, keyword-only arguments."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from qunyun.core.errors import InvalidInput
from qunyun.core.ids import platform_of
from qunyun.core.timeutil import InvalidTimeZone, zone

from .models import Channel, Community, Goal, Group


class CommunityError(InvalidInput):
    """A change that cannot be made, with a message for the operator."""


def community_create(
    *, slug: str, name: str, time_zone: str = "UTC", theme: str = "", target_members: str = "",
    core_value: str = "", slogan: str = "", rules_text: str = "", owner: str = "", dry_run: bool = False,
) -> Community:
    """Create a community; the slug is its stable short name (letters, digits, '-', '_')."""
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise CommunityError(f"{slug!r} is not a valid slug: use letters, digits, '-' or '_'") from exc
    try:
        zone(time_zone)
    except InvalidTimeZone as exc:
        raise CommunityError(str(exc)) from exc
    if Community.objects.filter(slug=slug).exists():
        raise CommunityError(f"a community with slug {slug!r} already exists")
    return Community.objects.create(
        slug=slug, name=name, time_zone=time_zone, theme=theme, target_members=target_members,
        core_value=core_value, slogan=slogan, rules_text=rules_text, owner=owner, dry_run=dry_run,
    )


def community_get(*, slug: str) -> Community:
    """The community called ``slug``, or a :class:`CommunityError` listing the known ones."""
    try:
        return Community.objects.get(slug=slug)
    except Community.DoesNotExist:
        known = ", ".join(Community.objects.order_by("slug").values_list("slug", flat=True)[:20])
        hint = f" (known: {known})" if known else " (there are none yet: qunyun community create SLUG --name NAME)"
        raise CommunityError(f"no community {slug!r}{hint}") from None


def group_create(*, community: Community, chat_id: str, name: str, size_cap: int | None = None) -> Group:
    """Register a chat (platform-qualified id) as a group of ``community``."""
    group, created = Group.objects.get_or_create(
        community=community, chat_id=chat_id,
        defaults={"platform": platform_of(chat_id), "name": name, "size_cap": size_cap},
    )
    if not created and (group.name != name or group.size_cap != size_cap):
        group.name, group.size_cap = name, size_cap
        group.save(update_fields=["name", "size_cap"])
    return group


def channel_create(*, community: Community, code: str, name: str, invite_link: str = "",
                   description: str = "") -> Channel:
    """Create an acquisition channel with its code and (optionally) its own invite link."""
    channel, created = Channel.objects.get_or_create(
        community=community, code=code,
        defaults={"name": name, "invite_link": invite_link, "description": description},
    )
    if not created:
        raise CommunityError(f"channel {code!r} already exists in {community.slug}")
    return channel


def goal_create(*, community: Community, title: str, target: float, due: date,
                metric: str = Goal.Metric.MEMBERS, baseline: float = 0, start: date | None = None) -> Goal:
    """Add a dated goal with a target number."""
    if metric not in Goal.Metric.values:
        raise CommunityError(f"unknown goal metric {metric!r} (one of {', '.join(Goal.Metric.values)})")
    return Goal.objects.create(community=community, title=title, target=target, due=due, metric=metric,
                               baseline=baseline, start=start)


@transaction.atomic
def operator_create(*, username: str, password: str, email: str = "", superuser: bool = False):
    """Create a console operator (a Django staff user), or reset an existing one's password.

    Returns ``(user, created)``.
    """
    if len(password) < 8:
        raise CommunityError("the password must have at least 8 characters")
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    user.is_staff = True
    user.is_superuser = user.is_superuser or superuser
    if email:
        user.email = email
    user.set_password(password)
    user.save()
    return user, created

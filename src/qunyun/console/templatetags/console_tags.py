"""Template tags of the console: the section navigation and the language selector."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language

from qunyun.operators.selectors import role_at_least

from ..nav import COMMUNITY_NAV

register = template.Library()


@register.inclusion_tag("console/_nav.html", takes_context=True)
def community_nav(context):
    """The community's sections (:data:`qunyun.console.nav.COMMUNITY_NAV`), the current one marked."""
    community = context.get("community")
    request = context.get("request")
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    current_kwargs = getattr(getattr(request, "resolver_match", None), "kwargs", {})
    section = context.get("section")
    items = []
    if community is not None:
        role = getattr(community, "operator_role", None)
        for item in COMMUNITY_NAV:
            if not role_at_least(role, item.role):
                continue
            try:
                url = reverse(item.url_name, kwargs={"slug": community.slug, **item.url_kwargs})
            except NoReverseMatch:  # an item whose app is not installed: leave it out
                continue
            if section:
                active = section == item.key
            else:
                active = (current == item.url_name and all(current_kwargs.get(k) == v for k, v in item.url_kwargs.items())) \
                    or current in item.also
            items.append({"key": item.key, "label": item.label, "url": url, "active": active})
    return {"items": items, "community": community}


@register.inclusion_tag("console/_language.html", takes_context=True)
def language_form(context):
    """A small form that posts the chosen language to Django's ``set_language`` view."""
    request = context.get("request")
    return {
        "languages": settings.LANGUAGES,
        "current": get_language(),
        "next": request.get_full_path() if request is not None else "/",
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def percent_of(value, total):
    """``value`` as a whole percentage of ``total`` (0 when ``total`` is 0)."""
    try:
        return round(100 * float(value) / float(total)) if total else 0
    except (TypeError, ValueError):
        return 0


@register.filter
def number(value, digits=0):
    """A number with at most ``digits`` decimals and no trailing zeros (``12``, ``12.5``)."""
    if value is None:
        return "–"
    try:
        value = round(float(value), int(digits))
    except (TypeError, ValueError):
        return value
    return f"{value:,.{int(digits)}f}".rstrip("0").rstrip(".") if digits else f"{int(value):,}"

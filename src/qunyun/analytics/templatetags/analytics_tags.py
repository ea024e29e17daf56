"""Template helpers of the analytics pages and report: percentages, durations, definition links."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from qunyun.analytics.definitions import DEFINITIONS, definition_url

register = template.Library()


@register.filter
def pct(value, digits: int = 1) -> str:
    """A share (0–1) as a percentage; an em dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def duration(seconds) -> str:
    """Seconds as a short human duration (45 s, 12 min, 3.5 h, 2.0 d)."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 90:
        return _("%(n).0f s") % {"n": seconds}
    if seconds < 90 * 60:
        return _("%(n).0f min") % {"n": seconds / 60}
    if seconds < 36 * 3600:
        return _("%(n).1f h") % {"n": seconds / 3600}
    return _("%(n).1f d") % {"n": seconds / 86400}


@register.filter
def get(mapping, key):
    """``mapping[key]`` in a template (``None`` when absent)."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.simple_tag
def define(key: str, anchor_prefix: str = "") -> str:
    """A small "?" link to the definition of a metric (inside the page when ``anchor_prefix`` is given)."""
    if key not in DEFINITIONS:
        raise template.TemplateSyntaxError(f"no metric definition {key!r}")
    href = f"#{anchor_prefix}{key}" if anchor_prefix else definition_url(key)
    return format_html('<a class="define" href="{}" title="{}">?</a>', href, str(DEFINITIONS[key].text))

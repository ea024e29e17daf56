"""The console's navigation: one list, so another area adds its page with a one-line edit.

To add a section, append a :class:`NavItem` to :data:`COMMUNITY_NAV` (or replace a
placeholder's ``url_name``)::

    NavItem("analytics", _("Analytics"), "analytics:dashboard"),

The URL is reversed with the community's ``slug`` plus ``url_kwargs``. An item is highlighted
when the view passes ``section=<key>`` in its context, or when the current URL's name is the
item's ``url_name`` (or one of ``also``). ``role`` hides the item from operators below that role
(see :mod:`qunyun.operators.models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Any  # a (lazy) translated string
    url_name: str
    url_kwargs: dict[str, Any] = field(default_factory=dict)
    role: str | None = None
    also: tuple[str, ...] = ()


COMMUNITY_NAV: list[NavItem] = [
    NavItem("overview", _("Overview"), "console:community"),
    NavItem("members", _("Members"), "console:members", also=("console:member",)),
    NavItem("groups", _("Groups"), "console:groups", also=("console:group",)),
    NavItem("moderation", _("Moderation"), "console:placeholder", {"section": "moderation"}, role="moderator"),
    NavItem("analytics", _("Analytics"), "analytics:dashboard", also=("analytics:layer", "analytics:thresholds")),
    NavItem("audit", _("Audit log"), "console:audit", role="admin"),
]

# What the placeholder page says about a section that another area has not filled in yet.
PLACEHOLDER_TEXT = {
    "moderation": _("The moderation queue, cases and appeals will appear here."),
    "analytics": _("Dashboards of growth, activity, retention and member layers will appear here."),
}

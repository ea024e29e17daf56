"""Extra panels on console pages, contributed by other areas without touching the views.

A :class:`Panel` names a template and, optionally, a function that returns the template's
data. The views render every panel of a page's list in order; to add one, append a line::

    MEMBER_PANELS.append(Panel("analytics/_member_timeline.html", member_timeline_context))

The context function is called with keyword arguments: ``request``, ``community``, ``today`` and,
on the member and group pages, ``member`` / ``group``. It must answer in a few queries (the pages
serve communities of 200,000 members). The template gets the result as ``data``, plus the page's
own context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qunyun.operators.selectors import role_at_least


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[..., dict[str, Any]] | None = None
    role: str | None = None


COMMUNITY_PANELS: list[Panel] = []  # on the community overview, after the goals
MEMBER_PANELS: list[Panel] = []  # on a member's page, after activity
GROUP_PANELS: list[Panel] = []  # on a group's page, before its member table


def panels_render(panels: list[Panel], *, community, **kwargs) -> list[dict[str, Any]]:
    """``[{"template": …, "data": …}]`` for the panels the operator's role may see."""
    out = []
    for panel in panels:
        if not role_at_least(getattr(community, "operator_role", None), panel.role):
            continue
        data = panel.context(community=community, **kwargs) if panel.context else {}
        out.append({"template": panel.template, "data": data})
    return out

"""What a console page of another area needs, in one import.

A page of a community (analytics, moderation, …) looks like this::

    from django.contrib.auth.decorators import login_required
    from qunyun.console.shortcuts import community_for_operator, render_community

    @login_required
    def dashboard(request, slug):
        community = community_for_operator(request.user, slug)      # 404 without access
        return render_community(request, community, "analytics/dashboard.html",
                                {"section": "analytics", ...})

and its template extends ``console/base.html`` (blocks ``title``, ``extra_head``, ``content``,
``scripts``). Add the page to the navigation in :mod:`qunyun.console.nav`, export tables with
:func:`qunyun.console.export.csv_response`.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from qunyun.core.timeutil import zone
from qunyun.operators.selectors import community_for_operator  # noqa: F401  (re-exported)
from qunyun.operators.services import audit_record  # noqa: F401  (re-exported)

from .export import csv_response  # noqa: F401  (re-exported)

__all__ = ["audit_record", "community_for_operator", "csv_response", "render_community"]


def render_community(request, community, template: str, context: dict):
    """Render a community page: ``community`` in the context, times in the community's zone.

    Pass ``section`` (the :class:`~qunyun.console.nav.NavItem` key) to mark the page's entry in
    the navigation.
    """
    with timezone.override(zone(community.time_zone)):
        return render(request, template, {"community": community, **context})

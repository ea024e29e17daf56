"""Console pages. Every community page gets its community from
:func:`~qunyun.operators.selectors.community_for_operator` (404 without access) and reads through
selectors; nothing here loops over members with a query per row.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from qunyun.communities.models import Group, Member
from qunyun.communities.selectors import (
    DEFAULT_MEMBER_SORT, DUNBAR_ADVICE, DUNBAR_BANDS, MEMBER_SORTS, MEMBER_STATUSES,
    community_figures, community_today, in_a_group_now, goals_progress, group_rows, member_ordered_ids, member_rows, member_rows_iter,
    member_search,
)
from qunyun.core.timeutil import zone
from qunyun.operators.selectors import communities_for_operator, community_for_operator
from qunyun.operators.services import audit_record

from . import selectors
from .export import csv_response
from .nav import PLACEHOLDER_TEXT
from .paging import PER_PAGE_CHOICES, page_info
from .panels import COMMUNITY_PANELS, GROUP_PANELS, MEMBER_PANELS, panels_render
from .shortcuts import render_community


@login_required
def home(request):
    """The communities this operator may see, with their size."""
    communities = list(communities_for_operator(request.user).annotate(
        group_count=Count("groups", distinct=True)).order_by("name"))
    ids = [c.pk for c in communities]
    members = dict(
        Member.objects.filter(community_id__in=ids, is_bot=False, merged_into__isnull=True)
        .filter(in_a_group_now()).values("community_id").annotate(n=Count("id")).values_list("community_id", "n")
    )
    for c in communities:
        c.members_now = members.get(c.pk, 0)
    return render(request, "console/home.html", {"communities": communities})


@login_required
def community_detail(request, slug):
    """Overview: profile, figures, goals, groups, channels, recent decisions and notifications."""
    community = community_for_operator(request.user, slug)
    today = community_today(community)
    figures = community_figures(community, today=today)
    return render_community(request, community, "console/community.html", {
        "section": "overview",
        "today": today,
        "figures": figures,
        "goals": goals_progress(community, figures=figures),
        "groups": group_rows(community, today=today),
        "channels": selectors.channel_rows(community),
        "decisions": selectors.recent_decisions(community),
        "notifications": selectors.recent_notifications(community),
        "unread": selectors.unread_notifications_count(community),
        "panels": panels_render(COMMUNITY_PANELS, request=request, community=community, today=today),
    })


def _member_table(request, community, *, today, group=None) -> dict:
    """The member table's context: filters from the query string, one page of rows."""
    q = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "current")
    if status not in MEMBER_STATUSES:
        status = "current"
    sort = request.GET.get("sort", DEFAULT_MEMBER_SORT)
    if sort not in MEMBER_SORTS:
        sort = DEFAULT_MEMBER_SORT
    groups = list(Group.objects.filter(community=community).order_by("name").values_list("pk", "name"))
    filter_group = group
    if group is None and request.GET.get("group", "").isdigit():
        filter_group = Group.objects.filter(community=community, pk=int(request.GET["group"])).first()
    qs = member_search(community, q=q, group=filter_group, status=status)
    total = qs.count()
    page = page_info(request, total)
    ids = member_ordered_ids(community, qs, sort=sort, today=today, offset=page.offset, limit=page.per_page)
    rows = member_rows(ids, today=today)
    return {
        "q": q, "status": status, "statuses": MEMBER_STATUSES, "sort": sort,
        "sort_key": sort.lstrip("-"), "sort_desc": sort.startswith("-"),
        "groups_choice": groups, "filter_group": filter_group, "fixed_group": group,
        "rows": rows, "page": page, "total": total, "per_page_choices": PER_PAGE_CHOICES,
        "queryset": qs,
    }


MEMBER_CSV_HEADER = (
    lambda: [_("Member id"), _("Name"), _("Bot"), _("Accounts"), _("Groups now"), _("Channel"), _("First seen"),
             _("Messages (30 days)"), _("Last active")]
)


def _members_csv(request, community, table: dict, *, today, filename: str):
    audit_record(user=request.user, community=community, action="members.export",
                 detail={"rows": table["total"], "q": table["q"], "status": table["status"],
                         "group": table["filter_group"].pk if table["filter_group"] else None})
    ids = member_ordered_ids(community, table["queryset"], sort=table["sort"], today=today)
    rows = ((r.id, r.name, r.is_bot, r.accounts, r.groups, r.channel, r.first_seen_at, r.messages, r.last_active)
            for r in member_rows_iter(ids, today=today))
    return csv_response(request, filename=filename, header=MEMBER_CSV_HEADER(), rows=rows,
                        tz=zone(community.time_zone))


@login_required
def community_members(request, slug):
    """The member table: search, filters, sort, pages, CSV export (``?format=csv``)."""
    community = community_for_operator(request.user, slug)
    today = community_today(community)
    table = _member_table(request, community, today=today)
    if request.GET.get("format") == "csv":
        return _members_csv(request, community, table, today=today, filename=f"{community.slug}-members.csv")
    return render_community(request, community, "console/members.html",
                            {"section": "members", "today": today, **table})


@login_required
def member_detail(request, slug, member_id: int):
    """One member: identities and names over time, groups, activity."""
    community = community_for_operator(request.user, slug)
    member = get_object_or_404(Member.objects.select_related("channel", "merged_into"), community=community,
                               pk=member_id)
    if member.merged_into_id:
        return redirect("console:member", slug=community.slug, member_id=member.merged_into_id)
    today = community_today(community)
    return render_community(request, community, "console/member.html", {
        "section": "members",
        "member": member,
        "today": today,
        "identities": selectors.member_identities(member),
        "memberships": selectors.member_memberships(member),
        "activity": selectors.member_activity(member, today=today),
        "events": selectors.member_recent_events(member),
        "panels": panels_render(MEMBER_PANELS, request=request, community=community, today=today, member=member),
    })


@login_required
def community_groups(request, slug):
    """Every group with its size, Dunbar band and recent messages."""
    community = community_for_operator(request.user, slug)
    today = community_today(community)
    return render_community(request, community, "console/groups.html", {
        "section": "groups", "today": today, "groups": group_rows(community, today=today),
        "bands": [(key, DUNBAR_BANDS[key], DUNBAR_ADVICE[key]) for key in DUNBAR_BANDS],
    })


@login_required
def group_detail(request, slug, group_id: int):
    """One group: what it is, its size against its cap and band, and its members."""
    community = community_for_operator(request.user, slug)
    group = get_object_or_404(Group, community=community, pk=group_id)
    today = community_today(community)
    table = _member_table(request, community, today=today, group=group)
    if request.GET.get("format") == "csv":
        return _members_csv(request, community, table, today=today,
                            filename=f"{community.slug}-group-{group.pk}-members.csv")
    row = group_rows(community, today=today, groups=[group])[0]
    return render_community(request, community, "console/group.html", {
        "section": "groups", "today": today, "group": group, "row": row,
        "panels": panels_render(GROUP_PANELS, request=request, community=community, today=today, group=group),
        **table,
    })


@login_required
def section_placeholder(request, slug, section):
    """A section another area will fill (listed in the navigation already)."""
    community = community_for_operator(request.user, slug)
    if section not in PLACEHOLDER_TEXT:
        raise Http404("no such section")
    return render_community(request, community, "console/placeholder.html", {
        "section": section, "text": PLACEHOLDER_TEXT[section],
    })


@login_required
def community_audit(request, slug):
    """The community's audit log (owners and admins)."""
    community = community_for_operator(request.user, slug, role="admin")
    return render_community(request, community, "console/audit.html", {
        "section": "audit", "entries": selectors.audit_entries(community),
    })

"""Moderation pages of the console (review queue, cases, appeals, policy) and the public appeal page.

Console pages get their community from
:func:`~qunyun.operators.selectors.community_for_operator` (moderator role at least; the
policy needs admin), read through :mod:`.selectors` and write through :mod:`.services`.
"""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qunyun.communities.models import Group
from qunyun.core.timeutil import zone
from qunyun.operators.selectors import community_for_operator
from qunyun.operators.services import audit_record

from . import forms, notices, selectors, services
from .models import Appeal, Case, GroupPolicy
from .policy import Action, PolicyOverride

QUEUE_SIZE = 50
CASES_PER_PAGE = 50


def _render(request, community, template: str, context: dict):
    with timezone.override(zone(community.time_zone)):
        return render(request, template, {"community": community, "section": "moderation",
                                          "counts": selectors.moderation_counts(community=community), **context})


def _next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _case_view(case: Case) -> Case:
    case.pieces = selectors.highlight(case.text, case.evidence)
    return case


@login_required
def queue(request, slug):
    """Open cases that need a moderator, oldest first; j/k move, c confirms, o overturns."""
    community = community_for_operator(request.user, slug, role="moderator")
    include_shadow = request.GET.get("shadow") == "1"
    qs = selectors.review_queue(community=community, include_shadow=include_shadow)
    total = qs.count()
    cases = [_case_view(c) for c in qs[:QUEUE_SIZE]]
    return _render(request, community, "moderation/queue.html", {
        "cases": cases, "total": total, "include_shadow": include_shadow, "tab": "queue"})


@login_required
def case_list(request, slug):
    from qunyun.console.paging import page_info

    community = community_for_operator(request.user, slug, role="moderator")
    which = request.GET.get("which", "all")
    if which not in selectors.CASE_FILTERS:
        which = "all"
    q = request.GET.get("q", "").strip()[:100]
    qs = selectors.case_list(community=community, which=which, q=q)
    page = page_info(request, qs.count())
    return _render(request, community, "moderation/cases.html", {
        "cases": list(qs[page.offset:page.offset + page.per_page]), "page": page, "which": which, "q": q,
        "filters": selectors.CASE_FILTERS, "tab": "cases"})


@login_required
def case_detail(request, slug, number: int):
    community = community_for_operator(request.user, slug, role="moderator")
    case = selectors.case_get(community=community, number=number)
    if case is None:
        raise Http404("no such case")
    penalty = getattr(case, "penalty", None)  # the reverse one-to-one raises when there is none
    return _render(request, community, "moderation/case.html", {
        "case": _case_view(case), "penalty": penalty, "appeals": list(case.appeals.order_by("-created_at")),
        "others": selectors.case_history_of_member(community=community, member_id=case.member_id, exclude=case.pk),
        "appeal_url": notices.appeal_url(case) if not case.shadow else "", "tab": "cases"})


@login_required
@require_POST
def case_decide(request, slug, number: int):
    """Confirm (``confirm``, ``confirm_no_penalty``) or overturn (``overturn``) a case."""
    community = community_for_operator(request.user, slug, role="moderator")
    case = get_object_or_404(Case, community=community, number=number)
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "").strip()[:2000]
    back = _next(request, reverse("moderation:case", args=[slug, number]))
    try:
        if decision in ("confirm", "confirm_no_penalty"):
            services.case_confirm(case=case, by=request.user, penalize=decision == "confirm", note=note)
            messages.success(request, _("Case #%(n)s confirmed.") % {"n": number})
        elif decision == "overturn":
            services.case_overturn(case=case, by=request.user, note=note)
            messages.success(request, _("Case #%(n)s overturned; its penalty is undone.") % {"n": number})
        else:
            messages.error(request, _("Unknown decision."))
            return redirect(back)
    except services.ModerationError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    audit_record(user=request.user, community=community, action=f"moderation.case.{decision}",
                 detail={"case": number})
    return redirect(back)


@login_required
def appeal_list(request, slug):
    community = community_for_operator(request.user, slug, role="moderator")
    status = request.GET.get("status", "open")
    if status not in ("open", "accepted", "rejected", "all"):
        status = "open"
    appeals = list(selectors.appeal_list(community=community, status=None if status == "all" else status)[:200])
    for appeal in appeals:
        _case_view(appeal.case)
    return _render(request, community, "moderation/appeals.html", {
        "appeals": appeals, "status": status, "tab": "appeals"})


@login_required
@require_POST
def appeal_decide(request, slug, pk: int):
    community = community_for_operator(request.user, slug, role="moderator")
    appeal = get_object_or_404(Appeal, community=community, pk=pk)
    decision = request.POST.get("decision", "")
    if decision not in ("accept", "reject"):
        messages.error(request, _("Unknown decision."))
    else:
        try:
            services.appeal_decide(appeal=appeal, accept=decision == "accept", by=request.user,
                                   note=request.POST.get("note", "").strip()[:2000])
        except services.ModerationError as exc:
            messages.error(request, str(exc))
        else:
            audit_record(user=request.user, community=community, action=f"moderation.appeal.{decision}",
                         detail={"appeal": appeal.pk, "case": appeal.case.number})
            messages.success(request, _("Appeal decided."))
    return redirect(_next(request, reverse("moderation:appeals", args=[slug])))


@login_required
def policy_page(request, slug):
    """The community's policy: categories on/off, actions, thresholds, shadow mode, the ladder."""
    community = community_for_operator(request.user, slug, role="admin")
    stored = selectors.stored_policy(community_id=community.pk)
    errors: dict[str, str] = {}
    data = None
    if request.method == "POST":
        data = request.POST
        policy, errors = forms.policy_from_post(data)
        ladder = forms.ladder_from_post(data, errors)
        if policy is not None and ladder is not None and not errors:
            services.policy_save(
                community=community, policy=policy, ladder=ladder, enabled=bool(data.get("enabled")),
                allow_domains=forms.lines(data.get("allow_domains", "")),
                deny_domains=forms.lines(data.get("deny_domains", "")),
                lexicons=forms.lines(data.get("lexicons", "")), model_path=data.get("model_path", ""),
                by=request.user)
            audit_record(user=request.user, community=community, action="moderation.policy.save",
                         detail={"shadow": policy.shadow, "rules": len(policy.rules)})
            messages.success(request, _("Policy saved."))
            return redirect("moderation:policy", slug)
        messages.error(request, _("The policy was not saved: correct the marked fields."))
    overrides = {g: o for g, o in GroupPolicy.objects.filter(group__community=community).values_list(
        "group_id", "override")}
    groups = [(g, bool(overrides.get(g.pk))) for g in selectors.group_choices(community=community)]
    return _render(request, community, "moderation/policy.html", {
        "stored": stored,
        "rows": forms.attach_errors(forms.category_rows(stored.policy, language=get_language() or "en", posted=data),
                                    errors),
        "actions": [a.value for a in Action], "errors": errors, "posted": data, "groups": groups, "tab": "policy"})


@login_required
def group_policy_page(request, slug, group_id: int):
    """A group's override: inherit, or set an action, on/off, thresholds or shadow for this group."""
    community = community_for_operator(request.user, slug, role="admin")
    group = get_object_or_404(Group, community=community, pk=group_id)
    stored = selectors.stored_policy(community_id=community.pk)
    current = stored.overrides.get(group.chat_id) or PolicyOverride()
    errors: dict[str, str] = {}
    if request.method == "POST":
        override, errors = forms.override_from_post(request.POST)
        if override is not None:
            try:
                stored.policy.merged(override)
            except ValueError as exc:
                errors["all"] = str(exc)
        if not errors:
            services.group_override_save(group=group, override=override)
            audit_record(user=request.user, community=community, action="moderation.policy.group",
                         detail={"group": group.pk, "rules": len(override.rules), "shadow": override.shadow})
            messages.success(request, _("Override of %(group)s saved.") % {"group": group.name})
            return redirect("moderation:policy", slug)
        messages.error(request, _("The override was not saved: correct the marked fields."))
    return _render(request, community, "moderation/group_policy.html", {
        "group": group, "override": current, "errors": errors, "actions": [a.value for a in Action],
        "rows": forms.attach_errors(
            forms.category_rows(stored.policy, language=get_language() or "en", override=current), errors),
        "tab": "policy"})


@login_required
def examples_export(request, slug):
    """The moderator-labelled examples as JSONL for ``qunyun moderation train``."""
    community = community_for_operator(request.user, slug, role="admin")
    out = io.StringIO()
    n = services.training_examples_export(community=community, out=out)
    audit_record(user=request.user, community=community, action="moderation.examples.export", detail={"rows": n})
    response = HttpResponse(out.getvalue(), content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{community.slug}-moderation-examples.jsonl"'
    return response


def appeal_page(request, token: str):
    """The public appeal page of a case (signed link, no login): the member writes why."""
    case_id = notices.appeal_case_id(token)
    case = Case.objects.select_related("community").filter(pk=case_id).first() if case_id else None
    if case is None:
        return render(request, "moderation/appeal.html", {"invalid": True}, status=404)
    community = case.community
    context = {"case": case, "community": community, "appeals": list(case.appeals.order_by("created_at"))}
    if request.method == "POST":
        try:
            services.appeal_submit(case=case, text=request.POST.get("text", ""), via=Appeal.Via.LINK)
        except services.ModerationError as exc:
            context.update(error=str(exc), text=request.POST.get("text", ""))
            return render(request, "moderation/appeal.html", context, status=400)
        return redirect(request.path + "?sent=1")
    context["sent"] = request.GET.get("sent") == "1"
    with timezone.override(zone(community.time_zone)):
        return render(request, "moderation/appeal.html", context)

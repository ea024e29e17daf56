"""Public pages of onboarding: the channel link (活码 redirect) and the rules page."""

from __future__ import annotations

import logging
import re

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from qunyun.bus.registry import adapter_get
from qunyun.communities.models import Channel, Community

from .services import channel_route_pick, join_intent_record

log = logging.getLogger(__name__)

#: Platforms whose rooms have no per-channel invite links: the visitor says who they are instead.
ASK_ACCOUNT = {"matrix": re.compile(r"^@[^:\s]+:[^\s]+$")}


def rules_page(request, slug: str):
    community = get_object_or_404(Community, slug=slug)
    return render(request, "onboarding/rules.html", {"community": community})


@csrf_exempt  # a public form with no session behind it: there is nothing to forge
def channel_join(request, slug: str, code: str):
    """A channel's one link: send the visitor to the first group of the channel that is not full."""
    community = get_object_or_404(Community, slug=slug)
    channel = get_object_or_404(Channel, community=community, code=code)
    route = channel_route_pick(channel=channel)
    if route is None:
        if channel.invite_link and not channel.routes.exists():
            return HttpResponseRedirect(channel.invite_link)
        return render(request, "onboarding/join.html", {"community": community, "channel": channel, "full": True},
                      status=503)
    group = route.group
    pattern = ASK_ACCOUNT.get(group.platform)
    if pattern is None:
        link = route.invite_link or channel.invite_link
        if not link:
            return HttpResponse("this channel has no invite link yet", status=503, content_type="text/plain")
        return HttpResponseRedirect(link)
    context = {"community": community, "channel": channel, "group": group}
    account = (request.POST.get("account") or "").strip() if request.method == "POST" else ""
    if request.method != "POST":
        return render(request, "onboarding/join.html", context)
    if not pattern.match(account):
        context["error"] = True
        return render(request, "onboarding/join.html", context, status=400)
    local_room = group.chat_id.partition(":")[2]
    join_intent_record(channel=channel, account_id=f"{group.platform}:{account}", group=group)
    adapter = adapter_get(group.platform)
    invite = getattr(adapter, "invite", None)
    if invite is not None:
        try:
            invite(group.chat_id, f"{group.platform}:{account}")
        except Exception as exc:  # the visitor can still join a public room by link
            log.warning("could not invite a visitor of channel %s into %s: %s", channel.code, group.chat_id, exc)
    return HttpResponseRedirect(f"https://matrix.to/#/{local_room}")

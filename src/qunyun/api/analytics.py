"""Analytics endpoints: ``/api/communities/{slug}/…`` — the figures of docs/metrics.md.

Every answer has ``scope`` (community, time zone, from, to, filters) and ``definitions``
(figure → link to its definition). Filters: ``from`` / ``to`` (local days, both included;
default the 30 days ending on the last day with activity), ``group`` (repeatable: name, chat id
or id), ``channel`` (code).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from qunyun.analytics.cohorts import lifecycle_get, retention_get
from qunyun.analytics.config import layer_thresholds_set
from qunyun.analytics.definitions import DEFINITIONS, definition_url
from qunyun.analytics.funnel import funnel_get
from qunyun.analytics.health import health_get
from qunyun.analytics.heatmap import heatmap_get
from qunyun.analytics.layers import LAYERS, layer_members, layers_get
from qunyun.analytics.leaders import leaders_get
from qunyun.analytics.member import member_profile_get
from qunyun.analytics.overview import daily_series, growth_get, overview_get
from qunyun.analytics.report import goals_get, report_build
from qunyun.analytics.scope import scope_build
from qunyun.analytics.talk import talk_get
from qunyun.communities.models import Member
from qunyun.operators.selectors import communities_for_operator, community_for_operator

router = Router(tags=["analytics"])


class Filters(Schema):
    start: date | None = Field(None, alias="from", description="first local day (YYYY-MM-DD)")
    end: date | None = Field(None, alias="to", description="last local day, included")
    group: list[str] = Field(default_factory=list, description="group name, chat id or id (repeatable)")
    channel: str | None = Field(None, description="acquisition channel code")


def _user(request):
    return request.auth if request.auth is not None else request.user


def _scope(request, slug: str, filters: Filters, *, role: str | None = None):
    community = community_for_operator(_user(request), slug, role=role)
    return scope_build(community=community, start=filters.start, end=filters.end, groups=filters.group,
                       channel=filters.channel)


def _answer(scope, keys: list[str], body: dict[str, Any]) -> dict[str, Any]:
    return {"scope": scope.describe(), "definitions": {k: definition_url(k) for k in keys}, **body}


@router.get("/metrics", summary="Every metric definition")
def metrics(request):
    """The definitions every figure links to (the long form is docs/metrics.md)."""
    return [{"key": d.key, "name": str(d.name), "definition": str(d.text), "url": definition_url(d.key)}
            for d in DEFINITIONS.values()]


@router.get("/communities", summary="Communities this operator may see")
def communities(request):
    return [{"slug": c.slug, "name": c.name, "time_zone": c.time_zone}
            for c in communities_for_operator(_user(request)).order_by("slug")]


@router.get("/communities/{slug}/overview", summary="Totals, DAU/WAU/MAU, stickiness, active days")
def overview(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    keys = ["messages", "authors", "active", "joins", "leaves", "net_growth", "new_members", "members_now",
            "messages_per_day", "dau", "stickiness", "active_days"]
    return _answer(scope, keys, overview_get(scope))


@router.get("/communities/{slug}/growth", summary="Joins, leaves, net, messages and active members per day/week/month")
def growth(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["joins", "leaves", "net_growth", "new_members", "messages", "active"],
                   growth_get(scope, daily_series(scope)))


@router.get("/communities/{slug}/heatmap", summary="Hour × weekday: messages and active members")
def heatmap(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["heatmap"], heatmap_get(scope))


@router.get("/communities/{slug}/retention", summary="Cohort retention (in period N and in N or later)")
def retention(request, slug: str, filters: Query[Filters], period: Literal["week", "month"] = "month",
              basis: Literal["activity", "message", "join"] = "activity"):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["cohort", "retention"], retention_get(scope, period=period, basis=basis))


@router.get("/communities/{slug}/lifecycle", summary="New, returning, resurrecting, dormant per period")
def lifecycle(request, slug: str, filters: Query[Filters], period: Literal["week", "month"] = "week"):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["lifecycle"], {"period": period, "periods": lifecycle_get(scope, period=period)})


@router.get("/communities/{slug}/funnel", summary="AARRR funnel by acquisition channel")
def funnel(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["aarrr"], funnel_get(scope))


@router.get("/communities/{slug}/layers", summary="Members per layer, with the thresholds in force")
def layers(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["layers"], layers_get(scope))


class Thresholds(Schema):
    window_days: int | None = None
    core_min_active_days: int | None = None
    core_min_messages: int | None = None
    core_min_replies: int | None = None
    active_min_active_days: int | None = None


@router.put("/communities/{slug}/layers/thresholds", summary="Change the layer thresholds (admin)")
def layers_thresholds(request, slug: str, body: Thresholds):
    community = community_for_operator(_user(request), slug, role="admin")
    values = {k: v for k, v in body.dict().items() if v is not None}
    thresholds = layer_thresholds_set(community=community, values=values)
    return {"thresholds": thresholds.__dict__, "definitions": {"layers": definition_url("layers")}}


@router.get("/communities/{slug}/layers/{layer}/members", summary="One layer's members, most messages first")
def layer_list(request, slug: str, layer: Literal["core", "active", "occasional", "lurker", "churned"],
               filters: Query[Filters], limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)):
    scope = _scope(request, slug, filters)
    assert layer in LAYERS
    return _answer(scope, ["layers"], layer_members(scope, layer, limit=limit, offset=offset))


@router.get("/communities/{slug}/opinion-leaders", summary="PageRank in the reply and mention graph, with evidence")
def opinion_leaders(request, slug: str, filters: Query[Filters], limit: int = Query(20, ge=1, le=200)):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["opinion_leaders"], {"leaders": leaders_get(scope, limit=limit)})


@router.get("/communities/{slug}/conversations", summary="Conversations, answers, questions and time to first answer")
def conversations(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["conversations", "answered_share", "questions"], talk_get(scope))


@router.get("/communities/{slug}/health", summary="Health alerts with the numbers that triggered them")
def health(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["dunbar", "silent_core", "noise_share", "dying"], health_get(scope))


@router.get("/communities/{slug}/goals", summary="Progress of each goal")
def goals(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return _answer(scope, ["goal_progress"], {"goals": goals_get(scope)})


@router.get("/communities/{slug}/members/{member_id}", summary="One member's activity, layer and replies")
def member(request, slug: str, member_id: int, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    found = get_object_or_404(Member, pk=member_id, community=scope.community)
    return _answer(scope, ["active", "layers", "lifecycle", "member_replies"], member_profile_get(scope, found))


@router.get("/communities/{slug}/report", summary="The whole report (same JSON as `qunyun report`)")
def report(request, slug: str, filters: Query[Filters]):
    scope = _scope(request, slug, filters)
    return report_build(scope)

"""Building the demo community in the database — through the bus, like any real group.

The history goes through :class:`~qunyun.bus.runtime.Runtime` in ``import`` mode. That is
deliberate: it is a backfill of ninety days that already happened, and in ``live`` mode the
handlers would act on the past — welcome hundreds of people who joined weeks ago, mute ad
accounts that were banned long since, queue thousands of stale decisions in the outbox. Import
mode stores the events and keeps the rollups, and runs no handler, exactly as for an imported
chat export. The last few minutes (:meth:`Simulator.live_tail`) then go through ``live`` mode
with the community in dry-run, so the outbox shows what the bot *would* have done (the rules
sent on ``/群规``, whatever moderation decides about the fresh ad) without sending anything.

The build is idempotent: the parameters are kept in ``community.settings["demo"]`` before the
first event is stored, so an interrupted build resumes with the same events (the store skips
those already in), and a finished one is reused.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction

from qunyun.communities.models import Community
from qunyun.core.events import Event
from qunyun.core.timeutil import UTC

from . import make_plan
from .plan import CommunityPlan
from .simulator import Simulator

DEMO_SLUG = "demo"
DEMO_USERNAME = "demo"
LOGIN_FILE = "demo-login.txt"
BUILD_FORMAT = 1  # bump when the simulator changes what it produces: a stale demo is then rebuilt


class DemoError(Exception):
    """Something that stops the demo build, with a message for the user."""


@dataclass
class DemoBuild:
    """What :func:`build_demo` did."""

    community: Community
    reused: bool
    seed: int
    events: int = 0
    live_decisions: int = 0
    seconds: float = 0.0


Progress = Callable[[str], None]


def build_demo(*, seed: int = 1, days: int = 90, end: datetime | None = None, scale: float = 1.0, reset: bool = False,
               progress: Progress | None = None, batch_size: int = 5000) -> DemoBuild:
    """Create (or reuse) the ``demo`` community and fill it with the simulated history.

    ``progress`` receives one line per stage. ``batch_size`` events are stored per transaction.
    """
    say = progress or (lambda line: None)
    started = time.perf_counter()
    existing = Community.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        info = (existing.settings or {}).get("demo")
        if not info and not reset:
            raise DemoError(f"a community with slug {DEMO_SLUG!r} exists and was not made by the demo; "
                            "run with --reset to replace it")
        if reset or info.get("format") != BUILD_FORMAT:
            say("removing the old demo community")
            demo_delete(existing)
            existing = None
        elif info.get("complete"):
            return DemoBuild(community=existing, reused=True, seed=int(info.get("seed", seed)))
        else:
            say("resuming an interrupted demo build")
            seed, days, scale = int(info["seed"]), int(info["days"]), float(info["scale"])
            end = datetime.fromisoformat(info["end"])
    plan = make_plan(seed=seed, days=days, end=end, scale=scale)
    community = existing or demo_create(plan=plan, seed=seed, scale=scale)
    say(f"community {community.name!r}: {len(plan.groups)} groups, {len(plan.channels)} channels, "
        f"{len(plan.goals)} goals")

    from qunyun.bus.runtime import Runtime

    t0 = time.perf_counter()
    simulator = Simulator(plan, seed=seed)
    say(f"simulating {plan.days} days up to {plan.end.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"({len(simulator.population.people)} accounts, seed {seed})")
    history = Runtime(community, mode="import", keep_raw=False)
    result = history.ingest(_reporting(simulator.events(), plan, say), batch_size=batch_size)
    say(f"stored {result.stored:,} events in {time.perf_counter() - t0:.1f} s "
        f"({', '.join(f'{n:,} {kind}' for kind, n in sorted(result.by_type.items(), key=lambda kv: -kv[1]))})")
    live = Runtime(community, mode="live", dry_run=True).ingest(simulator.live_tail())
    say(f"live tail: {live.stored} events through the handlers, {live.decisions} decision(s) recorded (dry run)")
    # The history was imported (no handlers ran), so run the moderation policy over it in
    # shadow mode, as an operator would after an import: the review queue then has real cases.
    from qunyun.moderation.history import history_scan

    shadow = history_scan(community=community, record=True, limit=0)
    say(f"moderation: the policy over the history in shadow mode left {shadow.recorded} case(s) to review")
    with transaction.atomic():
        community.refresh_from_db()
        community.settings["demo"]["complete"] = True
        community.save(update_fields=["settings"])
    return DemoBuild(community=community, reused=False, seed=seed, events=result.stored + live.stored,
                     live_decisions=live.decisions, seconds=time.perf_counter() - started)


def _reporting(events: Iterable[Event], plan: CommunityPlan, say: Progress) -> Iterator[Event]:
    """Pass ``events`` through, saying how far the history has got every month or so."""
    step = max(1, math.ceil(plan.days / 3))
    start = plan.start
    next_mark = step
    count = 0
    for event in events:
        count += 1
        if event.at >= start + timedelta(days=next_mark):
            say(f"  … day {next_mark}/{plan.days}: {count:,} events")
            next_mark += step
        yield event


@transaction.atomic
def demo_create(*, plan: CommunityPlan, seed: int, scale: float) -> Community:
    """The community, its groups, channels and goals from ``plan`` (no events yet)."""
    from qunyun.communities.services import channel_create, community_create, goal_create, group_create

    community = community_create(
        slug=plan.slug, name=plan.name, time_zone=plan.time_zone, theme=plan.theme,
        target_members=plan.target_members, core_value=plan.core_value, slogan=plan.slogan,
        rules_text=plan.rules_text, owner=plan.owner, dry_run=True,
    )
    community.settings = {"demo": {"format": BUILD_FORMAT, "seed": seed, "days": plan.days, "scale": scale,
                                   "end": plan.end.isoformat(), "complete": False}}
    community.save(update_fields=["settings"])
    for group in plan.groups:
        group_create(community=community, chat_id=group.chat_id, name=group.name, size_cap=group.size_cap)
    for channel in plan.channels:
        channel_create(community=community, code=channel.code, name=channel.name, invite_link=channel.invite_link,
                       description=channel.description)
    first_day = plan.start.astimezone(UTC).date()
    for goal in plan.goals:
        goal_create(community=community, title=goal.title, metric=goal.metric, target=goal.target,
                    due=plan.end_day + timedelta(days=goal.due_in_days), start=first_day)
    return community


def demo_delete(community: Community) -> None:
    """Remove a demo community with everything in it (``--reset``).

    Django's ``delete()`` loads every row it cascades to — some 300,000 objects for the demo,
    ten seconds and more. The same cascade is done here with one set-based statement per
    relation (children first, ``SET NULL`` as updates), following the models' own ``on_delete``;
    a relation it does not know how to follow (``PROTECT``, ``SET_DEFAULT``…) falls back to
    Django's way, so nothing is ever left half-deleted.
    """
    with transaction.atomic():
        queryset = Community.objects.filter(pk=community.pk)
        try:
            with transaction.atomic():
                _cascade_delete(queryset, depth=0)
        except _NotSimple:
            community.delete()


class _NotSimple(Exception):
    """A relation the set-based cascade does not handle."""


def _cascade_delete(queryset, *, depth: int) -> None:
    from django.db import models

    if depth > 6:
        raise _NotSimple("cascade too deep")
    relations = [f for f in queryset.model._meta.get_fields(include_hidden=True)
                 if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)]  # incl. related_name="+"
    for relation in relations:
        field = relation.field
        related = relation.related_model._base_manager.filter(**{f"{field.name}__in": queryset.values("pk")})
        if relation.on_delete is models.CASCADE:
            if relation.related_model is queryset.model:
                raise _NotSimple("self-referencing cascade")
            _cascade_delete(related, depth=depth + 1)
        elif relation.on_delete is models.SET_NULL:
            related.update(**{field.name: None})
        elif relation.on_delete is not models.DO_NOTHING:
            raise _NotSimple(f"{relation.related_model.__name__}.{field.name}")
    queryset._raw_delete(queryset.db)


def demo_login(*, home: Path | None = None) -> tuple[str, str]:
    """The demo operator's username and password, created on first use and kept in the data directory.

    The password is generated once and stored in ``QUNYUN_HOME/demo-login.txt`` (readable by
    the user only), so every ``qunyun demo`` prints the same login. If the operator's password
    was changed in the meantime, it is set back to the stored one: the printed login must work.
    """
    from django.contrib.auth import get_user_model

    from qunyun.communities.services import operator_create

    path = Path(home or settings.QUNYUN_HOME) / LOGIN_FILE
    password = _read_password(path)
    if password is None:
        password = secrets.token_urlsafe(9)
        path.write_text(f"# qunyun demo console login (local demo only)\nusername: {DEMO_USERNAME}\n"
                        f"password: {password}\n", encoding="utf-8")
        try:
            path.chmod(0o600)
        except OSError:  # pragma: no cover - platforms without chmod
            pass
    user = get_user_model().objects.filter(username=DEMO_USERNAME).first()
    if user is None or not user.check_password(password) or not user.is_superuser or not user.is_active:
        user, _created = operator_create(username=DEMO_USERNAME, password=password, superuser=True)
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
    return DEMO_USERNAME, password


def _read_password(path: Path) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "password" and len(value.strip()) >= 8:
            return value.strip()
    return None

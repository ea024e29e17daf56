"""The onboarding settings of a community as plain data, cached briefly per process.

Handlers run for every event, so they must not query five tables each time: the settings are
loaded once and kept for :data:`CONFIG_TTL` seconds (edits from the console or the CLI take
effect within that time; edits in this process at once, see :func:`config_forget`).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from .rules import FaqRule, ScreeningRule, Welcome

CONFIG_TTL = 2.0


def public_url() -> str:
    """Where qunyun is reachable from members' browsers (for rules and /j/ links).

    ``QUNYUN_PUBLIC_URL``, default ``http://localhost:8000``.
    """
    return os.environ.get("QUNYUN_PUBLIC_URL", "http://localhost:8000").rstrip("/")


@dataclass(frozen=True)
class OnboardingConfig:
    welcomes: dict[tuple[str | None, str | None], Welcome] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    screenings: dict[str | None, ScreeningRule] = field(default_factory=dict)
    faqs: tuple[FaqRule, ...] = ()

    def screening_for(self, chat: str) -> ScreeningRule | None:
        return self.screenings.get(chat) or self.screenings.get(None)


_cache: dict[int, tuple[float, OnboardingConfig]] = {}
_lock = threading.Lock()


def config_forget(community_id: int | None = None) -> None:
    with _lock:
        if community_id is None:
            _cache.clear()
        else:
            _cache.pop(community_id, None)


def onboarding_config(community_id: int) -> OnboardingConfig:
    """The community's onboarding settings (cached for :data:`CONFIG_TTL` seconds)."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(community_id)
    if hit is not None and now - hit[0] < CONFIG_TTL:
        return hit[1]
    config = _load(community_id)
    with _lock:
        _cache[community_id] = (now, config)
    return config


def _load(community_id: int) -> OnboardingConfig:
    from qunyun.communities.models import Channel

    from .models import FaqEntry, Screening, WelcomeTemplate

    welcomes = {
        (code, chat): Welcome(text, with_rules)
        for code, chat, text, with_rules in WelcomeTemplate.objects.filter(community_id=community_id).values_list(
            "channel__code", "group__chat_id", "text", "with_rules")
    }
    screenings = {
        chat: ScreeningRule(question, tuple(answers or ()), buttons, timeout)
        for chat, question, answers, buttons, timeout in Screening.objects.filter(
            community_id=community_id, enabled=True).values_list(
            "group__chat_id", "question", "answers", "buttons", "timeout_seconds")
    }
    faqs = tuple(
        FaqRule.build(id=pk, chat=chat, pattern=pattern, is_regex=is_regex, answer=answer, cooldown_seconds=cooldown)
        for pk, chat, pattern, is_regex, answer, cooldown in FaqEntry.objects.filter(
            community_id=community_id, enabled=True).values_list(
            "pk", "group__chat_id", "pattern", "is_regex", "answer", "cooldown_seconds")
    )
    names = dict(Channel.objects.filter(community_id=community_id).values_list("code", "name"))
    return OnboardingConfig(welcomes=welcomes, channel_names=names, screenings=screenings, faqs=faqs)

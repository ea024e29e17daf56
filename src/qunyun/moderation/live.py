"""Per-process state of live moderation: the policy as detectors need it, behaviour windows.

Handlers run for every message (thousands a second), so nothing here queries the database per
message:

* the community's policy, group overrides, ladder and lexicons are loaded once and re-checked
  every :data:`POLICY_TTL` seconds with one cheap query (changes in this process apply at once,
  see :func:`forget`);
* the behaviour window (flood, duplicates, coordinated ads, raids, first message of a
  newcomer) lives in memory, one per community, and is rebuilt from the event log the first
  time the community is seen after a start;
* penalties decided here but not yet written by the outbox are remembered for
  :data:`PENDING_SECONDS`, so a member's second offence in the same batch climbs the ladder.

With several worker processes each keeps its own copy; events of one group go to one worker
(Redis streams are partitioned by group), so windows stay exact per group.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .detection.behaviour import Window
from .detection.classifier import Model, ModelError
from .detection.contacts import LinkPolicy
from .detection.lexicon import STARTER_DIR, Lexicon, LexiconError, starter_lexicon
from .detection.normalize import normalize
from .detection.offtopic import Theme
from .detection.verdict import Context
from .ladder import Ladder, PriorPenalty
from .policy import Policy, PolicyOverride

log = logging.getLogger(__name__)

POLICY_TTL = 5.0
"""Seconds a loaded policy is trusted before its version stamp is checked again."""

PENDING_SECONDS = 86400.0
"""How long, at most, a penalty decided in this process is remembered until the outbox has
recorded it (it is forgotten as soon as the database has it)."""

WINDOW_REBUILD_LIMIT = 5000
"""At most this many recent events are replayed into a fresh behaviour window."""


@dataclass
class Config:
    """A community's moderation settings, ready for the detectors."""

    enabled: bool
    policy: Policy
    ladder: Ladder
    overrides: dict[str, PolicyOverride]
    lexicon: Lexicon
    links: LinkPolicy
    model: Model | None
    theme: Theme | None
    exempt: frozenset[tuple[str, int]]  # (chat, member id) of group owners and admins
    stamp: Any = None
    contexts: dict[str, Context] = field(default_factory=dict)

    def policy_for(self, chat: str) -> Policy:
        return self.policy.merged(self.overrides.get(chat))

    def context_for(self, chat: str, window: Window | None) -> Context:
        """The detector context of a group (its merged policy), built once."""
        ctx = self.contexts.get(chat)
        if ctx is None:
            ctx = Context(policy=self.policy_for(chat), lexicon=self.lexicon, links=self.links, window=window,
                          theme=self.theme, model=self.model)
            self.contexts[chat] = ctx
        elif ctx.window is not window:
            ctx.window = window
        return ctx


@dataclass
class CommunityState:
    config: Config | None = None
    checked_at: float = 0.0
    window: Window = field(default_factory=Window)
    window_ready: bool = False
    pending: dict[int, list[tuple[float, str, PriorPenalty, bool]]] = field(default_factory=dict)
    raid_until: dict[str, datetime] = field(default_factory=dict)
    flood_until: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_states: dict[int, CommunityState] = {}
_states_lock = threading.Lock()


def state_of(community_id: int) -> CommunityState:
    state = _states.get(community_id)
    if state is None:
        with _states_lock:
            state = _states.setdefault(community_id, CommunityState())
    return state


def forget(community_id: int | None = None) -> None:
    """Drop cached state (after a policy change in this process; ``None``: everything)."""
    with _states_lock:
        if community_id is None:
            _states.clear()
        else:
            state = _states.get(community_id)
            if state is not None:
                state.config = None


def config_for(community_id: int, *, theme_text: str = "") -> Config:
    """The community's config, reloaded when its stamp changed (checked every POLICY_TTL s)."""
    state = _states.get(community_id) or state_of(community_id)
    now = time.monotonic()
    config = state.config
    if config is not None and now - state.checked_at < POLICY_TTL:
        return config
    from .selectors import policy_stamp

    stamp = policy_stamp(community_id=community_id)
    if config is None or config.stamp != stamp:
        config = load_config(community_id, theme_text=theme_text, stamp=stamp)
        state.config = config
    state.checked_at = now
    return config


_lexicons: dict[tuple[str, ...], Lexicon] = {}
_models: dict[str, tuple[float, Model | None]] = {}


def _lexicon(paths: tuple[str, ...]) -> Lexicon:
    if not paths:
        return starter_lexicon()
    lex = _lexicons.get(paths)
    if lex is None:
        try:
            lex = Lexicon.load([STARTER_DIR, *paths])
        except (LexiconError, OSError) as exc:  # a broken file must not stop moderation
            log.warning("community lexicon not loaded, using the starter lists: %s", exc)
            lex = starter_lexicon()
        _lexicons[paths] = lex
    return lex


def _model(path: str) -> Model | None:
    if not path:
        return None
    try:
        import os

        mtime = os.path.getmtime(path)
    except OSError:
        log.warning("moderation model %s is missing; running without it", path)
        return None
    cached = _models.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        model = Model.load(path)
    except ModelError as exc:
        log.warning("moderation model not used: %s", exc)
        model = None
    _models[path] = (mtime, model)
    return model


def load_config(community_id: int, *, theme_text: str = "", stamp: Any = None) -> Config:
    """Read the stored policy of a community into a :class:`Config` (one or two queries)."""
    from .selectors import exempt_members, stored_policy

    stored = stored_policy(community_id=community_id)
    policy = stored.policy
    theme = None
    if theme_text.strip() and policy.rule_for("off_topic").enabled:
        theme = Theme.from_texts([theme_text])
    return Config(
        enabled=stored.enabled, policy=policy, ladder=stored.ladder, overrides=stored.overrides,
        lexicon=_lexicon(tuple(stored.lexicons)),
        links=LinkPolicy(allow=frozenset(stored.allow_domains), deny=frozenset(stored.deny_domains)),
        model=_model(stored.model_path), theme=theme, exempt=exempt_members(community_id=community_id),
        stamp=stamp,
    )


# ----------------------------------------------------------------- behaviour window


def window_for(community_id: int, *, before: datetime) -> Window:
    """The community's behaviour window, rebuilt from the event log on first use."""
    state = state_of(community_id)
    if state.window_ready:
        return state.window
    with state.lock:
        if not state.window_ready:
            window = Window()
            replay_into(window, community_id=community_id, before=before)
            state.window = window
            state.window_ready = True
    return state.window


def replay_into(window: Window, *, community_id: int, before: datetime) -> int:
    """Feed the recent log (joins of the newcomer horizon, recent messages) into ``window``."""
    from .selectors import recent_activity

    cfg = window.config
    horizon = max(cfg.duplicate_seconds, cfg.flood_member_seconds, cfg.flood_group_seconds, cfg.raid_seconds)
    n = 0
    for kind, chat, member_id, at, text, mentions in recent_activity(
            community_id=community_id, before=before, messages_since=before - timedelta(seconds=horizon),
            joins_since=before - timedelta(seconds=cfg.new_member_seconds), limit=WINDOW_REBUILD_LIMIT):
        if kind == "join":
            window.observe_join(group=chat, member=member_key(member_id), at=at)
        else:
            window.observe_message(group=chat, member=member_key(member_id), at=at, text=text,
                                   compact=normalize(text[:20000]).compact, mentions=mentions)
        n += 1
    return n


def member_key(member_id: int | None) -> str:
    """How members are named in behaviour windows: by member (all their accounts are one)."""
    return f"m{member_id}" if member_id is not None else ""


# ----------------------------------------------------------------- one verdict per message

#: Verdicts the moderation handler reached, for the guard on the same message to reuse
#: (running the detectors is most of a message's cost; the behaviour window must see each
#: message once). Keyed by (community, event key); the guard takes its entry out.
_shared: dict[tuple[int, str], Any] = {}
SHARED_LIMIT = 4096


def share_verdict(community_id: int, event_key: str, verdict: Any) -> None:
    """Offer a message's verdict to the handlers after this one (see :func:`shared_verdict`)."""
    if len(_shared) >= SHARED_LIMIT:  # an entry nobody took (the guard failed or was switched off)
        _shared.clear()
    _shared[(community_id, event_key)] = verdict


def shared_verdict(community_id: int, event_key: str) -> Any:
    """The verdict the moderation handler reached on this message, or None (taken once)."""
    return _shared.pop((community_id, event_key), None)


# ----------------------------------------------------------------- penalties not yet recorded


def remember_penalty(community_id: int, member_id: int, event_key: str, prior: PriorPenalty, *, shadow: bool) -> None:
    state = state_of(community_id)
    with state.lock:
        state.pending.setdefault(member_id, []).append((time.monotonic(), event_key, prior, shadow))


def pending_penalties(community_id: int, member_id: int, *, shadow: bool,
                      recorded: set[str] = frozenset()) -> list[tuple[str, PriorPenalty]]:
    """Penalties decided in this process and not yet in the database (``(event key, penalty)``).

    Entries whose event key is in ``recorded`` (the database has them, perhaps overturned since)
    are dropped for good.
    """
    state = state_of(community_id)
    entries = state.pending.get(member_id)
    if not entries:
        return []
    horizon = time.monotonic() - PENDING_SECONDS
    with state.lock:
        entries[:] = [e for e in entries if e[0] >= horizon and e[1] not in recorded]
        if not entries:
            state.pending.pop(member_id, None)
        return [(key, prior) for _, key, prior, is_shadow in entries if is_shadow == shadow]


def batch_context(community, *, chat: str | None = None, with_window: bool = False) -> Context:
    """A detector context with a community's stored policy (a group's, with ``chat``), lexicons,
    links and model — for batch tools such as ``qunyun moderation scan --community``."""
    config = load_config(community.pk, theme_text=community.theme)
    return Context(policy=config.policy_for(chat) if chat else config.policy, lexicon=config.lexicon,
                   links=config.links, window=Window() if with_window else None, theme=config.theme,
                   model=config.model)

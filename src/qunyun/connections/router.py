"""One adapter per platform for the outbox, dispatching to the right community's connector.

The outbox looks adapters up by platform (the prefix of the chat id). Two communities may each
have a Telegram bot, so the registered adapter for ``telegram`` is a :class:`PlatformRouter`
that finds the community owning the chat and hands the decision to that connection.
"""

from __future__ import annotations

import threading
from typing import Any

from qunyun.bus.adapters import PermanentFailure, TemporaryFailure
from qunyun.communities.models import Group
from qunyun.core.decisions import Decision

from .live import Connector


class PlatformRouter:
    """The outbox's adapter for one platform."""

    def __init__(self, platform: str, capabilities: frozenset[str]) -> None:
        self.platform = platform
        self.capabilities = capabilities
        self._by_community: dict[int, Connector] = {}
        self._chat_communities: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def add(self, connector: Connector) -> None:
        with self._lock:
            self._by_community[connector.info.community_id] = connector

    def remove(self, community_id: int) -> None:
        with self._lock:
            self._by_community.pop(community_id, None)

    def connector_for_chat(self, chat: str) -> Connector:
        communities = self._chat_communities.get(chat)
        if communities is None:
            communities = list(Group.objects.filter(chat_id=chat).values_list("community_id", flat=True))
            if communities:
                self._chat_communities[chat] = communities
        with self._lock:
            for community_id in communities:
                connector = self._by_community.get(community_id)
                if connector is not None:
                    return connector
        if not communities:
            raise PermanentFailure(f"{chat} is not a group of any community")
        raise TemporaryFailure(f"the {self.platform} connection of the community owning {chat} is not running")

    def execute(self, decision: Decision, *, idempotency_key: str) -> dict[str, Any] | None:
        return self.connector_for_chat(decision.chat).execute(decision, idempotency_key=idempotency_key)

    def invite(self, chat: str, account: str) -> None:
        """Invite ``account`` into ``chat`` where the platform has invitations (Matrix)."""
        connector = self.connector_for_chat(chat)
        invite = getattr(connector, "invite", None)
        if invite is None:
            raise PermanentFailure(f"{self.platform} has no invitations")
        invite(chat, account)

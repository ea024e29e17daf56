"""Handlers of the communities area (pure: event + context in, decisions out)."""

from __future__ import annotations

from collections.abc import Iterator

from qunyun.core.decisions import SendMessage
from qunyun.core.events import MessagePosted

#: Commands that ask for the group rules (Chinese and English, with or without a slash).
RULES_COMMANDS = frozenset({"/rules", "!rules", "rules", "/群规", "群规", "#群规"})


def rules_on_request(event, ctx) -> Iterator[SendMessage]:
    """Answer a request for the rules with the community's rules text, as a reply."""
    if not isinstance(event, MessagePosted) or not ctx.community.rules_text:
        return
    command = event.text.strip().lower()
    if command in RULES_COMMANDS:
        yield SendMessage(
            chat=event.chat,
            text=ctx.community.rules_text,
            reply_to=event.message_id,
            reason="communities.rules_on_request",
        )

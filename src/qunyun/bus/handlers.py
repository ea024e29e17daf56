"""The routing table: which handlers see which event type.

Read this file to know everything that reacts to an event. A handler is a plain function
``handler(event, ctx) -> iterable of Decision | Later``; it must not write to the database or
call a platform (decisions do that, through the outbox), so running it twice on the same event
yields the same decisions, which the outbox then stores once.

Handlers run only for events that are new to the store and only in ``live`` mode: imported
history is analysed, not acted upon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from qunyun.communities.handlers import rules_on_request
from qunyun.core import events as ev
from qunyun.core.decisions import Decision, Later
from qunyun.guard import guard_message
from qunyun.moderation.handlers import moderate_edit, moderate_join, moderate_message
from qunyun.onboarding.handlers import faq_answer, screening_answer, welcome_newcomer

from .context import HandlerContext

Handler = Callable[[ev.Event, HandlerContext], Iterable[Decision | Later]]

EVENT_HANDLERS: dict[type[ev.Event], tuple[Handler, ...]] = {
    ev.MessagePosted: (moderate_message, guard_message, rules_on_request, screening_answer, faq_answer),
    ev.MessageEdited: (moderate_edit,),
    ev.MessageDeleted: (),
    ev.ReactionAdded: (),
    ev.ReactionRemoved: (),
    ev.MemberJoined: (moderate_join, welcome_newcomer),
    ev.MemberLeft: (screening_answer,),
    ev.MemberRenamed: (),
    ev.PaymentMade: (),
}

"""A small hand-made history of the "tea" community (Asia/Shanghai, UTC+8) where every figure is known.

Local times (Shanghai). The range under test is 2026-03-01 – 2026-03-10 (Mar 2 is a Monday).

* Eve (u5) posted once on Feb 10 — active only before the range.
* Ann (u1) joined and posted on Feb 20, comes back with a reaction on Mar 9 (resurrecting).
* Bob (u2) joins Mar 2 through the "poster" channel, posts at 23:59 (Mar 2) and 00:01 (Mar 3):
  a local-day boundary inside one UTC day; pays on Mar 3; leaves Mar 5, rejoins Mar 9, posts Mar 10.
* Cat (u3) asks a question Mar 2 10:00, renames herself "Cathy" on Mar 4, mentions Bob on Mar 10.
* Dan (u4) only reacts (Mar 4): active, never an author; a lurker.
* Fay (u6) joins Mar 2 through "poster", invited by Bob, leaves Mar 3 without a word: churned.
* A bot (u9) posts; a system line is posted: neither counts.
* Mar 5–8 have no messages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from qunyun.core import events as ev
from tests.factories import CHAT, account, join, message

SHANGHAI = ZoneInfo("Asia/Shanghai")
POSTER_LINK = "https://t.me/+poster"


def local(month: int, day: int, hour: int, minute: int = 0, *, year: int = 2026, tz=SHANGHAI) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(timezone.utc)


def tea_history() -> list[ev.Event]:
    return [
        message("e1", 5, local(2, 10, 9), "old times", name="Eve"),
        join(1, 1, local(2, 20, 10), name="Ann"),
        message("a1", 1, local(2, 20, 10, 5), "hi all", name="Ann"),
        join(2, 2, local(3, 2, 9), link=POSTER_LINK, name="Bob"),
        message("c1", 3, local(3, 2, 10), "Anyone know a good oolong?", name="Cat"),
        ev.MemberJoined(chat=CHAT, event_id="3", at=local(3, 2, 12), member=account(6, "Fay"),
                        via=ev.JoinMethod.INVITED, invite_link=POSTER_LINK, inviter=account(2, "Bob")),
        message("b1", 2, local(3, 2, 23, 59), "Try tieguanyin", reply_to="c1", name="Bob"),
        message("b2", 2, local(3, 3, 0, 1), "or dancong", name="Bob"),
        message("c2", 3, local(3, 3, 8), "thanks", reply_to="b1", name="Cat"),
        message("x1", 9, local(3, 3, 8, 1), "bot says hi", name="TeaBot", bot=True),
        ev.MemberLeft(chat=CHAT, event_id="4", at=local(3, 3, 12), member=account(6, "Fay")),
        ev.PaymentMade(chat=CHAT, event_id="p1", at=local(3, 3, 15), member=account(2, "Bob"), amount="99.00"),
        ev.ReactionAdded(chat=CHAT, event_id="r1", at=local(3, 4, 12), message_id="b2", author=account(4, "Dan"),
                         emoji="👍"),
        message("c3", 3, local(3, 4, 12, 30), "new name who dis", mentions=["fake:u2"], name="Cathy"),
        ev.MemberLeft(chat=CHAT, event_id="5", at=local(3, 5, 9), member=account(2, "Bob")),
        join(6, 2, local(3, 9, 9), name="Bob"),
        ev.ReactionAdded(chat=CHAT, event_id="r2", at=local(3, 9, 12), message_id="b2", author=account(1, "Ann"),
                         emoji="🍵"),
        message("b3", 2, local(3, 10, 20), "back!", name="Bob"),
        message("s1", 3, local(3, 10, 20, 5), "Bob joined", kind=ev.MessageKind.SYSTEM, name="Cathy"),
        message("c4", 3, local(3, 10, 20, 10), "welcome back", mentions=["fake:u2"], name="Cathy"),
    ]

"""The metric definitions every figure links to.

The long form is ``docs/metrics.md``; each entry here carries the same anchor, a short name and
a one-paragraph definition (translatable) for the console's Definitions page and the API. A test
checks that every key has its anchor in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Definition:
    key: str
    name: object  # lazy translatable text
    text: object


DEFINITIONS: dict[str, Definition] = {d.key: d for d in (
    Definition("time", _("Days, weeks and months"), _(
        "Calendar periods in the community's time zone. Weeks start on Monday and are named by their "
        "Monday; months are calendar months. Daylight-saving days have 23 or 25 hours.")),
    Definition("range", _("Range and as-of date"), _(
        "From and to are both included. Figures are what was known at the end of the as-of date (to): "
        "later events are ignored; earlier history is used to tell new from returning members.")),
    Definition("scope", _("Filters"), _(
        "A group filter counts only those groups; a channel filter only members whose acquisition "
        "channel is that channel.")),
    Definition("members", _("Members, bots and messages"), _(
        "Bots are not members and are left out everywhere. A message is a non-bot message that is not a "
        "system line; deleted messages still count as posted.")),
    Definition("active", _("Active"), _(
        "A member is active on a day if they posted a message or reacted that day.")),
    Definition("messages", _("Messages"), _("Messages posted in the range (no bots, no system lines).")),
    Definition("authors", _("Authors"), _("Distinct members with at least one message in the range.")),
    Definition("messages_per_day", _("Messages per day"), _(
        "Messages in the range divided by the days in the range, quiet days included.")),
    Definition("members_now", _("Members now"), _(
        "Members currently in at least one group of the scope, from the roster (joins, leaves) and from "
        "activity. Always the present state.")),
    Definition("joins", _("Joins"), _("Join events of members in the range; each join counts.")),
    Definition("leaves", _("Leaves"), _("Leave events of members in the range (left, removed or banned).")),
    Definition("net_growth", _("Net growth"), _("Joins minus leaves.")),
    Definition("new_members", _("New members"), _(
        "Members whose first join or first activity in the scope falls in the period.")),
    Definition("dau", _("DAU, WAU, MAU"), _(
        "Members active on the as-of date, in the 7 days and in the 30 days ending on it.")),
    Definition("stickiness", _("Stickiness (DAU/MAU)"), _(
        "Average DAU over the 30 days ending on the as-of date, divided by the MAU of those days.")),
    Definition("active_days", _("Active days"), _(
        "For members active in the last 7 (30) days: how many were active on 1, 2, … of those days.")),
    Definition("heatmap", _("Hour × weekday"), _(
        "Messages per local weekday and hour, and the average number of distinct members active in that "
        "hour on that weekday.")),
    Definition("cohort", _("Cohorts"), _(
        "Members grouped by the week or month of their first activity, first message or first join.")),
    Definition("retention", _("Retention"), _(
        "Cohort members active in period N (\"in period N\") or in N or any later period (\"in N or later\")."
    )),
    Definition("lifecycle", _("Lifecycle"), _(
        "Per period: new (first activity ever), returning (also active the period before), resurrecting "
        "(back after a gap), dormant (active the period before, not now).")),
    Definition("aarrr", _("Funnel by channel (AARRR)"), _(
        "Members who first joined in the range, by channel: joined, posted a first message, active in weeks "
        "2–4, paid, brought someone in.")),
    Definition("layers", _("Layers"), _(
        "Core, active, occasional, lurker and churned, from active days, messages and replies in the last "
        "window (30 days by default); thresholds are set per community.")),
    Definition("top_members", _("Top members"), _("Members by messages in the range, most first.")),
    Definition("opinion_leaders", _("Opinion leaders"), _(
        "PageRank in the graph of who replies to or mentions whom in the range — not message count.")),
    Definition("member_replies", _("Replies given and received"), _(
        "Replies to other members' messages, and other members' replies to this member's messages.")),
    Definition("conversations", _("Conversations"), _(
        "A conversation starts with a message after 30 minutes or more of silence in its group.")),
    Definition("answered_share", _("Share answered"), _(
        "Share of messages that got an answer: a reply from another member, or a mention of the author "
        "within 24 hours of their message.")),
    Definition("questions", _("Questions and time to first answer"), _(
        "A question contains ? or ？ or ends with 吗; time to first answer is the median time to the first "
        "answer.")),
    Definition("dunbar", _("Dunbar bands"), _(
        "Small up to 50 members, circle 51–150 (needs rules and activities), large above 150 (split it).")),
    Definition("silent_core", _("Silent core members"), _(
        "Members who were core two weeks ago and have posted nothing since.")),
    Definition("noise_share", _("Water, links and deletions"), _(
        "Shares of very short or sticker messages, of messages with links, and of deletions; an alert when "
        "a share is high and rising.")),
    Definition("dying", _("Dying group"), _(
        "Messages fell week after week for four weeks, to 60 percent or less of the first week.")),
    Definition("goal_progress", _("Goal progress"), _(
        "Current value against baseline and target, and the progress expected by now.")),
)}


def definition_url(key: str) -> str:
    """Where the definition of ``key`` is shown (the console's Definitions page, with its anchor)."""
    if key not in DEFINITIONS:
        raise KeyError(f"no metric definition {key!r}")
    try:
        return reverse("analytics:definitions") + f"#{key}"
    except NoReverseMatch:  # URLs not mounted (e.g. a bare script): the docs page carries the same anchors
        return f"docs/metrics.md#{key}"

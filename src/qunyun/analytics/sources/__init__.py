"""Reads of rollups and of the event log, as plain Python data, for one :class:`~qunyun.analytics.scope.Scope`.

Every function answers one question with one or two SQL statements, applying the scope's group
and channel filters the same way (:func:`scope_filter`); the metric modules do the arithmetic.
Rollups already leave bots and system lines out; event-log reads exclude them explicitly. Inside
:func:`memo` each question is asked once per distinct arguments.
"""

from .activity import (  # noqa: F401
    core_members, daily_active, day_totals, distinct_members, first_active_of, hour_cells,
    last_message_days, member_days_of, member_periods, member_window, messages_of, new_member_days,
    period_active_clipped, posted_since, top_members, window_day_counts,
)
from .base import _Days, _d, _query, complete_to_end, data_end, memo, scope_filter  # noqa: F401
from .cohorts import (  # noqa: F401
    cohort_members, cohort_periods, first_active_between, period_active, period_lifecycle,
    period_member_ids,
)
from .events import (  # noqa: F401
    activity_of, funnel_inputs, inviter_rows, join_rows, members_joined_before, message_rows,
    payment_rows, reply_edges,
)
from .people import (  # noqa: F401
    bot_ids, channel_members, channel_names, channels_for, channels_of, current_posters, first_days, group_firsts_of,
    group_names, members_ever, members_now, members_now_by_group, membership_counts, memberships, names,
)

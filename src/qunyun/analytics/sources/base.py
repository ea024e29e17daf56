"""The plumbing of the reads: one query helper, the scope's filters, the per-request memo."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta, timezone
from functools import wraps
from typing import Any, Iterable

from django.db import connection

from qunyun.core.collector import collector_paused

from ..scope import Scope


_memo: ContextVar[dict | None] = ContextVar("qunyun_analytics_memo", default=None)


@contextmanager
def memo() -> Iterator[None]:
    """Within this block, each read below is done once per distinct arguments (one page, one report).

    The figures of a dashboard ask the same questions several times (the DAU of the last 30 days
    is both a series and the stickiness); outside a block nothing is cached, so nothing goes stale.
    """
    if _memo.get() is not None:
        yield
        return
    # The cyclic garbage collector is paused meanwhile (as the event store does per batch): the
    # reads allocate hundreds of thousands of short-lived rows (collections were ~9 % of a 10M
    # dashboard).
    token = _memo.set({})
    try:
        with collector_paused():
            yield
    finally:
        _memo.reset(token)


def _memoized(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        cache = _memo.get()
        if cache is None:
            return fn(*args, **kwargs)
        key = (fn.__name__, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = fn(*args, **kwargs)
        return cache[key]
    return wrapper


class _Days:
    """Turns the database's date values (text on SQLite, dates on PostgreSQL) into dates, memoised."""

    def __init__(self) -> None:
        self._memo: dict[Any, date] = {}

    def __call__(self, value: Any) -> date | None:
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        found = self._memo.get(value)
        if found is None:
            found = date.fromisoformat(str(value)[:10])
            self._memo[value] = found
        return found


def _d(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def _query(statement: str, params: Iterable[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return cursor.fetchall()


def _id_set(statement: str, params: Iterable[Any]) -> frozenset[int]:
    """The ids a one-column ``statement`` gives, as a set.

    On SQLite they come back as one comma-separated string (``group_concat``) instead of a row
    each: a week's ~40,000 active members cost 9 ms instead of 15 ms at 10M (a Python tuple and a
    step of the cursor per row; docs/benchmarks.md, session 10). PostgreSQL sends rows.
    """
    if connection.vendor != "sqlite":
        return frozenset(row[0] for row in _query(statement, params))
    joined = _query(f"WITH x (i) AS ({statement}) SELECT group_concat(i) FROM x", params)[0][0]
    return frozenset(map(int, joined.split(","))) if joined else frozenset()


def _id_sets(column: str, ids: Iterable[int]) -> Iterator[tuple[str, list[Any]]]:
    """``(condition, params)`` restricting ``column`` to ``ids``, one per statement to run.

    PostgreSQL takes the whole list as one array parameter (``= ANY``): one statement, and the
    driver does not rewrite a query with hundreds of placeholders (it caches only short ones, and
    splitting a long one cost ~2 ms per statement). SQLite gets ``IN (…)`` lists of 500.
    """
    ids = list(ids)
    if not ids:
        return
    if connection.vendor == "postgresql":
        yield f"{column} = ANY(%s)", [ids]
        return
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        yield f"{column} IN ({', '.join(['%s'] * len(chunk))})", chunk


def scope_filter(scope: Scope, alias: str, *, member_column: str = "member_id") -> tuple[str, str, list[Any]]:
    """``(join, where, params)`` restricting rows of ``alias`` to the scope's groups and channel."""
    join, where, params = "", "", []
    if scope.channel_id is not None:
        join = f" JOIN qunyun_member fm ON fm.id = {alias}.{member_column} AND fm.channel_id = %s"
        params.append(scope.channel_id)
    if scope.group_ids:
        where = f" AND {alias}.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})"
    return join, where, params


#: Above this many days a group filter's member-day reads name the range, not each day.
_DAYS_LISTED_MAX = 3000


def md_days(scope: Scope, first: date, last: date, alias: str = "md") -> tuple[str, list[Any]]:
    """``(condition, params)``: the member-day rows ``alias`` of the scope's community, or of its
    groups (the group filter included), between two days.

    Member-days are keyed (day, group, member): with a group filter each day is named, so every
    day's rows of those groups are one short range of the key. A range of days cannot be
    followed by the group in a key, and the (community, day) index read the whole community's
    rows of the range (10M, the busiest group: a year's distinct members 362 ms against 8.6 ms,
    a month's 44 against 1.1 ms).
    """
    count = (last - first).days + 1
    groups = f" AND {alias}.group_id IN ({', '.join(['%s'] * len(scope.group_ids))})" if scope.group_ids else ""
    if not groups or not 0 < count <= _DAYS_LISTED_MAX:
        return (f"{alias}.community_id = %s AND {alias}.day BETWEEN %s AND %s{groups}",
                [scope.cid, _d(first), _d(last), *scope.group_ids])
    return (f"{alias}.day IN ({', '.join(['%s'] * count)}){groups}",
            [*(_d(first + timedelta(days=k)) for k in range(count)), *scope.group_ids])


def log_days(scope: Scope, first: date, last: date, alias: str = "e") -> tuple[str, list[Any]]:
    """``(condition, params)``: the log rows ``alias`` of the scope's community (or groups) between
    two local days.

    With a group filter the rows are found in the (group, time) index: a local day lies within the
    UTC days before and after it, whatever the zone, so those instants bound it and the day test
    keeps it exact. By the (community, day) index, a month of one group's joins or payments read
    the month of the whole community (10M: 0.2-0.3 s a read, against a few ms).
    """
    days = f"{alias}.day BETWEEN %s AND %s"
    if not scope.group_ids:
        return f"{alias}.community_id = %s AND {days}", [scope.cid, _d(first), _d(last)]
    adapt = connection.ops.adapt_datetimefield_value
    since = datetime.combine(first - timedelta(days=1), time(), tzinfo=timezone.utc)
    until = datetime.combine(last + timedelta(days=2), time(), tzinfo=timezone.utc)
    return (f"{alias}.group_id IN ({', '.join(['%s'] * len(scope.group_ids))}) AND {alias}.at >= %s "
            f"AND {alias}.at < %s AND {days}", [*scope.group_ids, adapt(since), adapt(until), _d(first), _d(last)])


def _params(scope: Scope, join_params: list[Any], *rest: Any) -> list[Any]:
    return [*join_params, *rest, *scope.group_ids]


@_memoized
def data_end(scope: Scope) -> date | None:
    """The last local day with activity, joins or leaves in the community (the rollups hold nothing later)."""
    return _Days()(_query("SELECT MAX(day) FROM qunyun_group_day WHERE community_id = %s", [scope.cid])[0][0])


def complete_to_end(scope: Scope) -> bool:
    """Whether nothing after the scope's end exists: then a period's rollup row that runs past the end
    holds only days up to it, and can be used as it is."""
    last = data_end(scope)
    return last is None or last <= scope.end


def _single_group(scope: Scope) -> bool:
    """Whether the community has at most one group (then member-day rows are already per member)."""
    cache = scope.community.__dict__.setdefault("_analytics_group_count", None)
    if cache is None:
        cache = _query("SELECT COUNT(*) FROM qunyun_group WHERE community_id = %s", [scope.cid])[0][0]
        scope.community.__dict__["_analytics_group_count"] = cache
    return cache <= 1


def _as_datetime(value: Any) -> datetime:
    from qunyun.core.timeutil import UTC

    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

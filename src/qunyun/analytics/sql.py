"""The few SQL expressions that SQLite and PostgreSQL spell differently.

Everything else in analytics is plain SQL both engines run unchanged. Each helper returns a
fragment for the connection's vendor; arguments are column expressions, never user input.
"""

from __future__ import annotations

from datetime import datetime, timezone

from django.db import connection

from .periods import OffsetSpan


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch_seconds(column: str) -> str:
    """Whole seconds since 1970 of a timestamp column (truncated, never rounded up)."""
    if is_postgres():
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def int_sum(expression: str) -> str:
    """``SUM(expression)`` as an integer on both engines.

    PostgreSQL sums integers into a bigint, and a bigint into a numeric: a sum of sums (a member's
    window from their per-day or per-week sums) would add arbitrary-precision numbers and hand
    Python ``Decimal`` values. A member's counts over a window fit an integer by far.
    """
    return f"CAST(SUM({expression}) AS INTEGER)" if is_postgres() else f"SUM({expression})"


def int_count() -> str:
    """``COUNT(*)`` as an integer (see :func:`int_sum`: an integer sums into a bigint, not a numeric)."""
    return "CAST(COUNT(*) AS INTEGER)" if is_postgres() else "COUNT(*)"


def week_of(column: str) -> str:
    """The Monday of the week of a date column."""
    if is_postgres():
        return f"CAST(date_trunc('week', {column}) AS date)"
    return f"date({column}, '-' || ((CAST(strftime('%%w', {column}) AS INTEGER) + 6) %% 7) || ' days')"


def plus_days(column: str, n: int) -> str:
    """A date column plus ``n`` days."""
    if is_postgres():
        return f"({column} + {int(n)})"
    return f"date({column}, '{int(n):+d} days')"


def month_of(column: str) -> str:
    """The first day of the month of a date column."""
    if is_postgres():
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"strftime('%%Y-%%m-01', {column})"


def json_length(column: str, path: str | None = None) -> str:
    """Length of a JSON array column (or of the array at key ``path``), 0 when absent."""
    if is_postgres():
        target = f"{column}->'{path}'" if path else column
        return f"COALESCE(jsonb_array_length({target}), 0)"
    if path:
        return f"COALESCE(json_array_length({column}, '$.{path}'), 0)"
    return f"COALESCE(json_array_length({column}), 0)"


def char_length(expression: str) -> str:
    """Length in characters (code points) of a text expression."""
    return f"char_length({expression})" if is_postgres() else f"length({expression})"


def trim_chars(expression: str, chars_param: str = "%s") -> str:
    """``expression`` with the characters of the parameter removed at both ends."""
    return f"btrim({expression}, {chars_param})" if is_postgres() else f"trim({expression}, {chars_param})"


def local_hour(epoch: str, spans: list[OffsetSpan]) -> str:
    """The local wall-clock hour (0–23) of an epoch-seconds expression, given the zone's offsets."""
    if len(spans) == 1:
        offset = str(spans[0].offset)
    else:
        # Newest span first: recent data is the bulk, so most rows stop at the first test.
        branches = " ".join(f"WHEN {epoch} >= {s.starts} THEN {s.offset}" for s in reversed(spans[1:]))
        offset = f"CASE {branches} ELSE {spans[0].offset} END"
    return f"((({epoch}) + ({offset})) %% 86400) / 3600"


def contains_ascii_ci(expression: str, param: str = "%s") -> str:
    """``expression LIKE param`` ignoring the case of ASCII letters (SQLite's LIKE already does)."""
    return f"{expression} ILIKE {param}" if is_postgres() else f"{expression} LIKE {param}"


def local_hour_of(column: str, spans: list[OffsetSpan]) -> str:
    """The local wall-clock hour (0–23) of a UTC timestamp column, given the zone's offsets.

    PostgreSQL goes through epoch seconds. SQLite keeps timestamps as text
    (``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC); reading the hour and minute out of the text costs a
    fraction of parsing it with ``strftime`` at millions of rows, and the offsets' starts
    compare as text in the same form.
    """
    if is_postgres():
        return local_hour(epoch_seconds(column), spans)
    # Most zones are whole hours from UTC all year: then the UTC hour alone gives the local one
    # (a rebuild's pass over the log reads it for every event; the minutes cost ~0.5-0.9 s of
    # CPU per 5.6M events). Otherwise the time of day in seconds, to the second only for the
    # early local mean times that need it.
    unit = 3600 if all(s.offset % 3600 == 0 for s in spans) else 1
    if unit == 3600:
        of_day = f"CAST(substr({column}, 12, 2) AS INTEGER)"
    else:
        seconds = any(s.offset % 60 for s in spans)
        of_day = (f"CAST(substr({column}, 12, 2) AS INTEGER) * 3600 + CAST(substr({column}, 15, 2) AS INTEGER) * 60"
                  + (f" + CAST(substr({column}, 18, 2) AS INTEGER)" if seconds else ""))
    if len(spans) == 1:
        offset = str(spans[0].offset // unit)
    else:
        branches = " ".join(
            f"WHEN {column} >= '{datetime.fromtimestamp(s.starts, timezone.utc).strftime('%Y-%m-%d %H:%M:%S')}' "
            f"THEN {s.offset // unit}" for s in reversed(spans[1:]))
        offset = f"CASE {branches} ELSE {spans[0].offset // unit} END"
    # Offsets are within a day either way: adding a day keeps the remainder positive.
    if unit == 3600:
        return f"(({of_day} + {offset} + 24) %% 24)"
    return f"(({of_day} + {offset} + 86400) %% 86400) / 3600"

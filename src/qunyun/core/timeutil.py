"""Time helpers: everything is stored in UTC, days are counted in a community's zone."""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc


class InvalidTimeZone(ValueError):
    """A time-zone name that the tz database does not know."""


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The tz-database zone called ``name`` (cached), or :class:`InvalidTimeZone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTimeZone(f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')") from exc


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a time zone (localize it first)")
    return moment.astimezone(UTC)


def localize(naive: datetime, tz_name: str) -> datetime:
    """Interpret a naive wall-clock time in ``tz_name`` and return it in UTC.

    Ambiguous times in a DST fold take the first occurrence (``fold=0``), which is what
    chat exports written by local clocks mean in the vast majority of cases.
    """
    if naive.tzinfo is not None:
        return ensure_utc(naive)
    return naive.replace(tzinfo=zone(tz_name)).astimezone(UTC)


def from_unix(seconds: float) -> datetime:
    """A UTC datetime from a Unix timestamp in seconds."""
    return datetime.fromtimestamp(float(seconds), tz=UTC)


def local_day(moment: datetime, tz_name: str) -> date:
    """The calendar day ``moment`` falls on in ``tz_name``."""
    return moment.astimezone(zone(tz_name)).date()


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)

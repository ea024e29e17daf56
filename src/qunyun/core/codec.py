"""Events and decisions to and from JSON-safe dicts.

This is the one place that knows how a normalized event looks as JSON. qunyun's own JSONL
format (import and export), the outbox and the generic HTTP event API all use it, so a value
written by one is read back identically by the others.

Shape: ``{"type": "message", "chat": ..., "event_id": ..., "at": "2026-01-02T03:04:05.123456Z",
...fields}``. Accounts are ``{"id", "name", "is_bot"}``; datetimes ISO 8601 in UTC with ``Z``;
tuples are lists; enum members their values. ``raw`` is included only when asked.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any, get_type_hints

from .decisions import DECISION_TYPES, Decision
from .events import EVENT_TYPES, Account, Event
from .timeutil import UTC


class DecodeError(ValueError):
    """A dict that does not describe a valid event or decision; the message names the field."""


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Account):
        out: dict[str, Any] = {"id": value.id}
        if value.name is not None:
            out["name"] = value.name
        if value.is_bot:
            out["is_bot"] = True
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_encode_value(v) for v in value]
    return value


def _fields(obj: Any) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(obj) if f.name != "raw"]


def event_to_dict(event: Event, *, with_raw: bool = False) -> dict[str, Any]:
    """A JSON-safe dict for ``event``; fields at their defaults are left out."""
    out: dict[str, Any] = {"type": event.type}
    for f in _fields(event):
        value = getattr(event, f.name)
        if f.default is not dataclasses.MISSING and value == f.default and f.name != "source_tz":
            continue
        if value is None:
            continue
        out[f.name] = _encode_value(value)
    if with_raw and event.raw is not None:
        out["raw"] = event.raw
    return out


def decision_to_dict(decision: Decision) -> dict[str, Any]:
    """A JSON-safe dict for ``decision``."""
    out: dict[str, Any] = {"kind": decision.kind}
    for f in _fields(decision):
        out[f.name] = _encode_value(getattr(decision, f.name))
    return out


def parse_datetime(value: Any, field_name: str = "at") -> datetime:
    """An aware UTC datetime from ISO 8601 text (``Z`` or an offset); naive text is refused."""
    if not isinstance(value, str):
        raise DecodeError(f"{field_name}: expected an ISO 8601 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DecodeError(f"{field_name}: {value!r} is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise DecodeError(f"{field_name}: {value!r} has no time zone (add 'Z' or an offset)")
    return moment.astimezone(UTC)


def _decode_account(value: Any, field_name: str) -> Account:
    if isinstance(value, str):
        return Account(id=value)
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise DecodeError(f"{field_name}: expected an account object with an 'id' string")
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        raise DecodeError(f"{field_name}.name: expected a string")
    return Account(id=value["id"], name=name, is_bot=bool(value.get("is_bot", False)))


def _decode_field(cls: type, name: str, hint: Any, value: Any) -> Any:
    text = str(hint)
    if value is None:
        if "None" in text:
            return None
        raise DecodeError(f"{name}: required")
    if "datetime" in text:
        return parse_datetime(value, name)
    if "Account" in text:
        return _decode_account(value, name)
    if "tuple" in text:
        if not isinstance(value, list | tuple):
            raise DecodeError(f"{name}: expected a list")
        return tuple(str(v) for v in value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError as exc:
            allowed = ", ".join(m.value for m in hint)
            raise DecodeError(f"{name}: {value!r} is not one of {allowed}") from exc
    if text.startswith("dict") or "dict[" in text:
        if not isinstance(value, dict):
            raise DecodeError(f"{name}: expected an object")
        return value
    if hint is float or text == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DecodeError(f"{name}: expected a number")
        return float(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise DecodeError(f"{name}: expected true or false")
        return value
    if hint is str or text in {"str", "str | None"}:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise DecodeError(f"{name}: expected a string")
        return value
    return value


@lru_cache(maxsize=None)
def _schema(cls: type) -> tuple[tuple[dataclasses.Field, Any], ...]:
    """The fields of a dataclass with their resolved type hints (resolving is slow: cache it)."""
    hints = get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(cls))


def _build(cls: type, data: dict[str, Any], skip: set[str]) -> Any:
    kwargs: dict[str, Any] = {}
    for f, hint in _schema(cls):
        if f.name in skip:
            continue
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(f"{f.name}: required")
            continue
        kwargs[f.name] = _decode_field(cls, f.name, hint, data[f.name])
    return cls(**kwargs)


def event_from_dict(data: Any) -> Event:
    """Rebuild an event from :func:`event_to_dict`'s shape; :class:`DecodeError` names the bad field."""
    if not isinstance(data, dict):
        raise DecodeError("expected a JSON object")
    cls = EVENT_TYPES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise DecodeError(f"type: {data.get('type')!r} is not one of {', '.join(EVENT_TYPES)}")
    event = _build(cls, data, {"raw"})
    raw = data.get("raw")
    if raw is not None:
        object.__setattr__(event, "raw", raw)
    return event


def decision_from_dict(data: Any) -> Decision:
    """Rebuild a decision from :func:`decision_to_dict`'s shape."""
    if not isinstance(data, dict):
        raise DecodeError("expected a JSON object")
    cls = DECISION_TYPES.get(data.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise DecodeError(f"kind: {data.get('kind')!r} is not a known decision")
    return _build(cls, data, set())

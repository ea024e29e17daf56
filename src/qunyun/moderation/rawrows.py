"""Model instances and values from rows that moderation reads with plain SQL.

Moderation reads a few things per penalized message with hand-written SQL (the ORM spent more
CPU building those queries than the database spent answering them). The values such a row
holds are the database's own: SQLite gives naive or text datetimes, integers for booleans and
text for JSON. Rather than converting each column by hand, :func:`model_from_row` applies the
converters Django itself would apply to that field on this connection, so a new field type or
database backend converts the same way the ORM does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from django.db import connection

_Converter = Callable[[Any, Any, Any], Any]
_CONVERTERS: dict[tuple[str, type, tuple[str, ...]], list[tuple[Any, list[_Converter]]]] = {}


def _converters(model, names: tuple[str, ...]) -> list[tuple[Any, list[_Converter]]]:
    """Per column of ``names`` (attnames of ``model``): the column expression and the converters
    Django applies to it when it reads that field on the default connection (cached)."""
    key = (connection.vendor, model, names)
    found = _CONVERTERS.get(key)
    if found is None:
        found = []
        table = model._meta.db_table
        for name in names:
            column = model._meta.get_field(name).get_col(table)
            found.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
        _CONVERTERS[key] = found
    return found


def in_model_order(model, names) -> tuple[str, ...]:
    """``names`` (attnames) in the order of the model's columns, which ``Model.from_db`` expects."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


def model_from_row(model, names: tuple[str, ...], values: Sequence[Any]):
    """An instance of ``model`` holding only ``names`` (in model order, see :func:`in_model_order`),
    from the raw ``values`` of a row, converted as the ORM converts them."""
    converted = []
    for (column, converters), value in zip(_converters(model, names), values):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def aware(value: Any) -> datetime | None:
    """A datetime read by a raw query, as an aware UTC datetime: SQLite gives naive UTC (or
    ISO text), PostgreSQL an aware value."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value

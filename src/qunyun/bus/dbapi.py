"""The raw DB-API cursor the store's hot path uses, and its placeholder conversion."""

from __future__ import annotations

from django.db import connection


def raw_cursor():
    """A DB-API cursor of Django's connection, bypassing the wrapper's per-query overhead.

    The statements on this path are written with ``%s`` placeholders; :func:`raw_sql` turns them
    into SQLite's ``?`` once, instead of Django doing it on every call.
    """
    connection.ensure_connection()
    return connection.connection.cursor()


_SQL_CACHE: dict[str, str] = {}


def raw_sql(statement: str) -> str:
    """``statement`` with the connection's placeholders (``?`` on SQLite, ``%s`` elsewhere)."""
    if connection.vendor != "sqlite":
        return statement
    converted = _SQL_CACHE.get(statement)
    if converted is None:
        converted = _SQL_CACHE[statement] = statement.replace("%s", "?")
    return converted

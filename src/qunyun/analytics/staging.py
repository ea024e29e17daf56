"""Staged application of the incremental rollups (SQLite): the main database's changes of one
application computed in a read transaction, kept in order as steps, and written later — at once
by this connection, or stored as plain data and written after a crash (see
:mod:`.incremental`'s docstring and docs/runtime.md, section 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import sql

if TYPE_CHECKING:
    from .incremental import NewEvents


class Staged:
    """The main database's changes of one application, computed and kept in order (SQLite only).

    Made in the read transaction (it looks up which staging tables this connection has); the
    rollup functions then fill the staging tables and add a step per change. A step has two
    forms: its SQL on this connection's staging tables (:meth:`write`, :meth:`parts`: cheap, valid
    until the next application refills them) and the same change as plain data, the staged rows
    carried in a JSON parameter (:meth:`stored`): it needs nothing of this connection, so it can
    be stored in the main database and written later, after a crash, by any connection.
    """

    PREFIX = "qunyun_stage_"

    def __init__(self, cursor) -> None:
        if sql.is_postgres():  # its temporary rows go with each commit; no database-wide write lock to spare
            raise ValueError("staged rollups are for SQLite")
        cursor.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE %s",
                       [self.PREFIX + "%"])
        self.tables = {name for (name,) in cursor.fetchall()}
        #: ``(table, (sql, params) here, (sql, params) stored)``
        self.steps: list[tuple[str, tuple[str, list[Any]], tuple[str, list[Any]]]] = []

    def table_for(self, cursor, table: str, columns: str) -> str:
        """This connection's empty staging table for ``table``'s ``columns``."""
        name = self.PREFIX + table.removeprefix("qunyun_")
        if name not in self.tables:
            cursor.execute(f"CREATE TEMP TABLE {name} ({columns})")  # untyped: values kept as computed
            self.tables.add(name)
        else:
            cursor.execute(f"DELETE FROM {name}")
        return name

    def add(self, table: str, here: tuple[str, list[Any]],
            stored: Callable[[Any], tuple[str, list[Any]]] | None = None) -> None:
        """A step changing ``table``: its SQL on this connection, and a function of a cursor that
        makes it plain data (none: ``here`` is plain data already). Made only for the parts that
        are stored, while this connection's staging tables still hold the application's rows."""
        self.steps.append((table, here, stored or (lambda _cursor: here)))

    @staticmethod
    def rows(cursor, source: str, columns: str, where: str = "TRUE") -> str:
        """``source``'s rows as one JSON array of arrays (SQLite's values keep their types through it)."""
        cursor.execute(f"SELECT json_group_array(json_array({columns})) FROM {source} WHERE {where}")
        return cursor.fetchone()[0]

    def write(self, cursor) -> None:
        """Apply the kept changes (in the caller's write transaction, on this connection)."""
        for _table, (statement, params), _stored in self.steps:
            cursor.execute(statement, params)

    def parts(self, cursor=None, *, stored_from: int | None = None) -> list[list[tuple[str, list[Any]]]]:
        """The steps as ``[[sql, params], …]`` per table, in order: each part leaves every rollup
        table either with or without the whole application. With ``stored_from``, the parts from
        that one on as plain data (made with ``cursor``, before the staging tables are refilled)."""
        parts: list[list] = []
        last = None
        for table, here, stored in self.steps:
            if table != last:
                parts.append([])
                last = table
            parts[-1].append(stored if stored_from is not None else here)
        if stored_from is None:
            return parts
        return [[make(cursor) for make in part] for part in parts[stored_from:]]


def _json_rows(columns: str) -> str:
    """SQL: the rows of a :meth:`Staged.rows` JSON parameter, with ``columns``' names."""
    names = columns.split(", ")
    return "SELECT " + ", ".join(f"value ->> {i} AS {n}" for i, n in enumerate(names)) + " FROM json_each(%s)"


@dataclass(frozen=True, slots=True)
class Light:
    """A cheaper write for the staged rows that change no indexed column of their kept row.

    SQLite rewrites the entries of every index holding a column an ``UPDATE`` sets, whatever the
    value. ``same`` is an SQL test on the kept row ``k`` and the staged row ``s`` (true: the
    upsert would leave the indexed columns as they are); ``sets`` the assignments of the other
    columns, from ``k`` and ``s``. Decided in the read transaction: only an application changes
    these rows, and their first/last days only move outwards.
    """

    key: str
    same: str
    sets: str


def _upsert(cursor, new: NewEvents, table: str, columns: str, select: str, on_conflict: str,
            params: list[Any], *, light: Light | None = None) -> None:
    """``INSERT INTO table (columns) select ON CONFLICT on_conflict`` — at once, or staged:
    ``select``'s rows go into a staging table now and are upserted from there by a step (the
    rows ``light`` finds, by a plain ``UPDATE`` of the other columns)."""
    if new.staged is None:
        cursor.execute(f"INSERT INTO {table} ({columns}) {select} ON CONFLICT {on_conflict}", params)
        return
    stage = new.staged.table_for(cursor, table, columns + (", light" if light else ""))
    cursor.execute(f"INSERT INTO {stage} ({columns}) {select}", params)
    rest = "TRUE"
    if light:
        cursor.execute(f"UPDATE {stage} AS s SET light = EXISTS (SELECT 1 FROM {table} k "
                       f"WHERE k.{light.key} = s.{light.key} AND {light.same})")
        update = f"UPDATE {table} AS k SET {light.sets} FROM (%s) s WHERE k.{light.key} = s.{light.key}"
        new.staged.add(table, (update % f"SELECT * FROM {stage} WHERE light", []),
                       lambda c: (update % _json_rows(columns), [Staged.rows(c, stage, columns, "light")]))
        rest = "NOT light"
    insert = f"INSERT INTO {table} ({columns}) %s WHERE %s ON CONFLICT {on_conflict}"
    new.staged.add(table, (insert % (f"SELECT {columns} FROM {stage}", rest), []),
                   lambda c: (insert % (_json_rows(columns), "TRUE"), [Staged.rows(c, stage, columns, rest)]))


def _later(cursor, new: NewEvents, table: str, statement: str, params: list[Any]) -> None:
    """Run a change that must see the rows written before it: now, or as a step when staged (then
    ``params`` hold values only: the work tables are gone when it runs)."""
    if new.staged is None:
        cursor.execute(statement, params)
    else:
        new.staged.add(table, (statement, params))

"""Race-free inserts of rows with a natural key, on SQLite and PostgreSQL alike.

A SELECT-then-INSERT get-or-create loses to a concurrent request creating the same key (a unique violation,
then a 500). ``INSERT ... ON CONFLICT`` lets the database arbitrate: on PostgreSQL a conflicting insert waits
for the other transaction and then does nothing, so the caller's next SELECT (a new snapshot under READ
COMMITTED) finds the winner's row; SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# The unique violation's SQLSTATE on PostgreSQL; SQLite has no codes, only the message.
_UNIQUE_SQLSTATE = "23505"


def _insert(session: Session, table: Table) -> Any:
    return _dialect_insert(session.get_bind().dialect.name, table)


def _dialect_insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no ON CONFLICT insert for {dialect}")


def _with_defaults(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Column defaults that are plain callables (timestamps, empty JSON), which a multi-row INSERT skips."""
    out = dict(row)
    for column in table.columns:
        default = column.default
        if column.name not in out and default is not None and default.is_callable:
            out[column.name] = default.arg(None)  # type: ignore[union-attr]
        elif column.name not in out and default is not None and default.is_scalar:
            out[column.name] = default.arg  # type: ignore[union-attr]
    return out


def insert_missing(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> None:
    """Insert each row whose ``key`` columns are not taken yet; rows already there are left as they are."""
    if rows:
        values = [_with_defaults(table, row) for row in rows]
        session.execute(_insert(session, table).values(values).on_conflict_do_nothing(index_elements=list(key)))


def upsert(session: Session, table: Table, row: Mapping[str, Any], key: Sequence[str], columns: Sequence[str]) -> None:
    """Insert ``row``, or when its key is taken copy ``columns`` from it onto that row (and refresh ``updated``)
    where one of them differs, so an unchanged row keeps its ``updated`` time."""
    values = _with_defaults(table, row)
    touch = "updated" in table.c and "updated" in values
    dialect = session.get_bind().dialect.name
    session.execute(_upsert_statement(dialect, table, tuple(key), tuple(columns), touch), values)


@lru_cache(maxsize=64)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...], touch: bool) -> Any:
    """``upsert``'s statement, built once per shape (the row goes as parameters): building it and its cache key
    cost several times more than running it."""
    statement = _dialect_insert(dialect, table)
    changes: dict[str, Any] = {name: statement.excluded[name] for name in columns}
    if touch:
        changes["updated"] = statement.excluded["updated"]
    differs = or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in columns))
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes, where=differs)


def is_unique_violation(error: IntegrityError) -> bool:
    orig = error.orig
    return getattr(orig, "sqlstate", None) == _UNIQUE_SQLSTATE or "UNIQUE constraint failed" in str(orig)


def increment(session: Session, table: Table, key: Mapping[str, Any], column: str) -> int:
    """Add one to ``column`` of the row with ``key`` (inserting it at 1) in one statement, and return the new
    count: concurrent requests each see their own count, on SQLite and PostgreSQL alike."""
    statement = _insert(session, table).values({**key, column: 1})
    statement = statement.on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1})
    return int(session.execute(statement.returning(table.c[column])).scalar_one())

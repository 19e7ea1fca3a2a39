"""ORM objects that the engine keeps from one short transaction to the next (a run and its current action
attempt), written with Core statements instead of the unit of work.

An executor changes two rows a few times per run. A flush costs about 400 Python calls for those two rows; the
same UPDATE or INSERT with Core costs 60. The objects stay detached: the engine sets their attributes (through the
one state machine, ``ara.lifecycle.states``) and writes what changed at the point the transaction needs it. An
object that a session holds is left to that session's flush, so code that loaded its own copy works unchanged.
Relationships are not followed: these models have none."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ara.db.statements import insert_into, update_row


def insert_detached(session: Session, obj: Any) -> None:
    """INSERT ``obj``'s row now and keep ``obj`` detached, as if loaded. As a flush would: the columns never set take
    their column's Python default, or are left out (SQL NULL, not a JSON ``null``). ``obj`` is new (transient)."""
    table: Table = type(obj).__table__
    given = inspect(obj).dict
    missing = {column.key: _default(column) for column in table.columns if column.key not in given}
    row = {key: given[key] for key in table.columns.keys() if key in given}
    row.update((key, value) for key, value in missing.items() if value is not None)
    session.connection().execute(insert_into(table), row)
    for key, value in missing.items():  # every attribute present: a detached object cannot load one it lacks
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)  # what was given is now as if loaded: no change to write


def write_changes(session: Session, obj: Any) -> None:
    """UPDATE the columns of a detached ``obj`` changed since it was loaded, inserted or last written, in
    ``session``'s transaction; nothing when none changed, or when ``session`` holds ``obj`` (its flush will)."""
    state = inspect(obj)
    if state.session_id is not None or not state.committed_state:
        return
    changed = {key: getattr(obj, key) for key in state.committed_state}
    table: Table = type(obj).__table__
    session.connection().execute(update_row(table), {"row_id": obj.id, **changed})
    for key, value in changed.items():  # written: no longer a change
        set_committed_value(obj, key, value)


def _default(column: Column[Any]) -> Any:
    """The value a flush would give ``column`` when it is not set. A default the database computes could not be
    known without reading the row back: no model written this way has one."""
    if column.server_default is not None:
        raise TypeError(f"{column} has a server default: insert_detached cannot know the row's value")
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]

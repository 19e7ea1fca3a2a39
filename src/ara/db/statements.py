"""Bare INSERT and UPDATE statements for Ara's own writers, built once per table: their columns come from the
parameters given at execution, so one statement serves every set of columns (compiled once per set, cached), and
building a statement and its cache key costs more than writing a row."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Insert, Table, Update, bindparam, insert, update


@cache
def insert_into(table: Table) -> Insert:
    """INSERT into ``table``: the row's columns are the parameters' keys."""
    return insert(table)


@cache
def update_row(table: Table) -> Update:
    """UPDATE of the row whose ``id`` is the parameter ``row_id``; the SET columns are the parameters' other keys."""
    return update(table).where(table.c.id == bindparam("row_id"))

"""What every kind's search shares: a case-insensitive "contains" condition and a bounded page (the rows asked for
and a count that stops at ``COUNT_CAP``, so a broad search never counts a whole table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

#: Counts stop here: "1000+" is as useful as the exact number and never scans millions of rows.
COUNT_CAP = 1000


@dataclass(frozen=True)
class Page:
    """One page of one kind's hits; ``total`` is exact unless ``capped`` (then there are more than ``total``)."""

    hits: list[dict[str, Any]]
    total: int
    capped: bool


def contains(column: Any, word: str) -> ColumnElement[bool]:
    escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped}%", escape="\\")


def any_contains(columns: list[Any], words: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """Every word appears in at least one of ``columns``."""
    return [or_(*(contains(column, word) for column in columns)) for word in words]


def bounded(session: Session, query: Select[Any], *, limit: int, offset: int) -> tuple[list[Any], int, bool]:
    """The rows of this page and how many there are, counted up to ``COUNT_CAP`` past ``offset``'s page."""
    rows = list(session.execute(query.limit(limit).offset(offset)))
    if offset == 0 and len(rows) < limit:
        return rows, len(rows), False
    cap = max(COUNT_CAP, offset + limit)
    inner = query.order_by(None).limit(cap + 1).subquery()
    total = session.scalar(select(func.count()).select_from(inner)) or 0
    return rows, min(total, cap), total > cap

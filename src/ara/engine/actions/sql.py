"""``sql``: one query on a database URL (the URL is stored sealed and opened only here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from ara.engine.actions.base import ActionContext, Outcome, scrub
from ara.playbooks.sql_templates import plain


def _url(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def run_sql(spec: Any, ctx: ActionContext) -> Outcome:
    try:
        engine = create_engine(_url(spec.connection))
    except (SQLAlchemyError, ValueError) as exc:
        return Outcome(False, {}, scrub(f"bad connection: {exc}", ctx.secrets + [spec.connection]))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(spec.query), ctx.binds)
            if result.returns_rows:
                columns = list(result.keys())
                rows = [[plain(value) for value in row] for row in result]
                return Outcome(True, {"columns": columns, "rows": rows, "count": len(rows)})
            return Outcome(True, {"columns": [], "rows": [], "count": max(result.rowcount, 0)})
    except SQLAlchemyError as exc:
        return Outcome(False, {}, scrub(str(exc.orig or exc), ctx.secrets + [spec.connection]))
    finally:
        engine.dispose()

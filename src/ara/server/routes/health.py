"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from ara.server.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthcheck")
def healthcheck(state: StateDep) -> dict[str, Any]:
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": state.engine.dialect.name}

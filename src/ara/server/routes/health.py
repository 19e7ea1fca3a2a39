"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from ara.server.deps import StateDep

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    status: str
    database: str


@router.get("/healthcheck", response_model=HealthRead)
def healthcheck(state: StateDep) -> dict[str, Any]:
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": state.engine.dialect.name}

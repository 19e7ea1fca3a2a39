"""Wire models of ``/api/v1/users``: passwords go in, never out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_USERNAME = 255  # the column is VARCHAR(255); SQLite would store more, PostgreSQL would fail
MAX_PASSWORD = 1024  # argon2 hashes anything, but a 10 MB password is an attack, not a password
Role = Literal["viewer", "operator", "approver", "admin"]


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    role: Role = "viewer"
    teams: list[str] = Field(default_factory=list, max_length=100)


class UserRead(BaseModel):
    id: int
    username: str
    role: str
    teams: list[str]
    is_active: bool
    created: str | None


class UserUpdate(BaseModel):
    """``PATCH /api/v1/users/{username}``: either or both."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None

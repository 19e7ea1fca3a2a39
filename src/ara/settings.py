"""One Settings object read from ``ARA_*`` environment variables (nested sections use ``__``)."""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseModel):
    # Empty means SQLite at ``<base_dir>/ansible.sqlite`` (ARA's own default location and file name).
    url: str = ""
    busy_timeout_ms: int = 30_000
    echo: bool = False


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    page_size: int = 100
    # `ara server` refuses a non-loopback address while writes need no login, unless this is set.
    allow_open_writes: bool = False


class AuthSettings(BaseModel):
    read_login_required: bool = False
    write_login_required: bool = False
    # Seconds a verified password stays cached (ARA issue 283: hashing per request made runs 2-3x slower).
    credential_cache_seconds: int = 300


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARA_", env_nested_delimiter="__", extra="ignore")

    base_dir: Path = Field(default_factory=lambda: Path.home() / ".ara" / "server")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.base_dir / 'ansible.sqlite'}"


@functools.cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process (CLI, plugins); tests build their own."""
    return Settings()

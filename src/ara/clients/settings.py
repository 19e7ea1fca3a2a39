"""Where and how to reach the API (``ARA_API_*``) and where unsent calls wait (``ARA_SPOOL_*``): one model for
the CLI and the Ansible plugins, so a value means the same everywhere (``ARA_API_INSECURE=y`` included)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from ara.clients.base import AraClient

DEFAULT_SERVER = "http://127.0.0.1:8000"


class ClientSettings(BaseSettings):
    """``ARA_API_CLIENT``, ``ARA_API_SERVER``, ... as ARA names them; explicit values win over the environment."""

    model_config = SettingsConfigDict(env_prefix="ARA_API_", extra="ignore", env_ignore_empty=True)

    client: Literal["offline", "http"] = "offline"
    server: str = DEFAULT_SERVER
    timeout: float = Field(30.0, gt=0)
    username: str | None = None
    password: str | None = None
    token: str | None = None
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    insecure: bool = False
    # How long one call is retried (reset, refused, time-out, 5xx) before the callback spools it.
    retry_seconds: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _key_file_or_user_key(self) -> ClientSettings:
        """``ARA_API_KEY`` is a client-certificate key file to ARA but a user API key to ara-sdk (``ara auth``,
        ``ara runtime``): without a certificate, a value naming no file is the latter, and not ours to use."""
        if self.key and not self.cert and not Path(self.key).expanduser().is_file():
            self.key = None
        return self

    @property
    def verify(self) -> bool | str:
        """ARA's meaning: a CA bundle wins over ``insecure``."""
        return self.ca if self.ca else not self.insecure

    def connect(self, *, run_sql_migrations: bool = True, isolate: bool = False) -> AraClient:
        from ara.clients.utils import get_client

        return get_client(
            client=self.client,
            endpoint=self.server,
            timeout=self.timeout,
            username=self.username,
            password=self.password,
            cert=self.cert,
            key=self.key,
            verify=self.verify,
            run_sql_migrations=run_sql_migrations,
            token=self.token,
            isolate=isolate,
        )


class SpoolSettings(BaseSettings):
    """``ARA_SPOOL_ENABLED``, ``ARA_SPOOL_DIR``, ``ARA_SPOOL_MAX_SIZE`` (MiB per playbook run)."""

    model_config = SettingsConfigDict(env_prefix="ARA_SPOOL_", extra="ignore", env_ignore_empty=True)

    enabled: bool = True
    dir: Path = Field(default_factory=lambda: Path.home() / ".ara" / "spool")
    max_size: float = Field(256.0, gt=0)

    @property
    def max_bytes(self) -> int:
        return int(self.max_size * 1024 * 1024)

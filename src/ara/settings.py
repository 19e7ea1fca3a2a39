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
    # Connections kept open, and extra ones opened under load: together at least the server's request threads
    # (``server.threads``) plus its engine workers, so a request never waits for a connection in normal use.
    pool_size: int = 20
    max_overflow: int = 30
    # Seconds a request waits for a free connection before it is answered 503 (instead of failing mid-way).
    pool_timeout: float = 30.0


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    page_size: int = 100
    # Threads serving requests (anyio's default is 40); requests beyond them queue for a thread.
    threads: int = 40
    # `ara server` refuses a non-loopback address while writes need no login, unless this is set.
    allow_open_writes: bool = False
    # Seconds an idle HTTP connection is kept open; longer than clients keep theirs (httpx: 5 s, Ara's client: 2 s)
    # so that a client never reuses a connection the server is closing at the same moment.
    keep_alive_seconds: float = 65.0
    # Larger request bodies are refused with 413 before they are read (ARA's file records carry whole files).
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)


class AuthSettings(BaseModel):
    read_login_required: bool = False
    write_login_required: bool = False
    # Seconds a verified password stays cached (ARA issue 283: hashing per request made runs 2-3x slower).
    credential_cache_seconds: int = 300
    # The bootstrap admin@local's password; may stay empty (meaning 'admin') only on loopback.
    admin_password: str = ""


class RecordsSettings(BaseModel):
    # A playbook ``running`` with nothing recorded for this long (its callback died) is marked ``expired``,
    # with its running plays and tasks, as ``ara expire`` does; 0 disables. A late replay still completes it.
    expire_silent_after_seconds: float = 6 * 3600
    # How long a create's ``Idempotency-Key`` is remembered (a spool replayed later than this could duplicate).
    request_key_days: float = 14


class EngineSettings(BaseModel):
    # Runs the server executes at once (0: none; on PostgreSQL runs wait for an ``ara worker``, whose own slots are
    # its ``--concurrency``, and the server still keeps the clock).
    workers: int = 4
    # PostgreSQL: how often a worker looks for jobs no NOTIFY announces (a delay or retry come due, a run's lock
    # freed); new runs and cancels arrive at once.
    poll_interval: float = 0.5
    # A worker silent this long (heartbeats every third of it) is declared dead and its run failed; a stopping
    # worker lets its runs finish for half of it.
    heartbeat_timeout: float = 30.0
    # Where artifacts are kept: an fsspec URL (``file:///srv/ara/artifacts``, ``s3://bucket/prefix``; other
    # protocols' packages, such as s3fs, are the user's install). Empty: ``file://<base_dir>/artifacts``. Workers on
    # other machines need a store they all reach.
    artifacts_url: str = ""
    # Deprecated alias of ``artifacts_url``: a local directory.
    artifacts_dir: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARA_", env_nested_delimiter="__", extra="ignore")

    base_dir: Path = Field(default_factory=lambda: Path.home() / ".ara" / "server")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    # Fernet key for secrets at rest; empty means a key generated once in ``<base_dir>/secret.key``.
    secret_key: str = ""

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.base_dir / 'ansible.sqlite'}"


@functools.cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process (CLI, plugins); tests build their own."""
    return Settings()

"""One Settings object read from ``ARA_*`` environment variables (nested sections use ``__``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

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
    # Password guessing (the API's basic auth and the login form): after this many wrong passwords for one username
    # within the window, that name's password is not checked until the oldest of them leaves it (429, Retry-After).
    login_attempts: int = Field(default=10, ge=1)
    login_window_seconds: float = Field(default=300, gt=0)
    # The bootstrap admin@local's password; may stay empty (meaning 'admin') only on loopback.
    admin_password: str = ""
    # ``ara auth login`` through the browser (device flow): how long a login waits for approval at most, and how
    # long its access token (a bearer) and refresh token last.
    device_login_seconds: int = Field(default=600, ge=30, le=3600)
    cli_access_token_seconds: int = Field(default=3600, ge=60)
    cli_refresh_token_days: float = Field(default=30.0, gt=0)


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


class ModelProvider(BaseModel):
    """An OpenAI-compatible endpoint a ``provider/name`` model goes to; the key is read from the environment."""

    base_url: str
    api_key_env: str = ""


class RuntimeSettings(BaseModel):
    """The agent runtime: sessions, their sandbox, tools and the model loop."""

    # Where session directories live (each one is what the sandbox sees as ``/root/.ara``). Empty:
    # ``<base_dir>/sessions``. Several API hosts or workers need a directory they all share.
    sessions_dir: str = ""
    # A running session nobody used for this long is stopped (its files stay); 0 never stops one.
    idle_ttl_seconds: float = Field(default=3600.0, ge=0)
    # ``auto``: bubblewrap when ``bwrap`` works, else the confined subprocess (announced at start as weaker).
    sandbox: Literal["auto", "bwrap", "subprocess"] = "auto"
    # A sandboxed command's limits: wall-clock seconds, CPU seconds, address space, output kept per stream.
    exec_timeout_seconds: float = Field(default=60.0, gt=0)
    cpu_seconds: int = Field(default=60, gt=0)
    memory_mb: int = Field(default=1024, gt=0)
    output_bytes: int = Field(default=64 * 1024, gt=0)
    # Whether sandboxed commands reach the network (a session's policy may not widen it beyond this).
    network: bool = False
    # ``web_fetch`` refuses private, loopback and link-local addresses unless this is set; its text is capped.
    web_fetch_allow_private: bool = False
    web_fetch_max_chars: int = Field(default=50_000, gt=0)
    # ``web_search``: an endpoint answering ``GET ?q=`` with JSON results; empty means the tool says none is set.
    web_search_url: str = ""
    # The model used when a chat names none, and the model providers beyond ``openai`` (which reads the standard
    # ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``), e.g. ``ARA_RUNTIME__PROVIDERS='{"local": {"base_url": ...}}'``.
    default_model: str = "openai/gpt-4o-mini"
    providers: dict[str, ModelProvider] = Field(default_factory=dict)
    # Model calls in one chat turn before a last call without tools ends it.
    max_turns: int = Field(default=20, gt=0)
    # How often an open SSH connection checks that its session still runs (it is closed once stopped) and, when
    # the client sent anything since, marks the session used.
    ssh_check_seconds: float = Field(default=30.0, gt=0)
    # PostgreSQL, several API hosts: how often a host marks its control-channel clients alive in the database;
    # another host stops counting them after three missed beats (their host died).
    control_heartbeat_seconds: float = Field(default=10.0, gt=0)


class AppsSettings(BaseModel):
    """Deployed apps: how long a sync run call waits, webhook deliveries, the live log stream, sandboxed code."""

    #: ``POST /v1/apps/{id}/run`` waits this long for the run to end, then answers with the run still going.
    sync_run_timeout_seconds: float = Field(default=110.0, gt=0)
    webhook_attempts: int = Field(default=5, ge=1)
    webhook_backoff_seconds: float = Field(default=2.0, gt=0)  # doubled after each failed attempt
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)  # a delivery's whole POST, not each phase
    #: Callback URLs on private, loopback or link-local addresses are refused (at submit and at delivery) unless
    #: this is true: a key holder must not make the server POST into its own network.
    webhook_allow_private: bool = False
    #: A keep-alive comment on an idle log stream at least this often.
    logs_keepalive_seconds: float = Field(default=15.0, gt=0, le=15.0)
    #: An open log stream checks this often that its key (or member) still admits it, and ends when not.
    logs_recheck_seconds: float = Field(default=30.0, gt=0)
    #: Rows written this long before a client connects are replayed to it first.
    logs_replay_seconds: float = Field(default=60.0, ge=0)
    #: An agent's prompt function or an app tool's source, run in the sandbox, is killed after this long.
    code_timeout_seconds: float = Field(default=60.0, gt=0)
    #: An hmac endpoint refuses a timestamp further than this from the server's clock.
    endpoint_skew_seconds: int = Field(default=300, gt=0)
    #: The server's URL as an app tool's sandbox reaches it (``ARA_API_BASE_URL`` there); empty: this server's
    #: ``server.host:port`` (a wildcard host as 127.0.0.1). Set it when workers run on other machines.
    api_base_url: str = ""


class UISettings(BaseModel):
    """The web UI at ``/``: how long a browser login lasts, and whether its cookies need HTTPS."""

    session_hours: float = Field(default=12.0, gt=0)
    # None: secure cookies when the request came over HTTPS (as seen by the server, or a proxy's X-Forwarded-Proto).
    secure_cookies: bool | None = None
    page_size: int = Field(default=50, gt=0, le=500)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARA_", env_nested_delimiter="__", extra="ignore")

    base_dir: Path = Field(default_factory=lambda: Path.home() / ".ara" / "server")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    records: RecordsSettings = Field(default_factory=RecordsSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    apps: AppsSettings = Field(default_factory=AppsSettings)
    ui: UISettings = Field(default_factory=UISettings)
    # Fernet key for secrets at rest; empty means a key generated once in ``<base_dir>/secret.key``.
    secret_key: str = ""

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.base_dir / 'ansible.sqlite'}"

    @property
    def sessions_dir(self) -> Path:
        return Path(self.runtime.sessions_dir) if self.runtime.sessions_dir else self.base_dir / "sessions"


@functools.cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process (CLI, plugins); tests build their own."""
    return Settings()

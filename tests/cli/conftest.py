"""Run ``ara`` in-process (CliRunner) against a test database (offline client) or a live server (http client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from typer.testing import CliRunner

from ara.cli.main import app
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings, get_settings

# Variables a developer's shell may set that would point the CLI elsewhere: unset them for every run.
_ISOLATED = (
    "ARA_API_CLIENT",
    "ARA_API_SERVER",
    "ARA_API_TIMEOUT",
    "ARA_API_USERNAME",
    "ARA_API_PASSWORD",
    "ARA_API_TOKEN",
    "ARA_API_INSECURE",
    "ARA_CLI_LIMIT",
    "ARA_CLI_RESOLVE",
    "ARA_CLI_DEBUG",
    "ARA_AUTH__WRITE_LOGIN_REQUIRED",
    "ARA_AUTH__READ_LOGIN_REQUIRED",
    "COLUMNS",  # pytest-xdist's workers set 80; tables are read whole (piped output does not wrap)
)


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error(self) -> str:
        """What a failing command said: one clear line, never a traceback."""
        assert self.exit_code == 2, (self.exit_code, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr + self.stdout
        return self.stderr


@dataclass
class Cli:
    """``cli("playbook", "list", "-f", "json")``: runs ``ara`` with the database of ``settings``."""

    settings: Settings
    env: dict[str, str | None] = field(default_factory=dict)

    def __call__(self, *args: str, **env: str) -> Ran:
        runner = CliRunner()
        merged = {
            **dict.fromkeys(_ISOLATED),
            "ARA_BASE_DIR": str(self.settings.base_dir),
            "ARA_DATABASE__URL": self.settings.database_url,
            **self.env,
            **env,
        }
        get_settings.cache_clear()  # the offline client and admin commands read the environment once per process
        try:
            result = runner.invoke(app, list(args), env=merged, catch_exceptions=False)
        finally:
            get_settings.cache_clear()
        return Ran(result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, **env: str) -> Ran:
        ran = self(*args, **env)
        assert ran.exit_code == 0, (args, ran.stdout, ran.stderr)
        return ran

    def json(self, *args: str, **env: str) -> Any:
        return self.ok(*args, "--format", "json", **env).json()


@pytest.fixture
def cli(sqlite_settings: Settings) -> Cli:
    return Cli(sqlite_settings)


@pytest.fixture
def api(sqlite_settings: Settings) -> Iterator[AraOfflineClient]:
    """The API on the same database the CLI reads, to prepare data and compare answers."""
    client = AraOfflineClient(settings=sqlite_settings)
    yield client
    client.close()

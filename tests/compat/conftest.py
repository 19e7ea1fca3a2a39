"""Fixtures for the compatibility tests: upstream ``ara==1.8.0`` in a cached virtualenv, our server recording
every error status it answers, and runs of the integration playbooks with upstream's plugins and with ours."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ara.clients.http import AraHttpClient
from ara.settings import Settings
from tests.support.ansible import INVENTORY, PLAYBOOKS, Run, ansible_env, run_playbook
from tests.support.databases import fresh_postgres_database
from tests.support.server import running_server
from tests.support.upstream import UpstreamVenv, ensure_venv

# The playbooks every variant runs, in this order (see tests/support/ansible.py for what each covers).
PLAYBOOK_NAMES = ("lifecycle.yml", "records.yml", "failures.yml")


@pytest.fixture(scope="session")
def upstream() -> UpstreamVenv:
    """Upstream ``ara==1.8.0`` (client, plugins and CLI; no server extras) with ``ansible-core<2.20``."""
    return ensure_venv()


class ErrorLog:
    """Pure ASGI middleware keeping every request our server answered with a status >= 400."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.errors: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                query = scope.get("query_string", b"").decode()
                self.errors.append(f"{message['status']} {scope['method']} {scope['path']}?{query}")
            await send(message)

        await self.app(scope, receive, watching)


@contextmanager
def watched_server(settings: Settings) -> Iterator[tuple[str, ErrorLog]]:
    """Our server (uvicorn on 127.0.0.1) with an ``ErrorLog`` in front; yields its URL and the log."""
    logs: list[ErrorLog] = []

    def watch(app: ASGIApp) -> ErrorLog:
        logs.append(ErrorLog(app))
        return logs[0]

    with running_server(settings, wrap=watch) as url:
        yield url, logs[0]


def upstream_env(venv: UpstreamVenv, tmp_path: Path, server: str) -> dict[str, str]:
    """Our test environment for ``ansible-playbook`` with upstream's callback, action and lookup plugins instead."""
    env = ansible_env(tmp_path, client="http", server=server)
    return venv.environ(
        env,
        ANSIBLE_CALLBACK_PLUGINS=venv.setup_path("callback_plugins"),
        ANSIBLE_ACTION_PLUGINS=venv.setup_path("action_plugins"),
        ANSIBLE_LOOKUP_PLUGINS=venv.setup_path("lookup_plugins"),
    )


def run_upstream_playbook(venv: UpstreamVenv, playbook: str, env: dict[str, str], timeout: float = 120) -> Run:
    """The venv's ``ansible-playbook`` (so modules and plugins run with the venv's Python) on one playbook."""
    command = [str(venv.bin("ansible-playbook")), "-i", str(INVENTORY), str(PLAYBOOKS / playbook)]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=PLAYBOOKS)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@dataclass
class World:
    """One server and database, each playbook recorded once by upstream's callback and once by ours."""

    database: str
    server: str
    errors: ErrorLog
    client: AraHttpClient
    upstream: dict[str, tuple[Run, int]] = field(default_factory=dict)  # playbook -> (run, recorded id)
    ours: dict[str, tuple[Run, int]] = field(default_factory=dict)

    def detail(self, resource: str, id_: int) -> dict[str, Any]:
        return self.client.get(f"/api/v1/{resource}/{id_}")  # type: ignore[no-any-return]

    def all(self, resource: str, **params: Any) -> list[dict[str, Any]]:
        page = self.client.get(f"/api/v1/{resource}", limit=1000, order="id", **params)
        assert page["count"] == len(page["results"]), page["count"]
        return page["results"]  # type: ignore[no-any-return]


def newest_playbook_id(client: AraHttpClient, playbook: str) -> int:
    found = client.get("/api/v1/playbooks", path=str(PLAYBOOKS / playbook), order="-id", limit=1)["results"]
    assert found, f"{playbook} was not recorded"
    return int(found[0]["id"])


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def world(
    request: pytest.FixtureRequest, upstream: UpstreamVenv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Runs every playbook with upstream's plugins (the venv's Ansible) then with ours, against one server."""
    tmp = tmp_path_factory.mktemp(f"compat-{request.param}")
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database()) if request.param == "postgres" else ""
        settings = Settings(base_dir=tmp, database={"url": url})
        server, errors = stack.enter_context(watched_server(settings))
        client = AraHttpClient(endpoint=server)
        stack.callback(client.close)
        world = World(request.param, server, errors, client)
        upstream_environ = upstream_env(upstream, tmp / "upstream", server)
        ours_environ = ansible_env(tmp / "ours", client="http", server=server)
        for name in PLAYBOOK_NAMES:
            run = run_upstream_playbook(upstream, name, upstream_environ)
            world.upstream[name] = (run, newest_playbook_id(client, name))
            run = run_playbook(name, ours_environ)
            world.ours[name] = (run, newest_playbook_id(client, name))
        yield world


def scrubbed_environ() -> dict[str, str]:
    """The environment without ANSIBLE_/ARA_ settings of the caller (the CLI reads ``ARA_API_*``)."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ARA_"))}

"""A running server for playbook-run tests, with users, over real HTTP (basic auth)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import yaml

from ara.db.session import unit_of_work
from ara.server.app import create_app
from ara.settings import Settings
from ara.users.models import User
from ara.users.service import hash_password
from tests.support.server import running_server

ADMIN = ("admin@local", "admin")
USERS = {
    "olivia": ("operator", []),
    "paul": ("approver", ["sre"]),
    "quinn": ("approver", ["sre"]),
    "rita": ("approver", ["dba"]),
    "victor": ("viewer", []),
}


@dataclass
class Mission:
    url: str
    http: httpx.Client
    settings: Settings

    def as_user(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(name, "pw"), timeout=30)

    def define(self, name: str, spec: dict[str, Any] | str, *, as_yaml: bool = True) -> str:
        document = {
            "kind": "Playbook",
            "metadata": {"name": name},
            "spec": spec if isinstance(spec, dict) else yaml.safe_load(spec),
        }
        if as_yaml:
            response = self.http.post("/playbook", content=yaml.safe_dump(document))
        else:
            response = self.http.post("/playbook", json=document)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def run(self, playbook_id: str, client: httpx.Client | None = None, **body: Any) -> str:
        response = (client or self.http).post("/playbook/run", json={"id": playbook_id, **body})
        assert response.status_code == 201, response.text
        return str(response.json()["run_id"])

    def get(self, run_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/playbook/run/{run_id}").json())

    def status(self, run_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/playbook/run/{run_id}/status").json())

    def wait(self, run_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        wanted = statuses or ("completed", "failed", "cancelled", "timed_out")
        deadline = time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if run["status"] in wanted:
                return run
            assert time.monotonic() < deadline, f"run stuck in {run['status']}: {run}"
            time.sleep(0.05)


@functools.cache
def _hash(password: str) -> str:
    return hash_password(password)  # argon2 is slow on purpose: hash each test password once per session


def seed_users(settings: Settings) -> None:
    app = create_app(settings, workers=False)
    with unit_of_work(app.state.ara.writer) as session:
        session.add(User(username="admin@local", password_hash=_hash("admin"), role="admin", teams=[]))
        for name, (role, teams) in USERS.items():
            session.add(User(username=name, password_hash=_hash("pw"), role=role, teams=teams))
    app.state.ara.engine.dispose()


@contextmanager
def mission_control(settings: Settings, *, port: int | None = None) -> Iterator[Mission]:
    """``port``: a given one (settings that name the server's own URL, e.g. ``server.port``)."""
    seed_users(settings)
    with running_server(settings, port=port) as url, httpx.Client(base_url=url, auth=ADMIN, timeout=30) as http:
        yield Mission(url, http, settings)

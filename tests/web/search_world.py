"""A server holding one of each thing the search finds, all made for real: a playbook recorded by
``ansible-playbook`` (an unreachable host and a failed task, label ``prod-search``), a failed playbook run started
by alice, and a failed app run of alice's app (the scripted model answers 500)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ara.settings import Settings
from tests.apps.support import manifest
from tests.conftest import make_settings
from tests.support.ansible import ansible_env, run_playbook
from tests.support.fake_llm import failure, fake_llm
from tests.support.server import running_server
from tests.web.conftest import PASSWORD, Site, add_users

LABEL = "prod-search"
APP_SLUG = "searchable-bot"
DEFINITION = "nightly-search-backup"


@dataclass(frozen=True)
class World:
    site: Site
    app_id: str
    app_run_id: str
    run_id: str
    recorded_playbook_id: int

    def client(self, user: str | None) -> httpx.Client:
        auth = (user, PASSWORD) if user else None
        return httpx.Client(base_url=self.site.url, auth=auth, timeout=60)


def _until_ended(client: httpx.Client, path: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = dict(client.get(path).json())
        if body["status"] in ("completed", "failed", "cancelled", "timed_out"):
            return body
        assert time.monotonic() < deadline, f"{path} stuck: {body}"
        time.sleep(0.1)


def _record_playbook(url: str, scratch: Path) -> int:
    env = {**ansible_env(scratch, client="http", server=url), "ARA_DEFAULT_LABELS": LABEL}
    ran = run_playbook("failures.yml", env)
    assert ran.returncode != 0, ran.output
    found = httpx.get(f"{url}/api/v1/playbooks", params={"label": LABEL}).json()["results"]
    assert len(found) == 1, found
    return int(found[0]["id"])


def _failed_run(admin: httpx.Client, alice: httpx.Client) -> str:
    document = {
        "kind": "Playbook",
        "metadata": {"name": DEFINITION},
        "spec": {"actions": [{"name": "dump", "exec": {"script": "exit 3"}}]},
    }
    defined = admin.post("/playbook", json=document)
    assert defined.status_code == 201, defined.text
    started = alice.post("/playbook/run", json={"id": defined.json()["id"]})
    assert started.status_code == 201, started.text
    run_id = str(started.json()["run_id"])
    assert _until_ended(alice, f"/playbook/run/{run_id}")["status"] == "failed"
    return run_id


def _failed_app_run(alice: httpx.Client) -> tuple[str, str]:
    created = alice.post("/apps", json={**manifest(slug=APP_SLUG), "status": "active"})
    assert created.status_code == 201, created.text
    app_id = str(created.json()["app"]["id"])
    key = alice.post(f"/apps/{app_id}/keys", json={"name": "search-test", "requests_per_minute": 100})
    assert key.status_code < 300, key.text
    answer = alice.post(
        f"/v1/apps/{app_id}/run",
        headers={"Authorization": f"Bearer {key.json()['key']}"},
        json={"input": {"message": "summarise"}},
        auth=None,
    )
    assert answer.status_code == 200 and answer.json()["status"] == "failed", answer.text
    return app_id, str(answer.json()["run_id"])


@contextmanager
def search_world(base: Path) -> Iterator[World]:
    settings: Settings = make_settings(base, apps={"sync_run_timeout_seconds": 60})
    add_users(settings)
    with (
        fake_llm(default=failure(500, "the model is down")) as model,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "test")
        with running_server(settings) as url:
            site = Site(url, settings)
            admin = httpx.Client(base_url=url, auth=("admin", PASSWORD), timeout=60)
            alice = httpx.Client(base_url=url, auth=("alice", PASSWORD), timeout=60)
            with admin, alice:
                recorded = _record_playbook(url, base / "ansible")
                run_id = _failed_run(admin, alice)
                app_id, app_run_id = _failed_app_run(alice)
            yield World(site, app_id, app_run_id, run_id, recorded)

"""Twenty ``ansible-playbook`` runs at once, over HTTP into one server on PostgreSQL: every result recorded.

The runs share their playbook and task files (one file content by sha1), a label, and host names (the latest
host of each name), so the server's get-or-create paths race; the server must never answer a 5xx.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.ansible import PLAYBOOKS, ansible_env, start_playbook
from tests.support.databases import fresh_postgres_database
from tests.support.server import running_server

pytestmark = [pytest.mark.ansible, pytest.mark.postgres, pytest.mark.load, pytest.mark.serial]

RUNS = 20
HOSTS = 5
TASKS = 20
DEADLINE = 600  # seconds for all runs; about a minute on 2 idle cores


class StatusWatch:
    """ASGI middleware that remembers every response status at or above 500 (the server's view, not a client's)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.errors: list[tuple[str, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def watched(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 500:
                self.errors.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, watched if scope["type"] == "http" else send)


def finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    deadline = time.monotonic() + DEADLINE
    done = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        done.append((process.returncode, out + err))
    return done


def test_twenty_concurrent_runs_record_everything(tmp_path: Path) -> None:
    watch: list[StatusWatch] = []

    def wrap(app: Any) -> StatusWatch:
        watch.append(StatusWatch(app))
        return watch[0]

    with fresh_postgres_database() as database, running_server(make_settings(tmp_path, database), wrap=wrap) as url:
        env = ansible_env(tmp_path, client="http", server=url)
        # The subject is the server under concurrent writers, not the client's patience: on a loaded 2-core
        # machine one request of the 3,000 may wait longer than the 5 s the other callback tests allow.
        env["ARA_API_TIMEOUT"] = "60"
        # Likewise the end of a run: 20 runs ending together on 2 cores may need more than the default 30 s to send
        # their last calls; what is left would be spooled (correctly, and replayed later), which is not this subject.
        env["ARA_END_TIMEOUT"] = "120"
        inventory = PLAYBOOKS / "load" / "hosts.yml"
        processes = [start_playbook("load/site.yml", env, inventory=inventory) for _ in range(RUNS)]
        runs = finish(processes)

        assert watch[0].errors == []
        for returncode, output in runs:
            assert returncode == 0, output
            assert [line for line in output.splitlines() if "[WARNING]: ara" in line] == [], output

        with httpx.Client(base_url=url, timeout=60) as client:
            playbooks = client.get("/api/v1/playbooks", params={"limit": RUNS * 2}).json()
            assert playbooks["count"] == RUNS
            assert {p["status"] for p in playbooks["results"]} == {"completed"}
            assert {p["items"]["results"] for p in playbooks["results"]} == {HOSTS * TASKS}
            assert all([label["name"] for label in p["labels"]].count("load-shared") == 1 for p in playbooks["results"])
            assert client.get("/api/v1/results", params={"limit": 1}).json()["count"] == RUNS * HOSTS * TASKS
            files = client.get("/api/v1/files", params={"limit": 1000}).json()["results"]
            assert len(files) == RUNS * 2 and len({f["sha1"] for f in files}) == 2
            assert client.get("/api/v1/latesthosts").json()["count"] == HOSTS

"""Scaling out on PostgreSQL: two API hosts and two real ``ara worker`` processes sharing the database and one
sessions directory (``ARA_RUNTIME__SESSIONS_DIR``, the "shared workspace root"). Runs started through host A
execute on either worker and are read through host B; a session's file written through host A is read through
host B; and a worker killed with ``kill -9`` during a run fails that run with its reason (the same reaper as
playbook runs), while the other worker goes on serving."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ara.apps.models import AppLogLine
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.records import models as rm
from ara.runtime.sandbox.select import choose_sandbox
from ara.settings import Settings
from tests.apps.support import manifest, until
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.fake_llm import FakeLLM, Reply, fake_llm
from tests.support.runtime_users import ALICE, RuntimeUser, seed_runtime_users
from tests.support.server import running_server
from tests.support.workers import WorkerProcess, wait_registered

pytestmark = pytest.mark.postgres
KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="
HEARTBEAT = 4.0
LATENCY = 0.8  # each model answer takes this long: a run holds its worker's one slot meanwhile


@dataclass
class Fleet:
    host_a: str
    host_b: str
    settings: Settings
    model: FakeLLM
    workers: list[WorkerProcess]
    user: RuntimeUser
    app_id: str
    key: str

    def invoke(self, host: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        return httpx.request(method, f"{host}/v1/apps/{self.app_id}{path}", headers=headers, timeout=120, **kwargs)

    def status(self, host: str, run_id: str) -> dict[str, Any]:
        return dict(self.invoke(host, "GET", f"/runs/{run_id}").json())

    def started_on(self, run_id: str) -> str | None:
        """The worker id the run's ``run.started`` row names."""
        engine = make_engine(self.settings)
        try:
            with unit_of_work(make_sessionmaker(engine, write=False)) as session:
                message = session.scalar(
                    select(AppLogLine.message).where(
                        AppLogLine.run_id == run_id, AppLogLine.event_type == "run.started"
                    )
                )
        finally:
            engine.dispose()
        found = re.search(r"on worker (\S+)", message or "")
        return found.group(1) if found else None


def _ended(status: dict[str, Any]) -> dict[str, Any] | None:
    return status if status["status"] in ("completed", "failed") else None


@contextmanager
def _env(**values: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    base = tmp_path_factory.mktemp("scaling")
    shared = base / "shared-sessions"
    engine = {"workers": 0, "poll_interval": 0.1, "heartbeat_timeout": HEARTBEAT}
    with (
        fresh_postgres_database() as url,
        fake_llm(default=Reply(text="done", latency=LATENCY)) as model,
        _env(OPENAI_BASE_URL=model.url, OPENAI_API_KEY="test"),
    ):
        hosts = [
            make_settings(base / name, url, secret_key=KEY, engine=engine, runtime={"sessions_dir": str(shared)})
            for name in ("host-a", "host-b")
        ]
        if not choose_sandbox(hosts[0].runtime).strong:
            pytest.skip("bubblewrap does not work here")
        user = seed_runtime_users(hosts[0], ALICE)[ALICE]
        workers: list[WorkerProcess] = []
        try:
            with running_server(hosts[0]) as host_a, running_server(hosts[1]) as host_b:
                for index in range(2):
                    workers.append(
                        WorkerProcess(
                            hosts[0],
                            base / f"worker-{index}",
                            "--concurrency",
                            "1",
                            ARA_RUNTIME__SESSIONS_DIR=str(shared),
                            OPENAI_BASE_URL=model.url,
                            OPENAI_API_KEY="test",
                        )
                    )
                wait_registered(workers, 2 + 3 * len(workers))  # each server's clock, each worker's clock and queues
                owner = {**user.headers, "Content-Type": "application/json"}
                created = httpx.post(
                    f"{host_a}/apps", headers=owner, json={**manifest(slug="fleet-bot"), "status": "active"}, timeout=60
                )
                assert created.status_code == 201, created.text
                app_id = created.json()["app"]["id"]
                key = httpx.post(
                    f"{host_a}/apps/{app_id}/keys",
                    headers=owner,
                    json={"name": "k", "requests_per_minute": 10000},
                    timeout=60,
                )
                yield Fleet(host_a, host_b, hosts[0], model, workers, user, app_id, key.json()["key"])
        finally:
            for worker in workers:
                worker.kill()


def test_runs_started_through_one_host_execute_on_either_worker(fleet: Fleet) -> None:
    fleet.model.reset()
    run_ids = [f"run-fleet-{n}" for n in range(6)]
    for run_id in run_ids:
        answer = fleet.invoke(fleet.host_a, "POST", "/runs", json={"run_id": run_id, "input": {"message": "go"}})
        assert answer.status_code == 202, answer.text
    for run_id in run_ids:  # read through the other host
        ended = until(lambda r=run_id: _ended(fleet.status(fleet.host_b, r)), run_id)
        assert (ended["status"], ended["result"]["output_text"]) == ("completed", "done"), ended
    assert len({fleet.started_on(run_id) for run_id in run_ids}) == 2


def test_a_sessions_file_written_through_one_host_is_read_through_the_other(fleet: Fleet) -> None:
    headers = {**fleet.user.headers, "Content-Type": "application/json"}
    started = httpx.post(f"{fleet.host_a}/session/start", headers=headers, json={}, timeout=120)
    assert started.status_code < 300, started.text
    session_id = started.json()["session_id"]
    body = {"session_id": session_id, "tool_name": "write_file", "args": {"path": "n.txt", "content": "from A"}}
    wrote = httpx.post(f"{fleet.host_a}/session/runtime/tools/execute", headers=headers, json=body, timeout=60)
    assert wrote.status_code == 200, wrote.text
    body = {"session_id": session_id, "tool_name": "read_file", "args": {"path": "n.txt"}}
    read = httpx.post(f"{fleet.host_b}/session/runtime/tools/execute", headers=headers, json=body, timeout=60)
    assert read.status_code == 200 and "from A" in read.text, read.text


def test_a_killed_worker_fails_its_app_run_with_the_reason(fleet: Fleet) -> None:
    gate = threading.Event()
    fleet.model.reset().script(Reply(text="never", gate=gate, gate_timeout=60))
    try:
        answer = fleet.invoke(fleet.host_a, "POST", "/runs", json={"run_id": "run-doomed", "input": {"message": "x"}})
        assert answer.status_code == 202, answer.text
        until(lambda: fleet.model.requests, "the model call")  # the run is in its model call on some worker
        holder = fleet.started_on("run-doomed")
        assert holder is not None
        victim = next(w for w in fleet.workers if f":{w.process.pid}:" in holder)
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        ended = until(lambda: _ended(fleet.status(fleet.host_b, "run-doomed")), "its end", timeout=HEARTBEAT * 6)
        assert (ended["status"], ended["ok"]) == ("failed", False)
        assert "stopped reporting" in ended["error"] and holder in ended["error"]
    finally:
        gate.set()
    engine = make_engine(fleet.settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            events = session.scalars(
                select(AppLogLine.event_type).where(AppLogLine.run_id == "run-doomed").order_by(AppLogLine.id)
            ).all()
            playbook = session.scalar(
                select(rm.Playbook).where(rm.Playbook.path == "app://fleet-bot/digest").order_by(rm.Playbook.id.desc())
            )
            assert playbook is not None and playbook.status == "failed"
    finally:
        engine.dispose()
    assert events[-1] == "run.failed"
    # The other worker still serves.
    fleet.model.reset()
    survivor = fleet.invoke(fleet.host_a, "POST", "/run", json={"input": {"message": "again"}}).json()
    assert survivor["status"] == "completed", survivor

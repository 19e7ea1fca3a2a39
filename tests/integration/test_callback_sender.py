"""``ara.plugins.sender``: ordered background calls, ids passed along through ``Ref``, the failure policy and the
spool, against the real API (offline in this process, or a real server over HTTP)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import ara.plugins
from ara.clients.calls import Call, Ref, call
from ara.clients.http import AraHttpClient
from ara.clients.offline import AraOfflineClient
from ara.clients.spool import SpoolWriter, replay_directory, spool_files
from ara.plugins.sender import Sender
from ara.settings import Settings
from tests.support.server import free_port, running_server


def playbook_calls(playbook: Ref, play: Ref, file: Ref) -> list[Call]:
    return [
        call("POST", "/api/v1/playbooks", body={"ansible_version": "2.17", "path": "/p.yml"}, fills=playbook),
        call("POST", "/api/v1/plays", body={"name": "play", "uuid": "u" * 36, "playbook": playbook}, fills=play),
        call("POST", "/api/v1/files", body={"playbook": playbook, "path": "/p.yml", "content": "x"}, fills=file),
    ]


def task_call(playbook: Ref, play: Ref, file: Ref, task: Ref, name: str = "t") -> Call:
    body = {"name": name, "action": "debug", "lineno": 1, "handler": False}
    body.update(playbook=playbook, play=play, file=file)
    return call("POST", "/api/v1/tasks", body=body, fills=task)


def result_call(playbook: Ref, play: Ref, task: Ref, host: Ref, n: int) -> Call:
    body = {"playbook": playbook, "play": play, "task": task, "host": host, "status": "ok", "content": {"n": n}}
    return call("POST", "/api/v1/results", body=body)


def test_calls_run_in_order_on_one_background_thread(sqlite_settings: Settings) -> None:
    with AraOfflineClient(settings=sqlite_settings) as client:
        sender = Sender(client)
        playbook, play, file, task, host = Ref(), Ref(), Ref(), Ref(), Ref()
        threads: set[str] = set()

        def body(n: int) -> Any:
            def build() -> dict[str, Any]:  # a late body is built on the sender thread
                threads.add(threading.current_thread().name)
                return result_call(playbook, play, task, host, n).body

            return build

        for item in playbook_calls(playbook, play, file):
            sender.submit(item)
        sender.submit(task_call(playbook, play, file, task))
        sender.submit(call("POST", "/api/v1/hosts", body={"name": "h", "playbook": playbook}, fills=host))
        for n in range(20):
            sender.submit(call("POST", "/api/v1/results", body=body(n)))
        assert sender.flush(timeout=30)
        sender.close(timeout=10)
        results = client.get("/api/v1/results", order="id", limit=100)["results"]
        contents = [client.get(f"/api/v1/results/{r['id']}")["content"] for r in results]
    assert threads == {"ara-sender"}
    assert [content["n"] for content in contents] == list(range(20))  # sent in the order they were queued
    assert {(r["task"], r["host"]) for r in results} == {(task.id, host.id)}
    assert sender.error is None and sender.sent == 25


def test_a_refused_call_skips_what_depends_on_it_and_nothing_else(sqlite_settings: Settings) -> None:
    with AraOfflineClient(settings=sqlite_settings) as client:
        sender = Sender(client)
        playbook, play, file, host = Ref(), Ref(), Ref(), Ref()
        broken, fine = Ref(), Ref()
        for item in playbook_calls(playbook, play, file):
            sender.submit(item)
        sender.submit(call("POST", "/api/v1/hosts", body={"name": "h", "playbook": playbook}, fills=host))
        refused = task_call(playbook, play, file, broken)
        refused.body["lineno"] = "not a number"  # the server answers 400 naming the field
        sender.submit(refused)
        sender.submit(result_call(playbook, play, broken, host, 1))  # skipped: its task was never created
        sender.submit(task_call(playbook, play, file, fine, name="fine"))
        sender.submit(result_call(playbook, play, fine, host, 2))
        sender.close(timeout=30)
        tasks = client.get("/api/v1/tasks")["results"]
        results = client.get("/api/v1/results")["results"]
    assert [t["name"] for t in tasks] == ["fine"]
    assert [r["task"] for r in results] == [fine.id]
    assert broken.failed and broken.id is None
    assert "refused" in (sender.error or "") and not sender.stopped


def test_an_unreachable_server_without_a_spool_stops_sending_for_good() -> None:
    with AraHttpClient(endpoint=f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        sender = Sender(client, retry_seconds=0.3)
        playbook, play, file = Ref(), Ref(), Ref()
        for item in playbook_calls(playbook, play, file):
            sender.submit(item)
        sender.close(timeout=10)
    assert sender.stopped and "cannot reach the server" in (sender.error or "")
    assert playbook.failed


def test_an_unreachable_server_spools_in_order_and_a_replay_sends_it_once(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spool = SpoolWriter(tmp_path / "spool", endpoint, 10 * 1024 * 1024)
    with AraHttpClient(endpoint=endpoint, timeout=2) as client:
        sender = Sender(client, spool=spool, retry_seconds=0.3)
        playbook, play, file, task, host = Ref(), Ref(), Ref(), Ref(), Ref()
        for item in playbook_calls(playbook, play, file):
            sender.submit(item)
        sender.submit(task_call(playbook, play, file, task))
        sender.submit(call("POST", "/api/v1/hosts", body={"name": "h", "playbook": playbook}, fills=host))
        for n in range(5):
            sender.submit(result_call(playbook, play, task, host, n))
        sender.submit(call("PATCH", "/api/v1/playbooks/", playbook, body={"status": "completed"}))
        started = time.monotonic()
        sender.close(timeout=5)
        assert time.monotonic() - started < 15  # bounded: the server stayed down
    assert sender.spooling and not sender.stopped and sender.error is None
    (path,) = spool_files(tmp_path / "spool", endpoint)
    assert spool.written == 11 and path.stat().st_mode & 0o777 == 0o600

    # Served on the very port the spool names, as a restarted server would be.
    with running_server(sqlite_settings, port=port), AraHttpClient(endpoint=endpoint) as client:
        done = replay_directory(client, tmp_path / "spool", budget=5)
        again = replay_directory(client, tmp_path / "spool", budget=5)
        (recorded,) = client.get("/api/v1/playbooks")["results"]
        results = client.get("/api/v1/results", order="id")["results"]
    assert (done.sent, done.skipped, done.files) == (11, 0, 1)
    assert again.sent == 0 and not path.exists()
    assert recorded["status"] == "completed"
    assert len(results) == 5 and {r["task"] for r in results} == {results[0]["task"]}


@pytest.mark.serial  # a 2 s budget: runs alone, after the parallel phase
def test_wait_idle_needs_no_lock_and_times_out(sqlite_settings: Settings) -> None:
    with AraOfflineClient(settings=sqlite_settings) as client:
        sender = Sender(client)
        release = threading.Event()

        def slow() -> dict[str, Any]:
            release.wait(5)
            return {"ansible_version": "2.17", "path": "/p.yml"}

        sender.submit(call("POST", "/api/v1/playbooks", body=slow))
        started = time.monotonic()
        assert not sender.wait_idle(timeout=0.2)
        assert time.monotonic() - started < 2
        release.set()
        assert sender.wait_idle(timeout=5)
        sender.stop()
        sender.submit(call("POST", "/api/v1/playbooks", body={"ansible_version": "2.17", "path": "/late.yml"}))
        sender.close(timeout=5)
        assert [p["path"] for p in client.get("/api/v1/playbooks")["results"]] == ["/p.yml"]


def test_plugins_reach_the_server_only_through_clients() -> None:
    code = "import sys, ara.plugins.shared, ara.plugins.sender; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(done.stdout.split())
    assert not {"sqlalchemy", "fastapi", "ara.server", "ara.db", "ara.records"} & loaded
    for source in Path(ara.plugins.__file__).parent.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in ("ara.db", "ara.server", "ara.records", "from ara import db"):
            assert forbidden not in text, f"{source} mentions {forbidden}"


def test_a_full_spool_drops_what_does_not_fit_and_counts_it(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    spool = SpoolWriter(tmp_path / "spool", endpoint, 2048)
    with AraHttpClient(endpoint=endpoint, timeout=2) as client:
        sender = Sender(client, spool=spool, retry_seconds=0)
        playbook, play, file, task, host = Ref(), Ref(), Ref(), Ref(), Ref()
        for item in playbook_calls(playbook, play, file):
            sender.submit(item)
        for n in range(50):
            sender.submit(result_call(playbook, play, task, host, n))
        sender.close(timeout=2)
    assert spool.dropped > 0 and spool.written + spool.dropped == 53
    (path,) = spool_files(tmp_path / "spool", endpoint)
    assert path.stat().st_size <= 2048

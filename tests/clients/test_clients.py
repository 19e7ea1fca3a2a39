"""Both clients share one implementation: same methods, same errors, usable from several threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ara.clients.base import AraClient
from ara.clients.child import CONNECT_WAIT
from ara.clients.errors import ApiError, ApiNotFound, BadRequest, ClientError, ConnectError
from ara.clients.http import AraHttpClient
from ara.clients.offline import AraOfflineClient
from ara.clients.utils import get_client
from ara.errors import NotFound, ValidationFailed
from tests.conftest import make_settings
from tests.support.server import free_port


def test_errors_carry_status_and_body(client: AraClient) -> None:
    with pytest.raises(ApiNotFound) as missing:
        client.get("/api/v1/tasks/5")
    assert isinstance(missing.value, NotFound) and isinstance(missing.value, ApiError)
    assert (missing.value.status_code, missing.value.body) == (404, {"detail": "Not found."})
    with pytest.raises(BadRequest) as invalid:
        client.post("/api/v1/labels")
    assert isinstance(invalid.value, ValidationFailed)
    assert invalid.value.body == {"name": ["This field is required."]}


def test_params_go_to_the_query_string(client: AraClient) -> None:
    client.post("/api/v1/playbooks", ansible_version="2", path="/one.yml", status="failed")
    client.post("/api/v1/playbooks", ansible_version="2", path="/two.yml", status="running")
    assert client.get("/api/v1/playbooks", status=["failed", "running"], limit=1)["count"] == 2
    assert client.get("/api/v1/playbooks", path="two", status=None)["results"][0]["path"] == "/two.yml"
    assert client.delete("/api/v1/playbooks/1") is None


def test_unreachable_server_is_a_transport_error() -> None:
    with AraHttpClient(endpoint=f"http://127.0.0.1:{free_port()}", timeout=2) as http:
        with pytest.raises(ConnectError) as caught:
            http.get("/api/v1/playbooks")
    assert isinstance(caught.value, ClientError)


def test_offline_client_is_safe_from_several_threads(tmp_path: Path) -> None:
    offline = AraOfflineClient(settings=make_settings(tmp_path))
    playbook = offline.post("/api/v1/playbooks", ansible_version="2", path="/threads.yml")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                offline.post("/api/v1/hosts", name=f"host-{n}-{i}", playbook=playbook["id"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert offline.get("/api/v1/hosts", playbook=playbook["id"])["count"] == 90
    offline.close()


def test_offline_client_can_skip_migrations(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    AraOfflineClient(settings=settings).close()  # creates the schema
    again = AraOfflineClient(settings=settings, run_sql_migrations=False)
    assert again.get("/api/v1/playbooks")["count"] == 0
    again.close()
    untouched = AraOfflineClient(settings=make_settings(tmp_path / "empty"), run_sql_migrations=False)
    with pytest.raises(ApiError):
        untouched.get("/api/v1/playbooks")
    untouched.close()


def test_get_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARA_BASE_DIR", str(tmp_path))
    from ara.settings import get_settings

    get_settings.cache_clear()
    try:
        offline = get_client("offline")
        assert isinstance(offline, AraOfflineClient)
        assert offline.get("/api/v1/playbooks")["count"] == 0
        offline.close()
        http = get_client("http", endpoint="http://127.0.0.1:9", username="u", password="p", verify=False)
        assert isinstance(http, AraHttpClient) and http.auth is not None
        http.close()
        with pytest.raises(ValueError, match="Unsupported API client"):
            get_client("carrier-pigeon")
        with pytest.raises(ValueError, match="key must be specified"):
            get_client("http", cert=str(tmp_path))
    finally:
        get_settings.cache_clear()


def test_isolated_offline_client_runs_the_api_in_a_child(tmp_path: Path) -> None:
    """Same database as the in-process client; the child ignores Ctrl-C (the callback still has a playbook to
    expire) and leaves when its parent closes the client."""
    import os
    import signal

    settings = make_settings(tmp_path)
    isolated = AraOfflineClient(settings=settings, isolate=True)
    playbook = isolated.post("/api/v1/playbooks", ansible_version="2", path="/child.yml")
    child = isolated._transport._process  # type: ignore[attr-defined]
    assert child is not None and child.pid != os.getpid()
    with AraOfflineClient(settings=settings) as local:
        assert local.get(f"/api/v1/playbooks/{playbook['id']}")["path"] == "/child.yml"

    os.kill(child.pid, signal.SIGINT)
    os.kill(child.pid, signal.SIGTERM)
    assert isolated.patch(f"/api/v1/playbooks/{playbook['id']}", status="expired")["status"] == "expired"
    isolated.close()
    assert child.poll() == 0


def test_isolated_offline_client_in_a_forked_process(tmp_path: Path) -> None:
    """An Ansible worker forked from the callback's process (``ara_record``) cannot share the child's pipes: it
    serves its own requests, and the parent's child process goes on answering the parent."""
    import os

    isolated = AraOfflineClient(settings=make_settings(tmp_path), isolate=True)
    playbook = isolated.post("/api/v1/playbooks", ansible_version="2", path="/fork.yml")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            record = isolated.post("/api/v1/records", playbook=playbook["id"], key="k", value="v", type="text")
            os.write(write, str(record["id"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    record_id = os.read(read, 100).decode()
    os.close(read)
    assert record_id and isolated.get(f"/api/v1/records/{record_id}")["value"] == "v"
    isolated.close()


_FORKED_WORKERS = """
import json, os, sys, time
from pathlib import Path
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings


def say(line):  # one write(2) of a whole line: the forked workers print at once (print writes text and end apart)
    os.write(1, (json.dumps(line) + "\\n").encode())


settings = Settings(base_dir=Path(sys.argv[1]))
migrating = AraOfflineClient(settings=settings, isolate=True)  # the database, migrated by a child of its own
migrating.get("/api/v1/playbooks")
migrating.close()
isolated = AraOfflineClient(settings=settings, isolate=True)
early = os.fork()  # before the child exists: this worker serves itself
if early == 0:
    found = isolated.get("/api/v1/playbooks")["count"]
    say({"early": found, "early_server": "ara.server.app" in sys.modules})
    os._exit(0)
os.waitpid(early, 0)
playbook = isolated.post("/api/v1/playbooks", ansible_version="2", path="/fork.yml")
workers = []
for number in range(3):  # like Ansible's forks: several at once, each with its own connection to the child
    pid = os.fork()
    if pid == 0:
        started = time.monotonic()
        isolated._transport._connected()  # reaching the child, or finding there is none to reach
        waited = time.monotonic() - started
        record = isolated.post("/api/v1/records", playbook=playbook["id"], key=f"k{number}", value="v", type="text")
        loaded = "ara.server.app" in sys.modules
        say({"record": record["id"], "server": loaded, "waited": waited})
        os._exit(0)
    workers.append(pid)
for pid in workers:
    os.waitpid(pid, 0)
keys = sorted(r["key"] for r in isolated.get("/api/v1/records", playbook=playbook["id"])["results"])
isolated.close()
say({"keys": keys, "socket": getattr(isolated._transport, "_socket", None)})
"""


@pytest.mark.parametrize("socket_path", ["short", "too-long"])
def test_forked_workers_reach_the_parents_child_without_loading_the_server(tmp_path: Path, socket_path: str) -> None:
    """An Ansible worker running ``ara_record`` talks to the callback's child over its socket: it neither imports
    nor builds the API (that cost about two seconds a task); one forked before the child existed serves itself,
    and so does one whose child could not listen (a TMPDIR too deep for a socket's path), without waiting."""
    script = tmp_path / "workers.py"
    script.write_text(_FORKED_WORKERS)
    temp = tmp_path / ("t" * 100 if socket_path == "too-long" else "t")
    temp.mkdir()
    argv = [sys.executable, str(script), str(tmp_path / "ara")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {"early": 0, "early_server": True}
    workers = lines[1:-1]
    assert len(workers) == 3 and all(worker["server"] == (socket_path == "too-long") for worker in workers), workers
    assert all(worker["waited"] < CONNECT_WAIT / 2 for worker in workers), workers  # none waited for a socket in vain
    assert len({worker["record"] for worker in workers}) == 3
    assert lines[-1]["keys"] == ["k0", "k1", "k2"]
    assert lines[-1]["socket"] and not Path(lines[-1]["socket"]).parent.exists()  # removed with the child


def test_isolated_offline_client_whose_child_died(tmp_path: Path) -> None:
    from ara.clients.errors import TransportError

    isolated = AraOfflineClient(settings=make_settings(tmp_path), isolate=True)
    isolated.get("/api/v1/playbooks")
    isolated._transport._process.kill()  # type: ignore[attr-defined]
    with pytest.raises(TransportError):
        isolated.get("/api/v1/playbooks")
    isolated.close()

"""Nothing lost, nothing duplicated, whatever the server does: real ``ara server`` processes (SIGKILLed and
restarted on the same port), real ``ansible-playbook`` runs, the callback over HTTP, its spool on disk."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ara.clients.http import AraHttpClient
from ara.settings import Settings
from tests.support.ansible import ansible_env, run_playbook, start_playbook
from tests.support.server import ServerProcess

pytestmark = pytest.mark.ansible

HOSTS = 5


def write_playbook(directory: Path, tasks: int) -> tuple[Path, Path]:
    """A playbook of ``tasks`` debug tasks on ``HOSTS`` local hosts, and its inventory."""
    directory.mkdir(parents=True, exist_ok=True)
    inventory = directory / "hosts.yml"
    hosts = {f"node{n}": {"ansible_connection": "local"} for n in range(HOSTS)}
    inventory.write_text(
        json.dumps({"all": {"vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, "hosts": hosts}})
    )
    playbook = directory / "many.yml"
    body = [{"name": f"task {n}", "ansible.builtin.debug": {"msg": f"step {n}"}} for n in range(tasks)]
    playbook.write_text(json.dumps([{"name": "many", "hosts": "all", "gather_facts": False, "tasks": body}]))
    return playbook, inventory


def http_env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    env = ansible_env(tmp_path, client="http", server=url)
    env.update(ARA_API_RETRY_SECONDS="0.5", **extra)
    return env


def recorded(url: str) -> tuple[list[dict], list[tuple[int, int]]]:
    """Playbooks, and (task, host) of every result."""
    with AraHttpClient(endpoint=url) as client:
        playbooks = client.get("/api/v1/playbooks", limit=100)["results"]
        results = client.get("/api/v1/results", limit=10_000)["results"]
    return playbooks, [(r["task"], r["host"]) for r in results]


def assert_recorded_once(url: str, tasks: int, status: str = "completed") -> None:
    playbooks, pairs = recorded(url)
    assert [p["status"] for p in playbooks] == [status]
    assert len(pairs) == tasks * HOSTS and len(set(pairs)) == len(pairs), "a result is missing or duplicated"
    with AraHttpClient(endpoint=url) as client:
        assert client.get("/api/v1/tasks")["count"] == tasks
        assert client.get("/api/v1/hosts")["count"] == HOSTS


def ara(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from ara.cli.main import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def spooled(tmp_path: Path) -> list[Path]:
    directory = tmp_path / "spool"
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def test_server_killed_mid_run_and_restarted_loses_and_duplicates_nothing(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    tasks = 40
    playbook, inventory = write_playbook(tmp_path / "play", tasks)
    with ServerProcess(sqlite_settings).start() as server:
        process = start_playbook(
            str(playbook), http_env(tmp_path, server.url, ARA_END_TIMEOUT="60"), inventory=inventory
        )
        try:
            assert process.stdout is not None
            for line in process.stdout:  # Ansible's own progress: kill the server at about half-way
                if line.startswith(f"TASK [task {tasks // 2}]"):
                    break
            server.kill()
            time.sleep(3)
            server.start()
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, stdout + stderr
        assert_recorded_once(server.url, tasks)
    assert spooled(tmp_path) == []


def test_server_down_for_the_whole_run_then_spool_replay(tmp_path: Path, sqlite_settings: Settings) -> None:
    tasks = 10
    playbook, inventory = write_playbook(tmp_path / "play", tasks)
    server = ServerProcess(sqlite_settings)  # not started: nothing listens on its port
    run = run_playbook(str(playbook), http_env(tmp_path, server.url, ARA_END_TIMEOUT="1"), inventory=inventory)
    assert run.returncode == 0, run.output
    assert "ara spool replay" in run.output
    (spool,) = spooled(tmp_path)
    calls = len(spool.read_text().splitlines()) - 1  # every line but the header
    assert calls > tasks * HOSTS

    cli_env = {**http_env(tmp_path, server.url), "ARA_API_CLIENT": "http", "ARA_API_SERVER": server.url}
    down = ara(cli_env, "spool", "replay")
    assert down.returncode == 2 and down.stderr.count("Error:") == 1, down.stderr
    assert spool.exists()

    with server.start():
        first = ara(cli_env, "spool", "replay")
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(f"{calls} calls sent from 1 spool files"), first.stdout
        assert not spool.exists()
        second = ara(cli_env, "spool", "replay")
        assert second.returncode == 0 and second.stdout.startswith("0 calls sent"), second.stdout
        assert_recorded_once(server.url, tasks)


def test_the_next_callback_start_replays_an_earlier_spool(tmp_path: Path, sqlite_settings: Settings) -> None:
    tasks = 5
    playbook, inventory = write_playbook(tmp_path / "play", tasks)
    server = ServerProcess(sqlite_settings)
    env = http_env(tmp_path, server.url, ARA_END_TIMEOUT="1")
    assert run_playbook(str(playbook), env, inventory=inventory).returncode == 0
    assert len(spooled(tmp_path)) == 1
    with server.start():
        env["ARA_END_TIMEOUT"] = "60"
        second = run_playbook(str(playbook), env, inventory=inventory)
        assert second.returncode == 0, second.output
        playbooks, pairs = recorded(server.url)
        assert [p["status"] for p in playbooks] == ["completed", "completed"]
        assert len(pairs) == 2 * tasks * HOSTS and len(set(pairs)) == len(pairs)
    assert spooled(tmp_path) == []


def test_a_silent_running_playbook_expires_and_a_late_replay_completes_it(
    tmp_path: Path, sqlite_settings: Settings
) -> None:
    tasks = 30
    playbook, inventory = write_playbook(tmp_path / "play", tasks)
    quick = {"ARA_RECORDS__EXPIRE_SILENT_AFTER_SECONDS": "2"}
    with ServerProcess(sqlite_settings, env=quick).start() as server:
        env = http_env(tmp_path, server.url, ARA_END_TIMEOUT="1")
        process = start_playbook(str(playbook), env, inventory=inventory)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("TASK [task 10]"):
                    break
            server.kill()
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 0, stdout + stderr
        assert len(spooled(tmp_path)) == 1
        server.start()
        with AraHttpClient(endpoint=server.url) as client:
            (recorded_playbook,) = client.get("/api/v1/playbooks")["results"]  # running, or expired already
            wait_for(
                lambda: client.get(f"/api/v1/playbooks/{recorded_playbook['id']}")["status"] == "expired",
                "the silent playbook to expire",
            )
            assert client.get("/api/v1/plays", status="running")["count"] == 0
            assert client.get("/api/v1/tasks", status="running")["count"] == 0
        replay = ara({**env, "ARA_API_SERVER": server.url}, "spool", "replay")
        assert replay.returncode == 0, replay.stderr
        assert_recorded_once(server.url, tasks)


class ResettingProxy:
    """A TCP proxy to ``upstream`` that resets one client connection at the ``nth`` ``POST /api/v1/results``:
    before forwarding it (``mid-request``) or once the server has answered it (``after-answer``: the result is
    recorded but the client never hears so)."""

    def __init__(self, upstream_port: int, mode: str, nth: int) -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.nth = nth
        self.seen = 0
        self.fired = False
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            drop_answer = threading.Event()
            threading.Thread(target=self._up, args=(client, upstream, drop_answer), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, drop_answer), daemon=True).start()

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()

    def _up(self, client: socket.socket, upstream: socket.socket, drop_answer: threading.Event) -> None:
        try:
            while data := client.recv(65536):
                with self._lock:
                    trigger = False
                    if not self.fired and b"POST /api/v1/results" in data:
                        self.seen += 1
                        trigger = self.fired = self.seen == self.nth
                if trigger and self.mode == "mid-request":
                    self._reset(client)
                    upstream.close()
                    return
                if trigger:
                    drop_answer.set()
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _down(self, upstream: socket.socket, client: socket.socket, drop_answer: threading.Event) -> None:
        try:
            while data := upstream.recv(65536):
                if drop_answer.is_set():
                    self._reset(client)
                    return
                client.sendall(data)
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        self.listener.close()


@contextmanager
def resetting_proxy(port: int, mode: str, nth: int) -> Iterator[ResettingProxy]:
    proxy = ResettingProxy(port, mode, nth)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.mark.parametrize("mode", ["mid-request", "after-answer"])
def test_a_reset_connection_loses_and_duplicates_nothing(mode: str, tmp_path: Path, sqlite_settings: Settings) -> None:
    tasks = 8
    playbook, inventory = write_playbook(tmp_path / "play", tasks)
    with ServerProcess(sqlite_settings).start() as server, resetting_proxy(server.port, mode, nth=12) as proxy:
        run = run_playbook(str(playbook), http_env(tmp_path, proxy.url), inventory=inventory)
        assert run.returncode == 0, run.output
        assert proxy.fired
        assert_recorded_once(server.url, tasks)
    assert spooled(tmp_path) == []
    assert run.ara_warnings() == [], run.output


def test_insecure_means_the_same_in_the_cli_and_the_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    from ara.cli.options import resolve_client_settings
    from ara.plugins.shared import client_from_environment

    monkeypatch.setenv("ARA_API_CLIENT", "http")
    for value, verify in (("y", False), ("yes", False), ("1", False), ("n", True), ("false", True)):
        monkeypatch.setenv("ARA_API_INSECURE", value)
        cli_client = resolve_client_settings({}, {}).connect()
        plugin_client = client_from_environment({"ARA_API_CLIENT": "http", "ARA_API_INSECURE": value})
        env_client = client_from_environment()
        try:
            assert cli_client.verify is plugin_client.verify is env_client.verify is verify, value  # type: ignore[attr-defined]
            assert cli_client.endpoint == plugin_client.endpoint == "http://127.0.0.1:8000"
        finally:
            for client in (cli_client, plugin_client, env_client):
                client.close()


def test_the_server_keeps_an_idle_connection_longer_than_the_client(sqlite_settings: Settings) -> None:
    """uvicorn's default closes idle connections after 5 s, which races httpx's 5 s; ``ara server`` keeps them
    for ``ARA_SERVER__KEEP_ALIVE_SECONDS`` (65 s), longer than Ara's client keeps them (1.5 s)."""
    from ara.clients.base import KEEPALIVE_SECONDS

    assert KEEPALIVE_SECONDS < sqlite_settings.server.keep_alive_seconds
    with ServerProcess(sqlite_settings).start() as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/api")
            first = connection.getresponse()
            first.read()  # the whole answer, so the connection is free for the next request
            assert first.status == 200
            sock = connection.sock
            time.sleep(6)  # idle past uvicorn's default keep-alive
            connection.request("GET", "/api")  # a connection the server closed fails here (RemoteDisconnected)
            second = connection.getresponse()
            second.read()
            assert second.status == 200
            assert connection.sock is sock  # the same connection answered, not a new one
        finally:
            connection.close()

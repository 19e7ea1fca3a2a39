"""The callback when things go wrong: the run is interrupted, the server is down or answers errors."""

from __future__ import annotations

import contextlib
import http.server
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ara.clients.base import AraClient
from ara.clients.http import AraHttpClient
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.ansible import ansible_env, run_playbook, start_playbook
from tests.support.server import free_port, running_server

pytestmark = pytest.mark.ansible


@contextmanager
def recording(kind: str, tmp_path: Path, settings: Settings) -> Iterator[tuple[dict[str, str], AraClient]]:
    """Ansible's environment for the ``kind`` client, and a client reading what it records."""
    if kind == "offline":
        client: AraClient = AraOfflineClient(settings=settings)
        try:
            yield ansible_env(tmp_path, settings=settings), client
        finally:
            client.close()
    else:
        with running_server(settings) as url, AraHttpClient(endpoint=url) as http_client:
            yield ansible_env(tmp_path, client="http", server=url), http_client


@pytest.mark.parametrize("kind", ["offline", "http"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_is_expired(kind: str, sig: int, tmp_path: Path, sqlite_settings: Settings) -> None:
    if sig == signal.SIGTERM and kind == "http":
        pytest.skip("one client is enough for SIGTERM")
    with recording(kind, tmp_path, sqlite_settings) as (env, client):
        process = start_playbook("slow.yml", env)
        try:
            deadline = time.monotonic() + 60
            while not client.get("/api/v1/tasks", name="Sleep a while")["count"]:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the long task was never recorded"
                time.sleep(0.1)
            process.send_signal(sig)
            stdout, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode != 0
        (playbook,) = client.get("/api/v1/playbooks")["results"]
        assert playbook["status"] == "expired", stdout + stderr
        assert playbook["ended"] is not None
        # What was recorded before the signal is intact.
        (quick,) = client.get("/api/v1/tasks", name="Quick task")["results"]
        assert quick["status"] == "completed"
        assert client.get("/api/v1/results", task=quick["id"])["results"][0]["status"] == "ok"


class _AlwaysFails(http.server.BaseHTTPRequestHandler):
    def _fail(self) -> None:
        body = b'{"detail": "broken on purpose"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _fail

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def failing_server() -> contextlib.AbstractContextManager[str]:
    return serving(_AlwaysFails)


@contextmanager
def closed_port() -> Iterator[str]:
    yield f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("server", [closed_port, failing_server], ids=["server-down", "server-500"])
def test_broken_server_does_not_break_the_run(server: Any, tmp_path: Path) -> None:
    with server() as url:
        # A call is retried ARA_API_RETRY_SECONDS (5) before it is spooled, and the run's end waits ARA_END_TIMEOUT
        # (30) for a server that may come back: shorter waits show the same.
        waits = {"ARA_API_RETRY_SECONDS": "1", "ARA_END_TIMEOUT": "2"}
        run = run_playbook("lifecycle.yml", {**ansible_env(tmp_path, client="http", server=url), **waits})
    assert run.returncode == 0, run.output
    warnings = run.ara_warnings()
    assert len(warnings) == 1, run.output
    assert "callback plugin" not in run.output and "Traceback" not in run.output, run.output
    assert "PLAY RECAP" in run.stdout


@contextmanager
def proxy_refusing(upstream: str, needle: bytes) -> Iterator[str]:
    """Forwards to ``upstream`` but refuses (400) any POST whose body contains ``needle`` (a 5xx is retried)."""

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "POST" and needle in body:
                status, content = 400, b'{"detail": "refused on purpose"}'
            else:
                headers = {"Content-Type": "application/json"} if body else {}
                answer = httpx.request(self.command, upstream + self.path, content=body or None, headers=headers)
                status, content = answer.status_code, answer.content
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Proxy) as url:
        yield url


def test_a_refused_task_loses_only_its_own_results(tmp_path: Path, sqlite_settings: Settings) -> None:
    """The server refuses to create one task: its results are skipped, everything else is recorded."""
    with running_server(sqlite_settings) as upstream, proxy_refusing(upstream, b'"name": "Loop with loop"') as url:
        run = run_playbook("lifecycle.yml", ansible_env(tmp_path, client="http", server=url))
        with AraHttpClient(endpoint=upstream) as client:
            (playbook,) = client.get("/api/v1/playbooks")["results"]
            tasks = client.get("/api/v1/tasks", limit=100)["results"]
            results = client.get("/api/v1/results", limit=100)["results"]
    assert run.returncode == 0, run.output
    assert len(run.ara_warnings()) == 1, run.output
    assert playbook["status"] == "completed"
    assert "Loop with loop" not in {task["name"] for task in tasks}
    assert len(tasks) == 17 and len(results) == 33  # one task and its three results fewer than a clean run
    task_ids = {task["id"] for task in tasks}
    assert all(result["task"] in task_ids for result in results)

"""``ara server``: serves on loopback by default, refuses an open address while writes need no login."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.server import free_port

ARA = [sys.executable, "-c", "from ara.cli.main import main; main()"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    return {**env, "ARA_BASE_DIR": str(tmp_path), **extra}


def test_serves_the_api_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([*ARA, "server", "--port", str(port)], env=_env(tmp_path), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/playbooks", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}
        assert (tmp_path / "ansible.sqlite").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        log.close()


def test_the_access_log_has_one_line_per_request_without_its_query_string(tmp_path: Path) -> None:
    """Callers put what must not be written down in query strings (ara-sdk's device login ``poll_token``)."""
    port = free_port()
    log_path = tmp_path / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([*ARA, "server", "--port", str(port)], env=_env(tmp_path), stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthcheck", timeout=10)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        secret = "poll-secret-4f1c2a"
        status = httpx.get(f"{url}/auth/cli/device/status", params={"poll_token": secret}, timeout=10).status_code
        httpx.get(f"{url}/api/v1/playbooks", params={"name": secret}, timeout=10).raise_for_status()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        log.close()
    lines = log_path.read_text().splitlines()
    assert any(f'"GET /auth/cli/device/status HTTP/1.1" {status}' in line for line in lines), lines
    assert any('"GET /api/v1/playbooks HTTP/1.1" 200' in line for line in lines), lines
    assert secret not in log_path.read_text()


def test_refuses_an_open_address_when_writes_need_no_login(tmp_path: Path) -> None:
    refused = subprocess.run([*ARA, "server", "--host", "0.0.0.0"], env=_env(tmp_path), capture_output=True, text=True)
    assert refused.returncode == 2
    assert "Refusing to listen on 0.0.0.0" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_open_address_needs_an_admin_password(tmp_path: Path) -> None:
    args = [*ARA, "server", "--host", "0.0.0.0", "--allow-open-writes", "--port", str(free_port())]
    refused = subprocess.run(args, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "ARA_AUTH__ADMIN_PASSWORD" in refused.stderr and "Traceback" not in refused.stderr

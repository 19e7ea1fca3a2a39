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

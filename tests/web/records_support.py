"""What the records tests share: playbooks recorded by the real ``ansible-playbook`` through our callback
(http client) into a test site, and a long one started in the background to watch live."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.support.ansible import ansible_env, run_playbook, start_playbook

LIVE = Path(__file__).resolve().parent / "playbooks" / "live.yml"


def record_failures(url: str, tmp: Path) -> int:
    """Runs ``failures.yml`` (an unreachable host, then ``/bin/false`` failing on localhost); its playbook id."""
    run = run_playbook("failures.yml", ansible_env(tmp, client="http", server=url))
    assert run.returncode in (2, 4), run.output
    found = httpx.get(f"{url}/api/v1/playbooks", params={"path": "failures.yml", "order": "-id"}).json()
    return int(found["results"][0]["id"])


def start_live(url: str, tmp: Path) -> subprocess.Popen[str]:
    return start_playbook(str(LIVE), ansible_env(tmp, client="http", server=url))


def wait_for_running(url: str, *, timeout: float = 60) -> int:
    """The id of the live playbook once the callback recorded it as running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = httpx.get(f"{url}/api/v1/playbooks", params={"path": "live.yml", "status": "running"}).json()
        if found["results"]:
            return int(found["results"][0]["id"])
        time.sleep(0.2)
    raise AssertionError("the live playbook was never recorded as running")


def finish(process: subprocess.Popen[str], *, timeout: float = 120) -> int:
    try:
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()

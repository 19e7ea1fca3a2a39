"""Helpers of the accounts tests: a logged-in ``httpx`` client of the UI (the login form, its CSRF token), a
PKCE pair, and a device login started the way ``ara-sdk`` starts one."""

from __future__ import annotations

import base64
import hashlib
import queue
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.web.conftest import Site, form_login


@contextmanager
def ui_client(site: Site, username: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client logged in through the form, and its CSRF token for later forms."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        yield client, form_login(client, username, site.password)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def start_login(site: Site, challenge: str, timeout_seconds: int = 180) -> dict[str, Any]:
    body = {"provider": "google", "code_challenge": challenge, "code_challenge_method": "s256"}
    answer = httpx.post(f"{site.url}/auth/cli/device/start", json=body | {"timeout_seconds": timeout_seconds})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def poll(site: Site, started: dict[str, Any], poll_token: str | None = None) -> httpx.Response:
    params = {"session_id": started["session_id"], "poll_token": poll_token or started["poll_token"]}
    return httpx.get(f"{site.url}/auth/cli/device/status", params=params)


def decide(client: httpx.Client, csrf: str, started: dict[str, Any], decision: str) -> httpx.Response:
    path = "/ui/device/" + started["session_id"]
    return client.post(path, data={"decision": decision, "csrf_token": csrf})


class LoginProcess:
    """A CLI's ``auth login`` running as a real process: its output is read line by line as it comes (the link
    is printed before the command waits), with a deadline rather than a blocking read."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, env=env | {"PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def link(self, timeout: float = 60) -> str:
        """The approval link the CLI printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            found = re.search(r"https?://\S+/ui/device/\S+", line)
            if found:
                return found.group(0)
        self.process.kill()
        self.process.wait(timeout=30)
        raise AssertionError("no approval link printed: " + "".join(self.seen) + self.stderr())

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        """Exit code, the rest of stdout, stderr."""
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.process.kill()  # only if still running: a hung login fails the test, never the session
        rest: list[str] = []
        while (line := self.lines.get(timeout=10)) is not None:
            rest.append(line)
        return code, "".join(rest), self.stderr()

    def stderr(self) -> str:
        """All of stderr once the process has ended (then both pipes are closed); empty before."""
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None and self.process.stdout is not None
        text = self.process.stderr.read()
        self.process.stderr.close()
        self.process.stdout.close()
        return text

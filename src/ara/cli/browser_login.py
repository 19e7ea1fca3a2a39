"""``ara auth login`` without ``--api-key``: the server's device flow, as ``ara-sdk``'s ``--auth-flow poll`` runs
it (``ara.users.device_logins`` has the server's side). The CLI shows a link, a person approves it in the
browser, the CLI trades the code and its PKCE verifier for a short-lived access token, then turns that into a
lasting API key with ``POST /apps/api-key/rotate`` (which revokes the access token and, with it, its refresh
token), so the credentials file holds a plain key, as ``--api-key`` stores it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import webbrowser
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from ara_sdk import AraSdkError
from ara_sdk.http import Http


class LoginFailed(AraSdkError):
    """Denied in the browser, expired, or the server's answer was incomplete."""


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode("ascii").rstrip("=")


def _call(base_url: str, key: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    http = Http(base_url, key)
    try:
        answer = http.request(method, path, body=body)
    finally:
        http.close()
    if not isinstance(answer, dict):
        raise LoginFailed(f"{method} {path}: the server's answer is not a JSON object")
    return answer


def _wait_for_code(base_url: str, start: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll ``/auth/cli/device/status`` until the login is decided; the approved answer (code, redirect_uri)."""
    query = "?" + urlencode({"session_id": start["session_id"], "poll_token": start["poll_token"]})
    interval = max(1, min(10, int(start.get("interval_seconds") or 2)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _call(base_url, "", "GET", "/auth/cli/device/status" + query)
        state = str(status.get("status") or "")
        if state == "approved":
            return status
        if state in ("denied", "error", "failed"):
            raise LoginFailed(f"the login was denied: {status.get('error_description') or state}")
        if state in ("expired", "consumed"):
            raise LoginFailed(f"the login request {state}: run `ara auth login` again")
        time.sleep(interval)
    raise LoginFailed("no approval before the timeout: run `ara auth login` again, or use --api-key")


def browser_login(
    base_url: str, *, open_browser: bool, timeout: float, show: Callable[[str], None]
) -> tuple[str, dict[str, Any]]:
    """Runs the whole flow: the new API key and the user it belongs to (``{id, email}``)."""
    config = _call(base_url, "", "GET", "/auth/cli/config")
    token_url = str(config.get("supabase_url") or base_url)
    verifier = secrets.token_urlsafe(64)
    body = {"provider": "ara", "code_challenge": _challenge(verifier), "code_challenge_method": "s256"}
    start = _call(base_url, "", "POST", "/auth/cli/device/start", body | {"timeout_seconds": int(timeout)})
    link = str(start.get("authorize_url") or start.get("verification_uri") or "")
    if not (link and start.get("session_id") and start.get("poll_token")):
        raise LoginFailed("the server's answer to /auth/cli/device/start is incomplete")
    show(f"Open this link to approve the login:\n{link}")
    if open_browser:
        webbrowser.open(link)
    approved = _wait_for_code(base_url, start, timeout)
    exchange = {
        "auth_code": approved.get("auth_code"),
        "code_verifier": verifier,
        "redirect_uri": approved.get("redirect_uri"),
    }
    issued = _call(token_url, "", "POST", "/auth/v1/token?grant_type=pkce", exchange)
    access = str(issued.get("access_token") or "")
    if not access:
        raise LoginFailed("the token exchange returned no access_token")
    rotated = _call(base_url, access, "POST", "/apps/api-key/rotate")
    key = str(rotated.get("api_key") or "")
    if not key:
        raise LoginFailed("the server returned no api_key")
    user = issued.get("user") if isinstance(issued.get("user"), dict) else {}
    return key, {"id": str(user.get("id") or ""), "email": str(user.get("email") or "")}

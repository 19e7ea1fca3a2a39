"""The CLI's browser login on the wire (no browser: the approval is the page's form posted by httpx): PKCE is
checked, a code works once, denial and expiry reach the poller, refresh rotates both tokens, and our own
``ara auth login`` without ``--api-key`` stores a lasting key."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import update

from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from ara.users.models import DeviceLogin
from tests.web.accounts_support import LoginProcess, decide, pkce_pair, poll, start_login, ui_client
from tests.web.conftest import Site


def _whoami(site: Site, token: str) -> httpx.Response:
    return httpx.get(f"{site.url}/auth/cli/whoami", headers={"Authorization": f"Bearer {token}"})


def _exchange(site: Site, grant: str, body: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{site.url}/auth/v1/token", params={"grant_type": grant}, json=body)


def test_config_names_this_server_and_start_checks_the_challenge(site: Site) -> None:
    config = httpx.get(f"{site.url}/auth/cli/config").json()
    assert config["supabase_url"] == config["api_base_url"] == site.url and config["supabase_anon_key"]
    bad = httpx.post(f"{site.url}/auth/cli/device/start", json={"code_challenge": "short"})
    assert bad.status_code == 400 and "code_challenge" in bad.json()["error"]["detail"]
    _verifier, challenge = pkce_pair()
    plain = httpx.post(
        f"{site.url}/auth/cli/device/start", json={"code_challenge": challenge, "code_challenge_method": "plain"}
    )
    assert plain.status_code == 400 and "code_challenge_method" in plain.json()["error"]["detail"]


def test_approved_login_pkce_one_use_code_and_refresh(site: Site) -> None:
    verifier, challenge = pkce_pair()
    started = start_login(site, challenge)
    assert started["authorize_url"] == f"{site.url}/ui/device/{started['session_id']}"
    assert poll(site, started).json() == {"status": "pending"}
    assert poll(site, started, poll_token="ara_poll_wrong").status_code == 404
    with ui_client(site, "alice") as (client, csrf):
        assert "alice" in client.get(f"/ui/device/{started['session_id']}").text
        assert decide(client, csrf, started, "approve").status_code == 200
        again = decide(client, csrf, started, "deny")  # decided once only
        assert again.status_code == 409
    approved = poll(site, started).json()
    assert approved["status"] == "approved" and approved["auth_code"] and approved["redirect_uri"]
    code = {"auth_code": approved["auth_code"], "redirect_uri": approved["redirect_uri"]}

    other_verifier, _ = pkce_pair()
    mismatch = _exchange(site, "pkce", code | {"code_verifier": other_verifier})
    assert mismatch.status_code == 400 and "code_verifier" in mismatch.json()["error"]["detail"]
    issued = _exchange(site, "pkce", code | {"code_verifier": verifier})
    assert issued.status_code == 200, issued.text
    tokens = issued.json()
    assert tokens["user"]["email"] == "alice" and 0 < tokens["expires_in"] <= 3600
    assert tokens["expires_at"] > time.time()
    assert _whoami(site, tokens["access_token"]).json()["user"]["username"] == "alice"

    used_twice = _exchange(site, "pkce", code | {"code_verifier": verifier})
    assert used_twice.status_code == 400 and "auth_code" in used_twice.json()["error"]["detail"]
    assert poll(site, started).json()["status"] == "consumed"

    renewed = _exchange(site, "refresh_token", {"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["access_token"] != tokens["access_token"] and fresh["refresh_token"] != tokens["refresh_token"]
    assert _whoami(site, tokens["access_token"]).status_code == 401  # the old pair is gone
    assert _exchange(site, "refresh_token", {"refresh_token": tokens["refresh_token"]}).status_code == 400
    assert _whoami(site, fresh["access_token"]).status_code == 200
    assert _exchange(site, "password", {}).status_code == 400  # only pkce and refresh_token


def test_a_denied_login_tells_the_poller_and_gives_no_code(site: Site) -> None:
    _verifier, challenge = pkce_pair()
    started = start_login(site, challenge)
    with ui_client(site, "bob") as (client, csrf):
        page = decide(client, csrf, started, "deny")
    assert page.status_code == 200 and "Denied" in page.text
    status = poll(site, started).json()
    assert status["status"] == "denied" and status["error_description"] and "auth_code" not in status


def test_an_unapproved_login_expires(site: Site) -> None:
    _verifier, challenge = pkce_pair()
    started = start_login(site, challenge, timeout_seconds=30)
    assert poll(site, started).json()["status"] == "pending"
    engine = make_engine(site.settings)  # its 30 s pass: the deadline is moved rather than waited for
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            past = utcnow() - dt.timedelta(seconds=1)
            session.execute(update(DeviceLogin).where(DeviceLogin.id == started["session_id"]).values(expires=past))
    finally:
        engine.dispose()
    assert poll(site, started).json()["status"] == "expired"
    with ui_client(site, "alice") as (client, csrf):
        assert client.get(f"/ui/device/{started['session_id']}").status_code == 410
        assert decide(client, csrf, started, "approve").status_code == 410
        assert client.get("/ui/device/no-such-login").status_code == 404
    assert poll(site, started).json()["status"] == "expired"


def test_the_approval_page_needs_a_login_and_the_csrf_token(site: Site) -> None:
    _verifier, challenge = pkce_pair()
    started = start_login(site, challenge)
    anonymous = httpx.get(f"{site.url}/ui/device/{started['session_id']}")
    assert anonymous.status_code == 303 and "/ui/login?next=" in anonymous.headers["location"]
    with ui_client(site, "alice") as (client, _csrf):
        forged = client.post(f"/ui/device/{started['session_id']}", data={"decision": "approve"})
    assert forged.status_code == 403
    assert poll(site, started).json()["status"] == "pending"


def _our_login(site: Site, home: Path) -> LoginProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")} | {"HOME": str(home), "BROWSER": "false"}
    argv = [sys.executable, "-c", "from ara.cli.main import main; main()", "auth", "login", "--no-browser"]
    return LoginProcess([*argv, "--api-base-url", site.url], env)


def test_our_cli_says_when_the_login_was_denied(site: Site, tmp_path: Path) -> None:
    login = _our_login(site, tmp_path)
    link = login.link()
    with ui_client(site, "bob") as (client, csrf):
        assert decide(client, csrf, {"session_id": link.rsplit("/", 1)[1]}, "deny").status_code == 200
    code, out, err = login.finish()
    assert code == 2 and err.startswith("Error: the login was denied") and "Traceback" not in err
    assert not (tmp_path / ".ara" / "credentials.json").exists()


def test_our_cli_logs_in_through_the_browser_flow(site: Site, tmp_path: Path) -> None:
    """``ara auth login --no-browser``: it prints the link, the link is approved (here by the page's form), and
    a lasting key (not the short-lived access token) is stored as ``--api-key`` stores one."""
    login = _our_login(site, tmp_path)
    link = login.link()
    with ui_client(site, "carol") as (client, csrf):
        assert decide(client, csrf, {"session_id": link.rsplit("/", 1)[1]}, "approve").status_code == 200
    code, out, err = login.finish()
    assert code == 0, out + err
    answer = json.loads(out[out.index("{") :])
    assert answer["status"] == "logged_in" and answer["user"]["email"] == "carol"
    stored = json.loads((tmp_path / ".ara" / "credentials.json").read_text())
    assert stored["auth_type"] == "cli_api_key" and stored["api_base_url"] == site.url
    assert _whoami(site, stored["api_key"]).json()["user"]["username"] == "carol"
    with ui_client(site, "carol") as (client, _csrf):
        keys = client.get("/ui/account").text
    assert "CLI login" in keys and "never" in keys  # the key it holds does not expire

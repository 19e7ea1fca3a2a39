"""Accounts in Chromium: the real ``ara-sdk`` CLI's browser login approved on our page, an invitation accepted
by a new person, and API keys made (shown once) and revoked on ``/ui/account``. Each page is screenshotted."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in, screenshot
from tests.support.sdk_venv import SDK_VERSIONS, ensure_sdk_venv
from tests.web.accounts_support import LoginProcess, ui_client
from tests.web.conftest import Site

MANIFEST = Path(__file__).resolve().parents[1] / "apps" / "data" / "control_manifest.json"


def _whoami(site: Site, token: str) -> httpx.Response:
    return httpx.get(f"{site.url}/auth/cli/whoami", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("version", SDK_VERSIONS)
def test_the_real_sdk_cli_logs_in_when_the_link_is_approved(
    site: Site, page: Page, tmp_path: Path, version: str
) -> None:
    venv = ensure_sdk_venv(version)
    env = venv.environ(HOME=str(tmp_path), BROWSER="false")
    argv = [str(venv.ara), "auth", "login", "--auth-flow", "poll", "--no-browser", "--api-base-url", site.url]
    login = LoginProcess(argv, env)
    link = login.link()
    assert link.startswith(f"{site.url}/ui/device/")

    log_in(page, site.url, "bob", site.password)
    page.goto(link)
    expect(page.get_by_role("heading", name="Command-line login")).to_be_visible()
    expect(page.get_by_text("asks to act as bob")).to_be_visible()
    screenshot(page, f"device-login-approve-sdk-{version}")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Approved", timeout=30_000)
    screenshot(page, f"device-login-approved-sdk-{version}")

    code, out, err = login.finish()
    assert code == 0, out + err
    stored = json.loads((tmp_path / ".ara" / "credentials.json").read_text())
    assert stored["auth_type"] == "supabase_jwt" and stored["supabase_url"] == site.url
    assert stored["user"]["email"] == "bob"
    whoami = subprocess.run([str(venv.ara), "auth", "whoami"], env=env, capture_output=True, text=True, timeout=60)
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"]["email"] == "bob"

    # An access token about to expire: the SDK refreshes it with our /auth/v1/token (refresh_token) on its own.
    old = dict(stored)
    stored["expires_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    (tmp_path / ".ara" / "credentials.json").write_text(json.dumps(stored))
    again = subprocess.run([str(venv.ara), "auth", "whoami"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["user"]["email"] == "bob"
    renewed = json.loads((tmp_path / ".ara" / "credentials.json").read_text())
    assert renewed["access_token"] != old["access_token"] and renewed["refresh_token"] != old["refresh_token"]
    assert _whoami(site, old["access_token"]).status_code == 401

    # Our own CLI shares that login (one credentials file) and renews it the same way.
    renewed["expires_at"] = stored["expires_at"]
    (tmp_path / ".ara" / "credentials.json").write_text(json.dumps(renewed))
    ours_env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")} | {"HOME": str(tmp_path)}
    ours = subprocess.run(
        [sys.executable, "-c", "from ara.cli.main import main; main()", "auth", "whoami"],
        env=ours_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout)["user"]["username"] == "bob"
    assert json.loads(ours.stdout)["auth_source"] == "supabase_jwt"
    latest = json.loads((tmp_path / ".ara" / "credentials.json").read_text())
    assert (
        latest["access_token"] != renewed["access_token"] and _whoami(site, latest["access_token"]).status_code == 200
    )


def test_an_invitation_is_accepted_by_a_new_person(site: Site, page: Page) -> None:
    admin = httpx.Client(base_url=site.url, auth=("admin", site.password), timeout=30)
    with admin:
        manifest = json.loads(MANIFEST.read_text()) | {"slug": "invite-demo"}
        created = admin.post("/apps", json=manifest)
        assert created.status_code == 201, created.text
        app_id = created.json()["app"]["id"]
        invited = admin.post(f"/apps/{app_id}/invites", json={"email": "dora@example.org", "role": "operator"})
        assert invited.status_code == 201, invited.text
    invite = invited.json()["invite"]
    assert invite["accept_url"] == f"{site.url}/ui/invites/{invite['token']}"

    page.goto(invite["accept_url"])
    expect(page.get_by_role("heading", name=re.compile("Invitation to"))).to_be_visible()
    expect(page.get_by_text("dora@example.org").first).to_be_visible()
    screenshot(page, "invite")
    page.get_by_label(re.compile(r"^Password\W*$")).fill("a good long password")
    page.get_by_label("Password again").fill("a different password")
    page.get_by_role("button", name="Create account and accept").click()
    expect(page.get_by_text("the two passwords differ")).to_be_visible()
    screenshot(page, "invite-passwords-differ")
    page.get_by_label(re.compile(r"^Password\W*$")).fill("a good long password")
    page.get_by_label("Password again").fill("a good long password")
    page.get_by_role("button", name="Create account and accept").click()
    expect(page.get_by_role("status")).to_contain_text("You are now operator")
    expect(page.get_by_role("link", name="dora@example.org")).to_be_visible()  # logged in as the new account
    screenshot(page, "invite-accepted")

    with httpx.Client(base_url=site.url, auth=("dora@example.org", "a good long password")) as dora:
        apps = dora.get("/apps").json()["apps"]
    assert [(app["id"], app["role"]) for app in apps] == [(app_id, "operator")]
    used = httpx.get(invite["accept_url"])
    assert used.status_code == 410 and "accepted already" in used.text
    assert httpx.get(f"{site.url}/ui/invites/ara_inv_unknown").status_code == 404


def test_api_keys_are_shown_once_and_revoked(site: Site, page: Page) -> None:
    log_in(page, site.url, "carol", site.password)
    page.goto(f"{site.url}/ui/account")
    screenshot(page, "account")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    shown = page.locator(".key-value")
    expect(shown).to_have_text(re.compile(r"^ara_"))
    value = shown.inner_text()
    screenshot(page, "account-key-created")
    assert _whoami(site, value).json()["user"]["username"] == "carol"

    page.goto(f"{site.url}/ui/account")
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_be_visible()
    assert value not in page.content()  # shown once only
    page.get_by_role("button", name=re.compile("Revoke laptop")).click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.get_by_role("cell", name="laptop", exact=True)).to_have_count(0)
    screenshot(page, "account-key-revoked")
    assert _whoami(site, value).status_code == 401


def test_a_blank_key_name_is_refused_next_to_the_field(site: Site) -> None:
    with ui_client(site, "alice") as (client, csrf):
        made = client.post("/ui/account/keys", data={"name": "ci", "csrf_token": csrf})
        assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
        answer = client.post("/ui/account/keys", data={"name": "  ", "csrf_token": csrf})
        assert answer.status_code == 400 and "Give the key a name." in answer.text
        assert 'aria-invalid="true"' in answer.text
        other = client.post("/ui/account/keys/999999/revoke", data={"csrf_token": csrf})
        assert other.status_code == 404


def test_logging_out_other_browsers(site: Site) -> None:
    with ui_client(site, "bob") as (first, csrf), ui_client(site, "bob") as (second, _):
        assert "bob" in second.get("/ui/account").text
        answer = first.post("/ui/account/sessions/logout", data={"csrf_token": csrf})
        assert answer.status_code == 303
        assert first.get("/ui/account").status_code == 200  # this browser stays logged in
        assert second.get("/ui/account").status_code == 303  # the other one is sent to the login form

"""The invitation page without a browser: a logged-in person accepts into their own account, an invitation for
someone else is refused, an email that already has an account must log in, and used or expired links say so."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from ara.apps.models import AppInvite
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from tests.web.accounts_support import ui_client
from tests.web.conftest import Site, csrf_of

MANIFEST = Path(__file__).resolve().parents[1] / "apps" / "data" / "control_manifest.json"


def _invite(site: Site, slug: str, email: str, role: str = "viewer") -> dict[str, Any]:
    with httpx.Client(base_url=site.url, auth=("admin", site.password), timeout=30) as admin:
        created = admin.post("/apps", json=json.loads(MANIFEST.read_text()) | {"slug": slug})
        assert created.status_code == 201, created.text
        app_id = created.json()["app"]["id"]
        invited = admin.post(f"/apps/{app_id}/invites", json={"email": email, "role": role})
        assert invited.status_code == 201, invited.text
    return dict(invited.json()["invite"])


def _user(site: Site, email: str) -> None:
    body = {"username": email, "password": site.password, "role": "viewer"}
    made = httpx.post(f"{site.url}/api/v1/users", json=body, auth=("admin", site.password))
    assert made.status_code == 201, made.text


def test_a_logged_in_person_accepts_into_their_account(site: Site) -> None:
    _user(site, "eve@example.org")
    invite = _invite(site, "invite-own", "eve@example.org", role="editor")
    path = f"/ui/invites/{invite['token']}"
    with ui_client(site, "eve@example.org") as (client, csrf):
        assert "Accept as eve@example.org" in client.get(path).text
        accepted = client.post(path, data={"csrf_token": csrf})
    assert accepted.status_code == 200 and "You are now <strong>editor</strong>" in accepted.text
    with httpx.Client(base_url=site.url, auth=("eve@example.org", site.password)) as eve:
        roles = {app["id"]: app["role"] for app in eve.get("/apps").json()["apps"]}
    assert roles[invite["app_id"]] == "editor"


def test_an_invitation_for_someone_else_is_refused(site: Site) -> None:
    invite = _invite(site, "invite-other", "zed@example.org")
    path = f"/ui/invites/{invite['token']}"
    with ui_client(site, "alice") as (client, csrf):
        assert "this invitation is for zed@example.org" in client.get(path).text
        assert client.post(path, data={"csrf_token": csrf}).status_code == 403
    assert httpx.get(site.url + path).status_code == 200  # still open for its person


def test_an_email_with_an_account_must_log_in_and_short_passwords_are_refused(site: Site) -> None:
    _user(site, "finn@example.org")
    invite = _invite(site, "invite-existing", "finn@example.org")
    path = f"/ui/invites/{invite['token']}"
    with httpx.Client(base_url=site.url, timeout=30) as anonymous:
        csrf = csrf_of(anonymous.get(path).text)
        short = anonymous.post(path, data={"password": "short", "password_again": "short", "csrf_token": csrf})
        assert short.status_code == 400 and "at least 8 characters" in short.text
        good = {"password": "long enough pw", "password_again": "long enough pw", "csrf_token": csrf}
        taken = anonymous.post(path, data=good)
        assert taken.status_code == 400 and "log in to accept" in taken.text
        assert "ara_session" not in taken.headers.get("set-cookie", "")


def test_expired_links_are_410_and_unknown_ones_404(site: Site) -> None:
    invite = _invite(site, "invite-expired", "yara@example.org")
    engine = make_engine(site.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            session.execute(
                update(AppInvite)
                .where(AppInvite.id == invite["id"])
                .values(expires_at=utcnow() - dt.timedelta(minutes=1))
            )
    finally:
        engine.dispose()
    expired = httpx.get(invite["accept_url"])
    assert expired.status_code == 410 and "expired" in expired.text
    assert httpx.get(f"{site.url}/ui/invites/ara_inv_nope").status_code == 404

"""Open by default like ARA; read/write login settings; HTTP basic (cached after one verification) and bearer."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from ara.clients.errors import Unauthorized
from ara.clients.http import AraHttpClient
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.settings import Settings
from ara.users import service as users
from tests.conftest import make_settings
from tests.support.server import running_server


def _with_user(settings: Settings) -> str:
    engine = make_engine(settings)
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        users.create_user(session, username="ops@example.org", password="s3cret", role="operator")
        token = users.create_token(session, username="ops@example.org", name="ci")
    engine.dispose()
    return token


def test_open_by_default_but_a_wrong_password_is_refused(settings: Settings) -> None:
    _with_user(settings)
    with running_server(settings) as url:
        assert httpx.post(f"{url}/api/v1/labels", json={"name": "open"}).status_code == 201
        bad = httpx.get(f"{url}/api/v1/labels", auth=("ops@example.org", "wrong"))
        assert bad.status_code == 401 and bad.json() == {"detail": "Invalid username/password."}
        assert httpx.get(f"{url}/api/v1/labels", auth=("ops@example.org", "s3cret")).status_code == 200


def test_write_login_required(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"write_login_required": True})
    token = _with_user(settings)
    with running_server(settings) as url:
        assert httpx.get(f"{url}/api/v1/playbooks").status_code == 200
        anonymous = httpx.post(f"{url}/api/v1/labels", json={"name": "x"})
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        with AraHttpClient(endpoint=url, auth=("ops@example.org", "s3cret")) as basic:
            assert basic.post("/api/v1/labels", name="basic")["name"] == "basic"
        with AraHttpClient(endpoint=url, token=token) as bearer:
            assert bearer.post("/api/v1/labels", name="bearer")["name"] == "bearer"
        with AraHttpClient(endpoint=url, token="ara_not-a-token") as forged, pytest.raises(Unauthorized):
            forged.post("/api/v1/labels", name="nope")
        assert httpx.get(f"{url}/api/v1/labels").json()["count"] == 2


def test_read_login_required(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"read_login_required": True})
    _with_user(settings)
    with running_server(settings) as url:
        assert httpx.get(f"{url}/api/v1/playbooks").status_code == 401
        assert httpx.get(f"{url}/api/v1/playbooks", auth=("ops@example.org", "s3cret")).status_code == 200


def test_a_password_is_hashed_once_then_cached(tmp_path: Path) -> None:
    """ARA issue 283: verifying argon2 on every request made callback runs 2-3x slower."""
    settings = make_settings(tmp_path, auth={"write_login_required": True})
    _with_user(settings)
    with running_server(settings) as url:
        client = AraHttpClient(endpoint=url, auth=("ops@example.org", "s3cret"))
        start = time.perf_counter()
        client.post("/api/v1/labels", name="first")
        first = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(20):
            client.post("/api/v1/labels", name=f"label-{i}")
        cached = (time.perf_counter() - start) / 20
        client.close()
        # One argon2 verification costs tens of milliseconds; cached requests must not pay it again.
        assert cached < first / 3

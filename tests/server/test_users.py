"""Users over the API and from another process: a removed, deactivated or changed user is refused (or re-ranked)
on the very next request whatever the server cached, the last admin stays, and roles apply to records."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.errors import InvalidTransition
from ara.settings import Settings
from ara.users.models import User
from ara.users.service import create_token, hash_password, list_users, remove_user
from tests.conftest import make_settings
from tests.server.test_auth import CountingHasher
from tests.support.mission import seed_users
from tests.support.server import running_server

ARA = [sys.executable, "-c", "from ara.cli.main import main; main()"]
ADMIN = ("admin@local", "admin")


def _ara(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``ara ...`` as its own process on the server's database (what an administrator runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    env.update(ARA_BASE_DIR=str(settings.base_dir), ARA_DATABASE__URL=settings.database_url)
    return subprocess.run([*ARA, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """Writes need a login; ``admin@local`` (admin) and olivia (operator), victor (viewer)... with password pw."""
    locked = settings.model_copy(update={"auth": settings.auth.model_copy(update={"write_login_required": True})})
    seed_users(locked)
    with running_server(locked) as url:
        yield url


def _label(url: str, auth: tuple[str, str], name: str) -> int:
    return httpx.post(f"{url}/api/v1/labels", json={"name": name}, auth=auth).status_code


def test_a_removed_user_is_refused_at_once_whatever_is_cached(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr("ara.users.service._hasher", hasher)
    olivia = ("olivia", "pw")
    assert _label(server, olivia, "one") == 201 and _label(server, olivia, "two") == 201
    assert hasher.verified == 1  # the second request was answered from the cache
    engine = make_engine(settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        token = create_token(session, username="olivia", name="ci")
    engine.dispose()
    assert httpx.post(f"{server}/api/v1/labels", json={"name": "three"}, headers={"authorization": f"Bearer {token}"})

    removed = _ara(settings, "user", "remove", "olivia")  # another process: the server's cache knows nothing
    assert removed.returncode == 0, removed.stderr
    refused = httpx.post(f"{server}/api/v1/labels", json={"name": "four"}, auth=olivia)
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid username/password."}
    by_token = httpx.post(
        f"{server}/api/v1/labels", json={"name": "four"}, headers={"authorization": f"Bearer {token}"}
    )
    assert by_token.status_code == 401
    assert httpx.get(f"{server}/playbook/runs", auth=olivia).status_code == 401  # Ara's own routes alike
    names = {label["name"] for label in httpx.get(f"{server}/api/v1/labels").json()["results"]}
    assert names == {"one", "two", "three"}


def test_deactivation_password_and_role_changes_apply_on_the_next_request(settings: Settings, server: str) -> None:
    olivia = ("olivia", "pw")
    assert _label(server, olivia, "before") == 201  # verified and cached
    with httpx.Client(base_url=server, auth=ADMIN) as admin:
        assert admin.patch("/api/v1/users/olivia", json={"is_active": False}).json()["is_active"] is False
        assert _label(server, olivia, "inactive") == 401
        assert admin.patch("/api/v1/users/olivia", json={"is_active": True}).status_code == 200
        assert _label(server, olivia, "active-again") == 201

        demoted = admin.patch("/api/v1/users/olivia", json={"role": "viewer"})
        assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
        assert _label(server, olivia, "as-viewer") == 403
        assert admin.patch("/api/v1/users/olivia", json={"role": "operator"}).status_code == 200
        assert _label(server, olivia, "as-operator") == 201

    engine = make_engine(settings)  # a new password set elsewhere: the cached verification no longer counts
    with unit_of_work(make_sessionmaker(engine)) as session:
        session.execute(update(User).where(User.username == "olivia").values(password_hash=hash_password("new")))
    engine.dispose()
    assert _label(server, olivia, "old-password") == 401
    assert _label(server, ("olivia", "new"), "new-password") == 201
    olivia = ("olivia", "new")
    with httpx.Client(base_url=server, auth=ADMIN) as admin:
        bad = admin.patch("/api/v1/users/olivia", json={"role": "wizard", "colour": "red"})
        assert bad.status_code == 400 and set(bad.json()) == {"colour"}
        assert admin.patch("/api/v1/users/olivia", json={"role": "wizard"}).json() == {
            "role": ['"wizard" is not a valid choice (viewer, operator, approver, admin).']
        }
        assert admin.patch("/api/v1/users/olivia", json={"is_active": "no"}).status_code == 400
        assert admin.patch("/api/v1/users/ghost", json={"role": "viewer"}).status_code == 404
    with httpx.Client(base_url=server, auth=olivia) as operator:
        assert operator.patch("/api/v1/users/olivia", json={"role": "admin"}).status_code == 403


def test_the_last_admin_can_be_neither_removed_demoted_nor_deactivated(server: str) -> None:
    with httpx.Client(base_url=server, auth=ADMIN) as admin:
        for method, body in (("DELETE", None), ("PATCH", {"role": "operator"}), ("PATCH", {"is_active": False})):
            refused = admin.request(method, "/api/v1/users/admin@local", json=body)
            assert refused.status_code == 409, (method, body, refused.text)
            assert "admin@local is the last active admin" in refused.json()["detail"]
        assert admin.get("/api/v1/users").status_code == 200  # still an admin, still logged in

        created = admin.post("/api/v1/users", json={"username": "second", "password": "pw", "role": "admin"})
        assert created.status_code == 201
        assert admin.patch("/api/v1/users/second", json={"is_active": False}).status_code == 200
        assert admin.delete("/api/v1/users/admin@local").status_code == 409  # the other admin is inactive
        assert admin.patch("/api/v1/users/second", json={"is_active": True}).status_code == 200
        assert admin.delete("/api/v1/users/admin@local").status_code == 204
    with httpx.Client(base_url=server, auth=("second", "pw")) as second:
        assert second.patch("/api/v1/users/second", json={"role": "viewer"}).status_code == 409
        assert second.get("/api/v1/users").status_code == 200


def test_roles_apply_to_records(tmp_path: Path) -> None:
    """Writes by a known user need operator or above; anonymous writes follow ``write_login_required``."""
    settings = make_settings(tmp_path)  # ARA's default: open
    seed_users(settings)
    with running_server(settings) as url, httpx.Client(base_url=url) as http:
        playbook = http.post("/api/v1/playbooks", json={"ansible_version": "2.19", "path": "/a.yml"})
        assert playbook.status_code == 201  # anonymous, on an open server
        path = f"/api/v1/playbooks/{playbook.json()['id']}"
        viewer = ("victor", "pw")
        assert http.get(path, auth=viewer).status_code == 200
        for method, body in (("PATCH", {"status": "failed"}), ("PUT", {"status": "failed"}), ("DELETE", None)):
            refused = http.request(method, path, json=body, auth=viewer)
            assert refused.status_code == 403, (method, refused.text)
            assert refused.json() == {"detail": "victor (viewer) may not write records: operator or above"}
        assert http.post("/api/v1/labels", json={"name": "x"}, auth=viewer).status_code == 403
        assert http.get(path).json()["status"] != "failed"
        patched = http.patch(path, json={"status": "failed"}, auth=("olivia", "pw"))
        assert patched.status_code == 200 and patched.json()["status"] == "failed"
        assert http.patch(path, json={"status": "completed"}, auth=("paul", "pw")).status_code == 200  # approver
        assert http.delete(path, auth=("olivia", "pw")).status_code == 204


def test_two_admins_removing_each_other_at_once_leave_one(settings: Settings) -> None:
    """The second removal waits for the first one's transaction (row locks on PostgreSQL, the write lock on
    SQLite), then finds it would remove the last admin."""
    engine = make_engine(settings)
    upgrade(engine)
    writer = make_sessionmaker(engine)
    with unit_of_work(writer) as session:
        for name in ("ann", "bob"):
            session.add(User(username=name, password_hash="x", role="admin", teams=[]))
    outcome: list[BaseException | None] = []
    with unit_of_work(writer) as first:
        remove_user(first, "ann")  # holds its locks until this block commits
        second = threading.Thread(target=lambda: outcome.append(_try(lambda: _remove(writer, "bob"))))
        second.start()
        second.join(timeout=1)  # most likely now waiting on the first transaction's locks
    second.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidTransition), outcome
    with unit_of_work(writer) as session:
        assert [u.username for u in list_users(session)] == ["bob"]
    engine.dispose()


def _remove(writer: sessionmaker[Session], name: str) -> None:
    with unit_of_work(writer) as session:
        remove_user(session, name)


def _try(work: Callable[[], None]) -> BaseException | None:
    try:
        work()
    except BaseException as exc:  # noqa: BLE001 (handed to the test's thread to assert on)
        return exc
    return None

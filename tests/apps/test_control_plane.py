"""The apps control plane over HTTP against a real ``ara server``: the deploy sequence the real SDK sends, roles
(owner, editor, viewer, a stranger's 404), invites, secrets that never come back, hashed keys, endpoint secrets
and setup, and the 400s that name the bad field."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ara.apps import secrets_store
from ara.apps.models import AppEndpointSecret, AppInvite, AppKey, AppSecret
from ara.crypto import SecretBox
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.runtime_users import ALICE, BOB, RuntimeUser, seed_runtime_users
from tests.support.server import running_server

DATA = Path(__file__).parent / "data"
CAROL = "carol@example.org"
SECRET_VALUE = "s3cret-value-never-shown"


def sample_manifest(slug: str) -> dict[str, Any]:
    """What the real 0.1.46 SDK sends for ``tests/compat/sdk_apps/digest_bot.py`` (its ``POST /apps`` body), under
    ``slug``."""
    manifest = json.loads((DATA / "control_manifest.json").read_text())
    manifest["slug"] = slug
    return manifest


@dataclass
class Plane:
    url: str
    settings: Settings
    users: dict[str, RuntimeUser]
    engine: Engine
    seen: list[str] = field(default_factory=list)  # every response body, to search for secrets

    def call(self, method: str, path: str, who: str | None = ALICE, **kwargs: Any) -> httpx.Response:
        headers = self.users[who].headers if who else {}
        # the SDK sends Content-Type: application/json on every call, GETs too
        headers = {**headers, "Content-Type": "application/json"}
        answer = httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        self.seen.append(answer.text)
        return answer

    def db(self) -> AbstractContextManager[Session]:
        return unit_of_work(make_sessionmaker(self.engine, write=True))

    def deploy(self, slug: str, who: str = ALICE) -> str:
        created = self.call("POST", "/apps", who, json=sample_manifest(slug))
        assert created.status_code == 201, created.text
        return str(created.json()["app"]["id"])


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    settings = make_settings(tmp_path_factory.mktemp("control-plane"))
    users = seed_runtime_users(settings, ALICE, BOB, CAROL)
    engine = make_engine(settings)
    try:
        with running_server(settings) as url:
            yield Plane(url, settings, users, engine)
    finally:
        engine.dispose()


def test_the_sdk_deploy_sequence_stores_the_manifest_exactly(plane: Plane) -> None:
    manifest = sample_manifest("digest-bot")
    listed = plane.call("GET", "/apps")
    assert listed.status_code == 200 and all(row["slug"] != "digest-bot" for row in listed.json()["apps"])
    created = plane.call("POST", "/apps", json=manifest)
    assert created.status_code == 201, created.text
    app_id = created.json()["app"]["id"]
    assert app_id.startswith("app-")
    assert plane.call("PATCH", f"/apps/{app_id}", json={"status": "active"}).status_code == 200
    secret = {"name": "sdk-dict-fcba4fac0657", "values": {"API_TOKEN": SECRET_VALUE}}
    assert plane.call("POST", f"/apps/{app_id}/secrets", json=secret).status_code == 200
    names = [row["name"] for row in plane.call("GET", f"/apps/{app_id}/secrets").json()["secrets"]]
    assert names == ["sdk-dict-fcba4fac0657"]
    assert plane.call("DELETE", f"/apps/{app_id}/secrets/sdk-dict-stale").status_code == 404  # the SDK tolerates it
    minted = plane.call("POST", f"/apps/{app_id}/keys", json={"name": "digest-bot-py-local", "requests_per_minute": 60})
    assert minted.status_code == 201 and minted.json()["key"].startswith("ara_rk_")

    rows = plane.call("GET", "/apps").json()["apps"]
    mine = [row for row in rows if row["slug"] == "digest-bot" and row["role"] == "owner"]
    assert [row["id"] for row in mine] == [app_id]
    assert mine[0]["status"] == "active" and mine[0]["version"] == 1
    stored = plane.call("GET", f"/apps/{app_id}").json()
    assert {name: stored[name] for name in manifest} == manifest
    assert (stored["id"], stored["status"], stored["version"], stored["role"]) == (app_id, "active", 1, "owner")

    # a redeploy: the whole manifest again (no slug), status active; version + 1, the new manifest returned as sent
    changed = copy.deepcopy(manifest)
    changed["description"] = "second deploy"
    changed["agent"]["agents"][1]["skills"] = ["read_file"]
    patch = {key: value for key, value in changed.items() if key != "slug"} | {"status": "active"}
    assert plane.call("PATCH", f"/apps/{app_id}", json=patch).status_code == 200
    stored = plane.call("GET", f"/apps/{app_id}").json()
    assert {name: stored[name] for name in changed} == changed and stored["version"] == 2
    # status alone moves only the status
    assert plane.call("PATCH", f"/apps/{app_id}", json={"status": "paused"}).json()["app"]["version"] == 2

    # the secret's value is in no answer, and sealed in the database
    assert not [body for body in plane.seen if SECRET_VALUE in body]
    with plane.db() as session:
        row = session.scalar(select(AppSecret).where(AppSecret.app_id == app_id))
        assert row is not None and SECRET_VALUE not in row.sealed and row.keys == ["API_TOKEN"]
        box = SecretBox.from_settings(plane.settings)
        assert secrets_store.secret_values(session, box, app_id)["API_TOKEN"] == SECRET_VALUE


def test_a_taken_slug_is_409_for_anyone(plane: Plane) -> None:
    plane.deploy("taken-slug")
    again = plane.call("POST", "/apps", BOB, json=sample_manifest("taken-slug"))
    assert again.status_code == 409, again.text
    assert "taken" in again.json()["error"]["message"]
    assert all(row["slug"] != "taken-slug" for row in plane.call("GET", "/apps", BOB).json()["apps"])


def test_roles_strangers_and_invites(plane: Plane) -> None:
    app_id = plane.deploy("roles-app")
    for method, path in [("GET", ""), ("PATCH", ""), ("GET", "/secrets"), ("POST", "/keys"), ("GET", "/setup")]:
        answer = plane.call(
            method, f"/apps/{app_id}{path}", BOB, json={"status": "active"} if method == "PATCH" else {}
        )
        assert answer.status_code == 404, (method, path, answer.text)
    assert plane.call("GET", f"/apps/{app_id}", None).status_code == 401

    invited = plane.call(
        "POST", f"/apps/{app_id}/invites", json={"email": BOB, "role": "viewer", "expires_in_hours": 168}
    )
    assert invited.status_code == 201, invited.text
    invite = invited.json()["invite"]
    assert invite["email"] == BOB and invite["role"] == "viewer"
    token = invite["token"]
    assert invite["accept_url"].endswith(f"/ui/invites/{token}")
    assert plane.call("POST", "/apps/invites/accept", CAROL, json={"token": token}).status_code == 403
    accepted = plane.call("POST", "/apps/invites/accept", BOB, json={"token": token})
    assert accepted.status_code == 200 and accepted.json() == {"ok": True, "app_id": app_id, "role": "viewer"}
    assert plane.call("POST", "/apps/invites/accept", BOB, json={"token": token}).status_code == 409

    assert plane.call("GET", f"/apps/{app_id}", BOB).json()["role"] == "viewer"
    assert [row["role"] for row in plane.call("GET", "/apps", BOB).json()["apps"] if row["id"] == app_id] == ["viewer"]
    for method, path in [
        ("PATCH", ""),
        ("GET", "/secrets"),
        ("POST", "/keys"),
        ("GET", "/setup"),
        ("POST", "/invites"),
    ]:
        body = {"status": "paused"} if method == "PATCH" else {"email": CAROL}
        answer = plane.call(method, f"/apps/{app_id}{path}", BOB, json=body)
        assert answer.status_code == 403, (method, path, answer.text)

    # an editor invite raises bob's role; he may then deploy
    token = plane.call("POST", f"/apps/{app_id}/invites", json={"email": BOB, "role": "editor"}).json()["invite"][
        "token"
    ]
    assert plane.call("POST", "/apps/invites/accept", BOB, json={"token": token}).json()["role"] == "editor"
    assert plane.call("PATCH", f"/apps/{app_id}", BOB, json={"description": "by bob"}).status_code == 200
    with plane.db() as session:  # the invite token is stored hashed
        hashes = set(session.scalars(select(AppInvite.token_hash).where(AppInvite.app_id == app_id)))
        assert hashlib.sha256(token.encode()).hexdigest() in hashes and token not in hashes


def test_keys_are_hashed_listed_without_the_key_and_deactivated(plane: Plane) -> None:
    app_id = plane.deploy("keys-app")
    made = plane.call("POST", f"/apps/{app_id}/x-keys", json={"name": "keys-app-x-header", "requests_per_minute": 30})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    assert key.startswith("ara_xk_") and key.startswith(made.json()["key_prefix"])
    listed = plane.call("GET", f"/apps/{app_id}/x-keys")
    assert key not in listed.text
    rows = listed.json()["keys"]
    assert [(row["id"], row["is_active"], row["requests_per_minute"]) for row in rows] == [
        (made.json()["id"], True, 30)
    ]
    with plane.db() as session:
        stored = session.scalars(select(AppKey).where(AppKey.app_id == app_id)).all()
        assert [row.key_hash for row in stored] == [hashlib.sha256(key.encode()).hexdigest()]
        assert all(key not in str(value) for row in stored for value in vars(row).values())
        assert listed.json()["keys"][0]["key_prefix"] == stored[0].key_prefix and "key_hash" not in listed.text
    gone = plane.call("DELETE", f"/apps/{app_id}/x-keys/{made.json()['id']}")
    assert gone.status_code == 200 and gone.json()["key"]["is_active"] is False
    assert plane.call("GET", f"/apps/{app_id}/x-keys").json()["keys"][0]["is_active"] is False
    assert plane.call("DELETE", f"/apps/{app_id}/x-keys/akey-unknown").status_code == 404
    bad = plane.call("POST", f"/apps/{app_id}/keys", json={"name": "k", "requests_per_minute": 0})
    assert bad.status_code == 400 and "requests_per_minute" in bad.json()["error"]["detail"]


def test_endpoint_secrets_are_minted_at_deploy_and_shown_by_setup_only(plane: Plane) -> None:
    app_id = plane.deploy("hooks-app")
    setup = plane.call("GET", f"/apps/{app_id}/setup")
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["app_id"] == app_id and body["slug"] == "hooks-app"
    assert body["invoke"]["run_url"] == f"{plane.url}/v1/apps/{app_id}/run"
    [hook] = body["endpoints"]
    assert (hook["label"], hook["method"], hook["auth"]) == ("hook", "POST", "hmac")
    assert hook["secret_env"] == "ARA_ENDPOINT_HOOK_SECRET" and hook["url"].endswith(
        f"/v1/apps/{app_id}/endpoints/hook"
    )
    secret = hook["secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert secret not in plane.call("GET", f"/apps/{app_id}").text
    with plane.db() as session:
        row = session.get(AppEndpointSecret, (app_id, "hook"))
        assert row is not None and secret not in row.sealed
        box = SecretBox.from_settings(plane.settings)
        assert secrets_store.endpoint_secret(session, box, app_id, "hook") == secret
        assert secrets_store.secret_values(session, box, app_id)["ARA_ENDPOINT_HOOK_SECRET"] == secret

    redeploy = {key: value for key, value in sample_manifest("hooks-app").items() if key != "slug"}
    assert plane.call("PATCH", f"/apps/{app_id}", json=redeploy).status_code == 200
    assert plane.call("GET", f"/apps/{app_id}/setup").json()["endpoints"][0]["secret"] == secret  # kept
    redeploy["interfaces"] = {"fastapi_endpoints": []}
    assert plane.call("PATCH", f"/apps/{app_id}", json=redeploy).status_code == 200
    assert plane.call("GET", f"/apps/{app_id}/setup").json()["endpoints"] == []
    with plane.db() as session:
        assert session.get(AppEndpointSecret, (app_id, "hook")) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "Bad_Slug"}, "slug"),
        ({"slug": "-edge"}, "slug"),
        ({"name": ""}, "name"),
        ({"runtime_profile": {"model": "not a model"}}, "runtime_profile.model"),
        ({"agent": {"agents": [{"task": "no id"}]}}, "agent.agents.0.id"),
        (
            {"agent": {"agents": [{"id": "a", "schedules": [{"id": "s", "kind": "every", "every_seconds": 30}]}]}},
            "agent.agents.0.schedules.0.every_seconds",
        ),
        (
            {"interfaces": {"fastapi_endpoints": [{"label": "x", "auth": {"mode": "magic"}}]}},
            "interfaces.fastapi_endpoints.0.auth.mode",
        ),
        ({"agent": {"agents": [{"id": "a", "skills": ["automation_delete"]}]}}, "agent.agents.0.skills"),
        ({"agent": {"agents": [{"id": "a" * 129}]}}, "agent.agents.0.id"),
        ({"agent": {"agents": [{"id": "two\nlines"}]}}, "agent.agents.0.id"),
        (
            {"agent": {"agents": [{"id": "a", "schedules": [{"id": "s\t1", "kind": "every", "every_seconds": 60}]}]}},
            "agent.agents.0.schedules.0.id",
        ),
        ({"workflows": {}}, "workflows"),
        ({"surprise": 1}, "surprise"),
        ({"status": "running"}, "status"),
    ],
)
def test_bad_manifests_are_400_naming_the_field(plane: Plane, change: dict[str, Any], field: str) -> None:
    manifest = sample_manifest("valid-slug") | change
    answer = plane.call("POST", "/apps", json=manifest)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["error"]["detail"], answer.json()


def test_bad_bodies_and_secret_names(plane: Plane) -> None:
    assert plane.call("POST", "/apps", content=b"[1, 2]").status_code == 400
    assert plane.call("POST", "/apps", content=b"{not json").status_code == 400
    app_id = plane.deploy("secret-names")
    for body, where in [
        ({"name": "Has Space", "values": {"A": "b"}}, "name"),
        ({"name": "ok-name", "values": {}}, "values"),
        ({"name": "ok-name", "values": {"ARA_X": "b"}}, "values.ARA_X"),
        ({"name": "ok-name", "values": {"A": 1}}, "values.A"),
    ]:
        answer = plane.call("POST", f"/apps/{app_id}/secrets", json=body)
        assert answer.status_code == 400 and where in answer.json()["error"]["detail"], answer.text
    # names are compared lowercased, as the SDK sends them
    assert (
        plane.call("POST", f"/apps/{app_id}/secrets", json={"name": "Mixed-Case", "values": {"A": "1"}}).status_code
        == 200
    )
    assert plane.call("DELETE", f"/apps/{app_id}/secrets/MIXED-CASE").status_code == 204
    assert plane.call("GET", f"/apps/{app_id}/secrets").json() == {"secrets": []}


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/x", "http://[::1]/"]
)
def test_a_callback_into_the_servers_network_is_refused(plane: Plane, url: str) -> None:
    """No ``ARA_APPS__WEBHOOK_ALLOW_PRIVATE`` here: a key holder cannot make the server POST to its own network."""
    app_id = plane.deploy(f"callback-{abs(hash(url)) % 10**8}")
    key = plane.call("POST", f"/apps/{app_id}/keys", json={"name": "k", "requests_per_minute": 60}).json()["key"]
    body = {"input": {"message": "hi"}, "response_mode": "webhook", "callback": {"url": url}}
    answer = httpx.post(
        f"{plane.url}/v1/apps/{app_id}/runs", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 400, answer.text
    message = " ".join(answer.json()["error"]["detail"]["callback.url"])
    assert "ARA_APPS__WEBHOOK_ALLOW_PRIVATE" in message

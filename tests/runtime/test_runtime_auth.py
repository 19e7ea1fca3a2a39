"""User keys for the runtime and the ``ara-sdk`` CLI: the runtime and key routes always need a login (a bearer user
key or a password), whoami says who the key belongs to, and rotating a key mints a new one and refuses the old one
from the next request on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.runtime_users import ALICE, BOB, RuntimeUser, seed_runtime_users
from tests.support.server import running_server

LOGIN_ONLY = [
    ("POST", "/session/start"),
    ("GET", "/session/status"),
    ("POST", "/session/runtime/tools/execute"),
    ("GET", "/session/files"),
    ("POST", "/chat"),
    ("POST", "/v1/chat"),
    ("GET", "/automations/jobs"),
    ("GET", "/auth/cli/whoami"),
    ("POST", "/apps/api-key/rotate"),
]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, RuntimeUser]]]:
    settings = make_settings(tmp_path)
    users = seed_runtime_users(settings)
    with running_server(settings) as url:
        yield url, users


@pytest.mark.parametrize("credentials", ["none", "wrong key", "wrong password"])
def test_runtime_and_key_routes_refuse_callers_without_a_login(
    served: tuple[str, dict[str, RuntimeUser]], credentials: str
) -> None:
    url, _ = served
    headers = {"Authorization": "Bearer ara_not-a-key"} if credentials == "wrong key" else {}
    auth = (ALICE, "nope") if credentials == "wrong password" else None
    # A wrong password costs an argon2 verification each time (never cached): two routes show it.
    for method, path in LOGIN_ONLY if auth is None else LOGIN_ONLY[:2]:
        response = httpx.request(method, url + path, json={}, headers=headers, auth=auth)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
    # The SSH proxy's WebSocket carries a proxy token, which the SSH bridge checks, not the login middleware.
    assert httpx.get(url + "/session/ssh/proxy").status_code != 401


def test_whoami_names_the_keys_user(served: tuple[str, dict[str, RuntimeUser]]) -> None:
    url, users = served
    for email in (ALICE, BOB):
        answer = httpx.get(url + "/auth/cli/whoami", headers=users[email].headers).json()
        assert answer == {
            "ok": True,
            "user": {"id": users[email].user_id, "email": email, "username": email, "role": "viewer"},
        }
    by_password = httpx.get(url + "/auth/cli/whoami", auth=(BOB, "pw")).json()
    assert by_password["user"]["email"] == BOB


def test_rotate_mints_a_new_key_and_refuses_the_old_one(served: tuple[str, dict[str, RuntimeUser]]) -> None:
    url, users = served
    old = users[ALICE]
    rotated = httpx.post(url + "/apps/api-key/rotate", headers=old.headers)  # no body, as the SDK sends it
    assert rotated.status_code == 200, rotated.text
    answer = rotated.json()
    new_key = answer["api_key"]
    assert new_key != old.key and answer["key_prefix"] == new_key[:8] and answer["key_identifier"].isdigit()
    new_headers = {"Authorization": f"Bearer {new_key}"}
    assert httpx.get(url + "/auth/cli/whoami", headers=old.headers).status_code == 401
    assert httpx.post(url + "/session/start", headers=old.headers, json={}).status_code == 401
    assert httpx.get(url + "/auth/cli/whoami", headers=new_headers).json()["user"]["email"] == ALICE
    assert httpx.post(url + "/session/start", headers=new_headers, json={}).status_code == 200
    # Bob's key is untouched; a password caller gets a new key and keeps the ones they have.
    assert httpx.get(url + "/auth/cli/whoami", headers=users[BOB].headers).status_code == 200
    minted = httpx.post(url + "/apps/api-key/rotate", auth=(ALICE, "pw")).json()["api_key"]
    for key in (minted, new_key):
        assert httpx.get(url + "/auth/cli/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert int(httpx.post(url + "/apps/api-key/rotate", auth=(ALICE, "pw")).json()["key_identifier"]) > int(
        answer["key_identifier"]
    )

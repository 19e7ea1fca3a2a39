"""``ara user add|list|set|remove`` and ``ara token create``, then logging in with them over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ara.clients.http import AraHttpClient
from ara.settings import Settings
from tests.cli.conftest import Cli
from tests.conftest import make_settings
from tests.support.server import running_server


@pytest.fixture
def locked(tmp_path: Path) -> Settings:
    """Writes need a login (reads stay open)."""
    return make_settings(tmp_path, auth={"write_login_required": True})


@pytest.fixture
def server(locked: Settings) -> Iterator[str]:
    with running_server(locked) as url:
        yield url


def test_user_and_token_administration(locked: Settings) -> None:
    cli = Cli(locked)
    added = cli.ok("user", "add", "alice", "--password", "s3cret", "--role", "operator")
    assert added.stdout == "" and "Created user alice (operator)" in added.stderr
    assert "already exists" in cli("user", "add", "alice", "--password", "x").error
    assert "Invalid value" in cli("user", "add", "bob", "--password", "x", "--role", "wizard").error
    cli.ok("user", "add", "bob", "--password", "x")
    users = {u["username"]: u for u in cli.json("user", "list")}
    assert users["alice"]["role"] == "operator" and users["bob"]["role"] == "viewer"
    assert "alice" in cli.ok("user", "list").stdout

    created = cli.ok("token", "create", "--user", "alice", "--name", "ci")
    token = created.stdout.strip()
    assert token.startswith("ara_") and "\n" not in token and "cannot be shown again" in created.stderr
    assert "no user 'nobody'" in cli("token", "create", "--user", "nobody").error

    cli.ok("user", "remove", "bob")
    assert "bob" not in {u["username"] for u in cli.json("user", "list")}
    assert "no user 'bob'" in cli("user", "remove", "bob").error


def test_logins_made_by_the_cli_are_accepted_by_the_server(locked: Settings, server: str) -> None:
    cli = Cli(locked, env={"ARA_API_CLIENT": "http", "ARA_API_SERVER": server})
    cli.ok("user", "add", "alice", "--password", "s3cret", "--role", "operator")
    cli.ok("user", "add", "bob", "--password", "pw")  # a viewer
    token = cli.ok("token", "create", "--user", "alice").stdout.strip()
    with AraHttpClient(endpoint=server, auth=("alice", "s3cret")) as writer:
        ids = [writer.post("/api/v1/playbooks", ansible_version="2.19", path=f"/p{i}.yml")["id"] for i in range(5)]

    assert len(cli.json("playbook", "list")) == 5  # reads need no login here
    assert "wants a login" in cli("playbook", "delete", str(ids[0])).error
    assert "wants a login" in cli("playbook", "delete", str(ids[0]), "--username", "alice", "--password", "no").error
    assert "permission denied" in cli("playbook", "delete", str(ids[0]), "--username", "bob", "--password", "pw").error
    cli.ok("playbook", "delete", str(ids[0]), "--username", "alice", "--password", "s3cret")
    cli.ok("playbook", "delete", str(ids[1]), ARA_API_USERNAME="alice", ARA_API_PASSWORD="s3cret")
    cli.ok("playbook", "delete", str(ids[2]), "--token", token)
    cli.ok("--token", token, "playbook", "delete", str(ids[3]))
    assert [p["id"] for p in cli.json("playbook", "list")] == [ids[4]]

    cli.ok("user", "remove", "alice")  # and with the user, its tokens and (though the server cached it) password
    assert "wants a login" in cli("playbook", "delete", str(ids[4]), "--token", token).error
    refused = cli("playbook", "delete", str(ids[4]), "--username", "alice", "--password", "s3cret")
    assert "wants a login" in refused.error


def test_the_last_admin_stays(locked: Settings) -> None:
    cli = Cli(locked)
    cli.ok("user", "add", "root", "--password", "pw", "--role", "admin")
    for attempt in (("remove", "root"), ("set", "root", "--role", "operator"), ("set", "root", "--inactive")):
        assert "root is the last active admin" in cli("user", *attempt).error, attempt
    assert {u["username"]: u["role"] for u in cli.json("user", "list")} == {"root": "admin"}

    cli.ok("user", "add", "second", "--password", "pw", "--role", "admin")
    assert "second: operator, active" in cli.ok("user", "set", "second", "--role", "operator").stderr
    cli.ok("user", "set", "second", "--role", "admin")
    assert "root: admin, inactive" in cli.ok("user", "set", "root", "--inactive").stderr
    assert "second is the last active admin" in cli("user", "remove", "second").error
    cli.ok("user", "set", "root", "--active")
    cli.ok("user", "remove", "second")
    assert "give --role, --active or --inactive" in cli("user", "set", "root").stderr
    assert "no user 'ghost'" in cli("user", "set", "ghost", "--role", "viewer").error

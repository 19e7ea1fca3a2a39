"""The playbook-run CLI against a live server: apply definitions, start, approve, reject, cancel, rerun, download
artifacts, manage the catalog and grants, and every mistake ends with one line and exit code 2."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.conftest import make_settings
from tests.support.mission import Mission, mission_control

DEPLOY = """
kind: Playbook
metadata: {name: deploy}
spec:
  title: Deploy
  parameters:
    - {name: version, label: Version, required: true}
    - {name: env, label: Environment, default: "{{ 'prod' if params.version else 'dev' }}"}
  actions:
    - name: ship
      exec:
        script: |
          echo "shipping {{ params.version }} to {{ params.env }}"
        artifacts: [{path: /dev/stdout}]
---
name: guarded
spec:
  approval: {type: any, approvers: {teams: [release]}}
  actions:
    - name: noop
      exec: {script: "echo approved"}
"""

SLOW = """
name: slow
spec:
  actions:
    - name: wait
      exec: {script: "sleep 30"}
"""


@pytest.fixture
def mission(tmp_path: Path) -> Iterator[Mission]:
    settings = make_settings(tmp_path, engine={"poll_interval": 0.1})
    with mission_control(settings) as mc:
        yield mc


def as_user(mission: Mission, name: str, password: str = "pw") -> Cli:
    """The CLI over HTTP with one user's login, given by ARA_API_* variables as a user would."""
    env = {"ARA_API_CLIENT": "http", "ARA_API_SERVER": mission.url}
    return Cli(mission.settings, {**env, "ARA_API_USERNAME": name, "ARA_API_PASSWORD": password})


@pytest.fixture
def admin(mission: Mission) -> Cli:
    return as_user(mission, "admin@local", "admin")


def test_apply_creates_then_updates_by_name(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    source = tmp_path / "playbooks.yaml"
    source.write_text(DEPLOY)
    first = admin.json("playbook", "apply", "-f", str(source))
    assert [(row["name"], row["action"]) for row in first] == [("deploy", "created"), ("guarded", "created")]

    source.write_text(DEPLOY.replace("title: Deploy", "title: Deploy it"))
    again = admin.json("playbook", "apply", "-f", str(source))
    assert [(row["name"], row["action"]) for row in again] == [("deploy", "updated"), ("guarded", "updated")]
    assert [row["id"] for row in again] == [row["id"] for row in first]

    listed = admin.json("definition", "list")
    assert sorted(d["name"] for d in listed) == ["deploy", "guarded"]
    shown = admin.json("definition", "show", "deploy")  # by name as well as by id
    assert shown["id"] == first[0]["id"] and shown["title"] == "Deploy it"
    assert shown["created_by"] == "admin@local" and shown["source"] == "cli"

    form = admin.json("definition", "params", "deploy", "--param", "version=1.2")
    assert {p["name"]: p["default"] for p in form} == {"version": None, "env": "prod"}
    unfilled = admin.json("definition", "params", "deploy")  # shown before anything is filled in
    assert {p["name"]: p["default"] for p in unfilled} == {"version": None, "env": None}

    admin.ok("definition", "delete", "guarded")
    assert [d["name"] for d in admin.json("definition", "list")] == ["deploy"]


def test_apply_reads_stdin(admin: Cli, mission: Mission) -> None:
    from typer.testing import CliRunner

    from ara.cli.main import app

    env = {"ARA_API_CLIENT": "http", "ARA_API_SERVER": mission.url}
    ran = CliRunner().invoke(
        app,
        ["playbook", "apply", "-f", "-", "--username", "admin@local", "--password", "admin", "-o", "json"],
        input=SLOW,
        env={"ARA_DATABASE__URL": mission.settings.database_url, **env},
    )
    assert ran.exit_code == 0, ran.stderr
    assert mission.http.get("/playbook/list").json()[0]["name"] == "slow"


def test_start_wait_status_and_download(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(DEPLOY)
    admin.ok("playbook", "apply", "-f", str(tmp_path / "p.yaml"))
    operator = as_user(mission, "olivia")

    run = operator.json("run", "start", "deploy", "-p", "version=1.2", "--wait", "--wait-timeout", "60")
    assert run["status"] == "completed" and run["created_by"] == "olivia"
    assert run["parameters"] == {"version": "1.2", "env": "prod"}
    [action] = operator.json("run", "status", run["id"])["actions"]
    assert action["name"] == "ship" and action["result"]["stdout"] == "shipping 1.2 to prod\n"
    assert [r["id"] for r in operator.json("run", "list", "--status", "completed")] == [run["id"]]
    assert operator.json("run", "list", "--status", "failed") == []

    [artifact] = operator.json("run", "artifacts", run["id"])
    target = tmp_path / "out.txt"
    operator.ok("run", "download", artifact["id"], "-o", str(target))
    content = target.read_bytes()
    assert content == b"shipping 1.2 to prod\n"
    assert hashlib.sha256(content).hexdigest() == artifact["checksum"]
    assert operator.ok("run", "download", artifact["id"], "-o", "-").stdout == content.decode()

    again = operator.json("run", "rerun", run["id"], "--wait")
    assert again["id"] != run["id"] and again["status"] == "completed"
    assert again["parameters"] == run["parameters"]


def test_failed_run_exits_one(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("name: broken\nspec:\n  actions:\n    - {name: boom, exec: {script: 'exit 3'}}\n")
    admin.ok("playbook", "apply", "-f", str(tmp_path / "f.yaml"))
    ran = admin("run", "start", "broken", "--wait", "-f", "json")
    assert ran.exit_code == 1 and ran.json()["status"] == "failed"


def test_team_approval_reject_and_cancel(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(DEPLOY + "---" + SLOW)
    admin.ok("playbook", "apply", "-f", str(tmp_path / "p.yaml"))
    admin.ok("user", "add", "sam", "--password", "secret", "--role", "viewer", "--team", "release")
    assert admin.json("user", "list")[-1] | {"id": 0, "created": None} == {
        "id": 0,
        "username": "sam",
        "role": "viewer",
        "active": True,
        "teams": ["release"],
        "created": None,
    }
    operator, sam, victor = as_user(mission, "olivia"), as_user(mission, "sam", "secret"), as_user(mission, "victor")

    pending = operator.json("run", "start", "guarded")
    assert pending["status"] == "pending_approval"
    assert "permission denied" in victor("run", "approve", pending["run_id"]).error
    assert sam.json("run", "approve", pending["run_id"], "--comment", "ok")["run_id"] == pending["run_id"]
    assert mission.wait(pending["run_id"])["status"] == "completed"

    rejected = operator.json("run", "start", "guarded")
    assert sam.json("run", "reject", rejected["run_id"], "--comment", "not today")["status"] == "cancelled"
    approvals = operator.json("run", "status", rejected["run_id"])["approvals"]
    assert [(a["approver"], a["approved"], a["comment"]) for a in approvals] == [("sam", False, "not today")]

    slow = operator.json("run", "start", "slow")
    mission.wait(slow["run_id"], "running")
    assert operator.json("run", "cancel", slow["run_id"])["status"] == "cancelled"
    assert "cancel" in operator("run", "cancel", slow["run_id"]).error  # finished: 400, said plainly


def test_grants(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(SLOW)
    [slow] = admin.json("playbook", "apply", "-f", str(tmp_path / "p.yaml"))
    victor = as_user(mission, "victor")
    assert "permission denied" in victor("run", "start", "slow").error

    grant = admin.json("definition", "grant", "slow", "victor", "run")
    assert admin.json("definition", "permissions", slow["id"]) == [grant]
    started = victor.json("run", "start", "slow")
    admin.ok("run", "cancel", started["run_id"])

    admin.ok("definition", "revoke", "slow", grant["id"])
    assert admin.json("definition", "permissions", "slow") == []
    assert "permission denied" in victor("run", "start", "slow").error


def test_catalog_and_selectors(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    item = admin.json(
        "catalog", "add", "config", "--name", "web", "--type", "Kubernetes::Deployment",
        "--tag", "env=prod", "--label", "team=web", "--properties", '{"replicas": 2}',
    )  # fmt: skip
    assert item["tags"] == {"env": "prod"} and item["labels"] == {"team": "web"}
    assert item["properties"] == {"replicas": 2}
    assert [i["id"] for i in admin.json("catalog", "list", "configs")] == [item["id"]]
    assert admin.json("catalog", "show", "config", item["id"])["name"] == "web"

    (tmp_path / "p.yaml").write_text(
        "name: restart\nspec:\n  configs: [{types: [Kubernetes::Deployment], tags: {env: prod}}]\n"
        "  actions: [{name: go, exec: {script: 'echo {{ config.name }}'}}]\n---\n" + SLOW
    )
    admin.ok("playbook", "apply", "-f", str(tmp_path / "p.yaml"))
    assert [d["name"] for d in admin.json("definition", "list", "--config-id", item["id"])] == ["restart"]
    run = admin.json("run", "start", "restart", "--config-id", item["id"], "--wait")
    assert run["config_id"] == item["id"]
    assert admin.json("run", "status", run["id"])["actions"][0]["result"]["stdout"] == "web\n"

    admin.ok("catalog", "delete", "config", item["id"])
    assert admin.json("catalog", "list", "config") == []
    assert "config" in admin("catalog", "show", "config", item["id"]).error


def test_mistakes_exit_two(mission: Mission, admin: Cli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    assert "not valid YAML" in admin("playbook", "apply", "-f", str(tmp_path / "bad.yaml")).error
    assert "cannot read" in admin("playbook", "apply", "-f", str(tmp_path / "missing.yaml")).error
    (tmp_path / "empty.yaml").write_text("name: empty\nspec: {actions: []}\n")
    assert "at least one action" in admin("playbook", "apply", "-f", str(tmp_path / "empty.yaml")).error
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    assert "mapping" in admin("playbook", "apply", "-f", str(tmp_path / "list.yaml")).error

    (tmp_path / "p.yaml").write_text(DEPLOY)
    admin.ok("playbook", "apply", "-f", str(tmp_path / "p.yaml"))
    assert "version" in admin("run", "start", "deploy").error  # required parameter missing
    assert "colour" in admin("run", "start", "deploy", "-p", "version=1", "-p", "colour=red").error
    assert "NAME=VALUE" in admin("run", "start", "deploy", "-p", "version").error
    assert "not found" in admin("run", "start", "nothing-by-that-name").error
    assert "not found" in admin("run", "show", "no-such-run").error
    assert "not one of" in admin("catalog", "list", "servers").stderr

    anonymous = Cli(mission.settings, {"ARA_API_CLIENT": "http", "ARA_API_SERVER": mission.url})
    assert "--username/--password or --token" in anonymous("definition", "list").error

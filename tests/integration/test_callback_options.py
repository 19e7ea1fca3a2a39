"""The callback's options, set through ARA's environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.ansible import ansible_env, run_playbook

pytestmark = pytest.mark.ansible

IGNORED_FACT = "Not saved by ARA as configured by 'ignored_facts'"
IGNORED_FILE = "Not saved by ARA as configured by 'ignored_files'"


def test_options_from_the_environment(tmp_path: Path, sqlite_settings: Settings) -> None:
    env = ansible_env(tmp_path, settings=sqlite_settings)
    env.update(
        ARA_LOCALHOST_AS_HOSTNAME="true",
        ARA_RECORD_CONTROLLER_NAME="controller-é",
        ARA_RECORD_USER_NAME="someone",
        ARA_DEFAULT_LABELS="dev,team:ops",
        ARA_ARGUMENT_LABELS="check,subset",
        ARA_IGNORED_FACTS="all",
        ARA_IGNORED_FILES="options.yml",
        ARA_CALLBACK_THREADS="4",
    )
    run = run_playbook("options.yml", env, "--limit", "localhost")
    assert run.returncode == 0, run.output
    assert run.ara_warnings() == [], run.output
    with AraOfflineClient(settings=sqlite_settings) as client:
        (playbook,) = client.get("/api/v1/playbooks")["results"]
        assert playbook["controller"] == "controller-é" and playbook["user"] == "someone"
        assert {label["name"] for label in playbook["labels"]} == {"dev", "team:ops", "check:False", "subset:localhost"}
        (host,) = client.get("/api/v1/hosts")["results"]
        assert host["name"] == "controller-é"  # localhost recorded under the controller's name
        assert client.get(f"/api/v1/hosts/{host['id']}")["facts"] == {"all": IGNORED_FACT}
        assert len(client.get("/api/v1/results")["results"]) == 2
        (file,) = client.get("/api/v1/files")["results"]
        assert client.get(f"/api/v1/files/{file['id']}")["content"] == IGNORED_FILE


def test_task_content_not_recorded(tmp_path: Path, sqlite_settings: Settings) -> None:
    env = ansible_env(tmp_path, settings=sqlite_settings) | {"ARA_RECORD_TASK_CONTENT": "false"}
    run = run_playbook("options.yml", env, "--limit", "localhost")
    assert run.returncode == 0, run.output
    with AraOfflineClient(settings=sqlite_settings) as client:
        results = client.get("/api/v1/results")["results"]
        assert len(results) == 2
        assert all(client.get(f"/api/v1/results/{r['id']}")["content"] == {} for r in results)
        (host,) = client.get("/api/v1/hosts")["results"]
        assert host["name"] == "localhost"
        assert client.get(f"/api/v1/hosts/{host['id']}")["facts"] == {}

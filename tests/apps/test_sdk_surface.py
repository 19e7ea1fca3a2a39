"""Our ``ara_sdk`` authoring surface beyond what the byte-for-byte comparison with 0.1.46 covers
(``tests/compat/test_sdk_manifest.py``): the exported names, what a deploy sends and keeps back, secrets never in a
repr or a request body, and ``run_auth_cli``/``run_runtime_cli`` driving our own CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ara_sdk
from ara_sdk import App, Secret, runtime
from ara_sdk.deploy import deploy_plan
from ara_sdk.loader import AppFileError, load_app

# Seed 001's list (the issue).
SEED = {
    "App", "AraClient", "AraRuntimeClient", "Secret", "entrypoint", "fastapi_endpoint", "file", "invoke", "local_file",
    "runtime", "run_auth_cli", "run_runtime_cli", "sandbox", "schedule", "scheduler", "command_adapter",
    "langchain_adapter", "langgraph_adapter", "agno_adapter", "git_artifact", "tarball_artifact", "event_envelope",
}  # fmt: skip
OURS = {"AgentError", "AraApiError", "AraConnectionError", "AraSdkError", "CredentialsError", "DeclarationError"}


def test_the_exports_are_the_seeds_list_and_our_errors() -> None:
    assert ara_sdk.__all__ == sorted(ara_sdk.__all__)
    assert set(ara_sdk.__all__) == SEED | OURS
    present = [name for name in ara_sdk.__all__ if name != "AraClient"]
    assert all(getattr(ara_sdk, name) is not None for name in present)
    if importlib.util.find_spec("ara_sdk.client") is not None:  # i13-cli's module, once merged
        assert ara_sdk.AraClient.__module__ == "ara_sdk.client"
    with pytest.raises(AttributeError):
        ara_sdk.NoSuchThing  # noqa: B018


def _app() -> App:
    app = App("plan-app", runtime_profile=runtime(env={"MODE": "x"}, secrets=[Secret.from_dict({"TOKEN": "hush"})]))

    @app.agent()
    def main(input: dict) -> str:
        return "go"

    return app


def test_the_deploy_plan_keeps_secret_values_out_of_the_body() -> None:
    app = _app()
    plan = app.deploy_plan()
    assert list(plan.body) == ["name", "description", "agent", "workflows", "interfaces", "runtime_profile"]
    assert plan.create_body()["slug"] == "plan-app" and "slug" not in plan.body
    assert plan.body["runtime_profile"] == {"env": {"MODE": "x"}, "secret_refs": [{"name": plan.secret_names[0]}]}
    assert "hush" not in json.dumps(plan.create_body())
    assert [d.values for d in plan.secret_definitions] == [{"TOKEN": "hush"}]
    assert plan.reconcile_secrets
    assert "__secret_definitions" in app.manifest["runtime_profile"]  # the manifest itself is unchanged
    assert "hush" not in repr(plan.secret_definitions) and "TOKEN" in repr(plan.secret_definitions)


def test_a_plain_dict_manifest_loses_both_sdks_client_only_keys() -> None:
    manifest = {
        "name": "m",
        "slug": "m",
        "runtime_profile": {"model": "x", "__required_env_keys": ["A"], "__secret_definitions": ["not ours"]},
    }
    plan = deploy_plan(manifest)
    assert plan.body["runtime_profile"] == {"model": "x"}
    assert plan.body["agent"] == {} and plan.body["workflows"] == [] and plan.body["description"] == ""
    assert plan.secret_definitions == [] and not plan.reconcile_secrets
    assert manifest["runtime_profile"]["__required_env_keys"] == ["A"]


def test_declaration_errors_are_value_errors_naming_the_argument() -> None:
    with pytest.raises(ara_sdk.DeclarationError, match=r"sandbox\(policy=\.\.\.\)"):
        ara_sdk.sandbox(policy="everywhere")
    with pytest.raises(ValueError, match="every schedule minimum interval is 60 seconds"):
        ara_sdk.schedule.every(seconds=59, run=ara_sdk.invoke.agent("a"))


def _python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home)}
    for name in ("ARA_API_KEY", "ARA_ACCESS_TOKEN", "ARA_API_BASE_URL"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_run_auth_cli_is_our_ara_auth(tmp_path: Path) -> None:
    login = _python(
        "from ara_sdk import run_auth_cli; "
        "run_auth_cli(['login', '--api-key', 'k-123', '--api-base-url', 'http://127.0.0.1:9']); print('after')",
        tmp_path,
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.rstrip().endswith("after")  # a successful command returns to the script
    assert json.loads((tmp_path / ".ara" / "credentials.json").read_text())["api_key"] == "k-123"
    logout = _python("from ara_sdk import run_auth_cli; run_auth_cli(['logout'])", tmp_path)
    assert logout.returncode == 0 and json.loads(logout.stdout)["status"] == "logged_out"
    assert not (tmp_path / ".ara" / "credentials.json").exists()


def test_run_runtime_cli_failures_exit_2(tmp_path: Path) -> None:
    out = _python("from ara_sdk import run_runtime_cli; run_runtime_cli(['capabilities'])", tmp_path)
    assert out.returncode == 2 and "--session" in out.stderr


def test_load_app_finds_the_app_or_says_what_is_wrong(tmp_path: Path) -> None:
    good = tmp_path / "app.py"
    good.write_text("from ara_sdk import App\nother = 1\napp = App('loaded-app')\n")
    assert load_app(good).slug == "loaded-app"
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(AppFileError, match="No App"):
        load_app(empty)
    with pytest.raises(AppFileError, match="Script not found"):
        load_app(tmp_path / "missing.py")
    bad = tmp_path / "bad.py"
    bad.write_text("from ara_sdk import App\napp = App('Bad_Name')\n")
    with pytest.raises(ara_sdk.DeclarationError, match="Invalid App project_name"):
        load_app(bad)

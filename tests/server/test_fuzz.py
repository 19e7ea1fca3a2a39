"""schemathesis against a real ``ara server`` on 127.0.0.1, from its own ``/openapi.json``, logged in as an admin.

Checks: ``not_a_server_error`` (no 5xx), ``status_code_conformance`` (every status is documented),
``content_type_conformance`` and ``response_schema_conformance`` (bodies match their documented schemas).
Phases: coverage (boundary and invalid values derived from each schema: lengths, ranges, types, missing fields)
and fuzzing (hypothesis), derandomized (``--generation-deterministic``, no example database) so a run repeats.
The server runs no worker, so fuzzed definitions are stored and validated but their scripts never execute.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import fresh_postgres_database
from tests.support.fake_llm import fake_llm, text
from tests.support.server import free_port

ADMIN = ("admin@local", "admin")  # created by `ara server` on loopback
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Deleting or changing users is left out: the fuzzer learns the admin's name from GET /api/v1/users and would
# delete, demote or deactivate the account it is logged in as (once it has created another admin, the last-admin
# rule no longer stops it), turning the rest of the run into 401s. tests/server/test_users.py covers both routes.
EXCLUDED = (
    "DELETE /api/v1/users/{username}",
    "PATCH /api/v1/users/{username}",
    "POST /session/stop",
    # A running playbook's event stream lasts until the playbook ends (a fuzzed PATCH can make one "running"):
    # past the request timeout by design; tests/web/test_records_pages.py and tests/records/test_live.py cover it.
    "GET /api/v1/playbooks/{key}/events",
)
# The admin's runtime session runs for the whole run (runtime routes answer 503 without one, by design), so the
# fuzzer never stops it: tests/runtime/test_session_routes.py covers stopping.


@contextmanager
def ara_server(base_dir: Path, database_url: str) -> Iterator[tuple[str, Path]]:
    """``ara server`` in a child process (no worker); yields its URL and its log file."""
    port = free_port()
    env = {
        **os.environ,
        "ARA_BASE_DIR": str(base_dir),
        "ARA_DATABASE__URL": database_url,
        "ARA_SERVER__HOST": "127.0.0.1",
        "ARA_SERVER__PORT": str(port),
        "ARA_ENGINE__WORKERS": "0",
    }
    base_dir.mkdir(parents=True, exist_ok=True)
    log = base_dir / "server.log"
    ara = shutil.which("ara")
    argv = [ara, "server"] if ara else [sys.executable, "-m", "ara.cli.main", "server"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ara server did not start"
            time.sleep(0.2)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed(base: str) -> str:
    """Real objects for the second pass: a definition (with a parameter, an approval and a webhook), a run, a
    catalog item of each kind and one row of every records table; returns a schemathesis.toml whose path
    parameters name them (the records ``key`` per resource)."""
    with httpx.Client(base_url=base, auth=ADMIN, timeout=30) as http:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = http.post(path, json=body)
            assert response.status_code == 201, response.text
            return dict(response.json())

        spec = {
            "parameters": [{"name": "p", "default": "x"}],
            "approval": {"approvers": {"people": ["someone"]}},
            "on": {"webhook": {"path": "hook"}},
            "actions": [{"name": "a", "exec": {"script": "true"}}],
        }
        playbook_id = post("/playbook", {"name": "seeded", "spec": spec})["id"]
        run_id = post("/playbook/run", {"id": playbook_id})["run_id"]
        for kind in ("configs", "checks", "components"):
            post(f"/api/v1/catalog/{kind}", {"id": "seeded", "name": "seeded"})
        keys: dict[str, Any] = {}
        recorded = {"ansible_version": "2", "path": "/p", "labels": ["s"]}
        pb = keys["playbooks"] = post("/api/v1/playbooks", recorded)["id"]
        keys["labels"] = http.get("/api/v1/labels", params={"order": "-id", "limit": 1}).json()["results"][0]["id"]
        play = keys["plays"] = post("/api/v1/plays", {"uuid": "u", "playbook": pb})["id"]
        file = keys["files"] = post("/api/v1/files", {"path": "/p", "content": "- hosts: all", "playbook": pb})["id"]
        task = {"action": "ping", "lineno": 1, "handler": False, "play": play, "file": file, "playbook": pb}
        task_id = keys["tasks"] = post("/api/v1/tasks", task)["id"]
        host = keys["hosts"] = post("/api/v1/hosts", {"name": "h", "playbook": pb})["id"]
        result = {"host": host, "task": task_id, "play": play, "playbook": pb, "status": "ok"}
        keys["results"] = post("/api/v1/results", result)["id"]
        keys["records"] = post("/api/v1/records", {"key": "k", "type": "text", "value": "v", "playbook": pb})["id"]
        keys["latesthosts"] = "h"
    shared = {"playbook_id": playbook_id, "run_id": run_id, "item_id": "seeded", "path": "hook"}
    toml = "[parameters]\n" + "".join(f'"path.{name}" = "{value}"\n' for name, value in shared.items())
    for resource, key in keys.items():
        path = f"/api/v1/{resource}/{{key}}"
        toml += f'\n[[operations]]\ninclude-path = "{path}"\nparameters = {{ "path.key" = "{key}" }}\n'
    return toml


def schemathesis(base: str, cwd: Path, examples: int, *extra: str) -> None:
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/openapi.json",
        "--auth",
        ":".join(ADMIN),
        "--checks",
        CHECKS,
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(examples),
        "--generation-deterministic",  # implies no example database
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        *(arg for operation in EXCLUDED for arg in ("--exclude-name", operation)),
        *extra,
    ]
    run = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=400)
    failures = run.stdout.find("FAILURES")
    report = (run.stdout[failures : failures + 8000] if failures >= 0 else run.stdout[-6000:]) + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert " passed" in run.stdout and "failed" not in run.stdout.split("Test cases:")[-1], report


@pytest.mark.heavy  # minutes per database: first, and the two databases on two workers
@pytest.mark.timeout(420)
@pytest.mark.parametrize(
    ("database", "examples"), [("sqlite", 8), pytest.param("postgres", 3, marks=pytest.mark.postgres)]
)
def test_schemathesis_finds_no_server_error_and_conforming_responses(
    tmp_path: Path, database: str, examples: int
) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database()) if database == "postgres" else ""
        # The chat routes' model: a scripted one that answers every fuzzed chat with text (no tool calls).
        model = stack.enter_context(fake_llm(default=text("ok")))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "fuzz-key")
        base, log = stack.enter_context(ara_server(tmp_path / "server", url))
        assert httpx.post(f"{base}/session/start", auth=ADMIN, json={}, timeout=60).status_code == 200
        # Pass 1: every operation, with whatever the schema allows (most ids name nothing: 404s).
        schemathesis(base, tmp_path, examples)
        # Pass 2: operations on one object, their path parameters fixed to seeded objects, so answers carry
        # real shapes; deletes are left out so the objects stay.
        config = tmp_path / "seeded" / "schemathesis.toml"
        config.parent.mkdir()
        config.write_text(seed(base))
        schemathesis(base, config.parent, 2, "--include-path-regex", r"\{", "--exclude-method", "DELETE")
        served = log.read_text(errors="replace")
        for reached in (r"GET /playbook/run/[0-9a-f-]+/status", r"GET /api/v1/results/\d+", r"PATCH /api/v1/hosts/\d+"):
            assert re.search(reached + ' HTTP/1.1" 200', served), reached  # the seeded pass saw real objects
        assert '" 500 ' not in served and "Traceback" not in served, served[-4000:]
        assert httpx.get(f"{base}/healthcheck", timeout=5).status_code == 200

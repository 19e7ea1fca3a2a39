"""The bad-input list: each case gets a 4xx whose body names the problem, within a second, and the server stays
healthy. One real server per database (SQLite and PostgreSQL) answers every case."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.mission import Mission, mission_control

# Wall-clock budgets: run alone, after the parallel phase (scripts/test.sh).
pytestmark = pytest.mark.serial

LIMIT = 4 * 1024 * 1024  # the test server's server.max_body_bytes
# The bound; a loaded CI machine may raise it (the default stays one second).
BUDGET = float(os.environ.get("ARA_TEST_BAD_INPUT_SECONDS", "1.0"))
HUGE = "99999999999999999999"  # past int64
SPEC: dict[str, Any] = {"actions": [{"name": "a", "exec": {"script": "true"}}]}
INFINITE_RETRY = (
    b"name: d\nspec:\n  actions: [{name: a, exec: {script: x}, retry: {limit: 1, exponent: {multiplier: .inf}}}]\n"
)
BOMB = """\
name: bomb
spec:
  actions: [{name: a, exec: {script: "true"}}]
  parameters:
    - name: p
      default:
        a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
        b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
        c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
        d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
        e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
        f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
        g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
        h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
        i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@dataclass
class Case:
    method: str
    path: str
    status: int
    says: str  # a substring of the answer (case-insensitive) that names the problem
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    # The answer's time budget; a chunked body also counts the client pushing LIMIT bytes through a generator in
    # this process (seen at 1.2-2.5 s under pytest on 2 cores while the server had refused it at once).
    seconds: float = BUDGET


def definition(**changes: Any) -> dict[str, Any]:
    return {"name": "d", "spec": {**SPEC, **changes}}


def raw(text: str) -> bytes:
    return text.encode()


CASES: dict[str, Case] = {
    # -- the records API (DRF-shaped bodies) ---------------------------------------------------------------------
    "records-lone-surrogate": Case(
        "POST", "/api/v1/playbooks", 400, "surrogate", content=raw('{"ansible_version":"2","path":"/x\\ud800"}')
    ),
    "records-nan": Case(
        "POST", "/api/v1/playbooks", 400, "nan", content=raw('{"ansible_version":"2","path":"/x","arguments":NaN}')
    ),
    "records-infinity": Case(
        "POST", "/api/v1/playbooks", 400, "infinity", content=raw('{"ansible_version":"2","path":"/x","a":-Infinity}')
    ),
    "records-nul-in-name": Case(
        "POST", "/api/v1/playbooks", 400, "null characters", json={"ansible_version": "2", "path": "/x\x00y"}
    ),
    "records-invalid-utf8": Case(
        "POST", "/api/v1/playbooks", 400, "json parse error", content=b'{"ansible_version":"2","path":"/\xff\xfe"}'
    ),
    "records-malformed-json": Case("POST", "/api/v1/labels", 400, "json parse error", content=b'{"name":'),
    "records-deep-json": Case("POST", "/api/v1/playbooks", 400, "deep", content=b"[" * 100_000 + b"]" * 100_000),
    "records-wrong-type": Case(
        "POST", "/api/v1/playbooks", 400, "ansible_version", json={"ansible_version": ["2"], "path": "/x"}
    ),
    "records-limit-past-int64": Case("GET", f"/api/v1/playbooks?limit={HUGE}", 400, "limit"),
    "records-offset-past-int64": Case("GET", f"/api/v1/results?offset={HUGE}", 400, "offset"),
    "records-id-past-int64": Case("GET", f"/api/v1/playbooks/{HUGE}", 404, "not found"),
    "records-fk-past-int64": Case("POST", "/api/v1/hosts", 400, "playbook", json={"name": "h", "playbook": int(HUGE)}),
    "records-counter-past-int32": Case(
        "POST", "/api/v1/hosts", 400, "2147483647", json={"name": "h", "playbook": 1, "ok": 2**40}
    ),
    "records-number-filter-past-int64": Case("GET", f"/api/v1/plays?playbook={HUGE}", 400, "playbook"),
    "records-int32-filter-past-int32": Case("GET", f"/api/v1/hosts?changed__gt=-{2**40}", 400, "changed__gt"),
    "records-count-filter-huge-float": Case(
        "GET", "/api/v1/tasks?warnings_count__gt=3.5e300", 400, "warnings_count__gt"
    ),
    "records-date-filter-overflow": Case(
        "GET", "/api/v1/playbooks?created_before=9999-12-31T23:59:59-23:59", 400, "created_before"
    ),
    "records-date-body-overflow": Case(
        "POST",
        "/api/v1/playbooks",
        400,
        "started",
        json={"ansible_version": "2", "path": "/x", "started": "9999-12-31T23:59:59-23:59"},
    ),
    "records-unknown-ordering": Case("GET", "/api/v1/results?order=-nonsense", 400, "order"),
    "records-nul-in-filter": Case("GET", "/api/v1/playbooks?name=a%00b", 400, "null characters"),
    # A NUL in any path parameter (PostgreSQL refuses NUL in text: these answered 500 there).
    "records-nul-in-id": Case("GET", "/api/v1/playbooks/1%00", 400, "null characters"),
    "artifact-nul-in-id": Case("GET", "/artifacts/download/..%00x", 400, "null characters"),
    "run-nul-in-id": Case("GET", "/playbook/run/x%00y/status", 400, "null characters"),
    "definition-nul-in-id": Case("GET", "/playbook/%00", 400, "null characters"),
    "catalog-nul-in-id": Case("GET", "/api/v1/catalog/configs/%00", 400, "null characters"),
    "user-nul-in-name": Case("DELETE", "/api/v1/users/a%00b", 400, "null characters"),
    "records-huge-body": Case("POST", "/api/v1/files", 413, "larger than", content=b"x" * (LIMIT + 1)),
    "records-huge-chunked-body": Case(
        "POST", "/api/v1/files", 413, "larger than", content=b"x", chunked=True, seconds=3 * BUDGET
    ),
    # -- our own routes ({"error": {code, message, detail}}) ------------------------------------------------------
    "run-malformed-json": Case("POST", "/playbook/run", 400, "invalid json", content=b'{"id":'),
    "run-parent-id-list": Case("POST", "/playbook/run", 400, "parent_id", json={"id": "{pid}", "parent_id": ["x"]}),
    "run-params-not-mapping": Case("POST", "/playbook/run", 400, "params", json={"id": "{pid}", "params": [1]}),
    "run-nan": Case("POST", "/playbook/run", 400, "nan", content=raw('{"id":"{pid}","params":{"n":NaN}}')),
    "run-lone-surrogate": Case("POST", "/playbook/run", 400, "surrogate", content=raw('{"id":"\\udc00"}')),
    "run-nul": Case("POST", "/playbook/run", 400, "null characters", json={"id": "{pid}", "agent_id": "a\x00"}),
    "run-invalid-utf8": Case("POST", "/playbook/run", 400, "invalid json", content=b'{"id":"\xc3\x28"}'),
    "run-deep-json": Case("POST", "/playbook/run", 400, "deep", content=b"[" * 100_000 + b"]" * 100_000),
    "runs-negative-limit": Case("GET", "/playbook/runs?limit=-1", 400, "limit"),
    "runs-huge-offset": Case("GET", f"/playbook/runs?offset={HUGE}", 400, "offset"),
    "runs-unknown-filter": Case("GET", "/playbook/runs?bogus=1", 400, "bogus"),
    "users-unknown-filter": Case("GET", "/api/v1/users?bogus=1", 400, "bogus"),
    "runs-unknown-status": Case("GET", "/playbook/runs?status=nope", 400, "status"),
    "approve-comment-not-text": Case("POST", "/playbook/run/approve/{rid}", 400, "comment", json={"comment": 5}),
    "definition-metadata-not-mapping": Case(
        "POST", "/playbook", 400, "metadata", json={"kind": "Playbook", "metadata": [1], "spec": SPEC}
    ),
    "definition-nul-in-name": Case("POST", "/playbook", 400, "null characters", json={"name": "a\x00b", "spec": SPEC}),
    "definition-long-name": Case("POST", "/playbook", 400, "name", json={"name": "n" * 256, "spec": SPEC}),
    "definition-deep-json": Case("POST", "/playbook", 400, "deep", content=b"[" * 100_000 + b"]" * 100_000),
    "definition-deep-yaml": Case("POST", "/playbook", 400, "deep", content=b"- " * 100_000 + b"x"),
    "definition-yaml-alias-bomb": Case("POST", "/playbook", 400, "expands", content=BOMB.encode()),
    "definition-huge-yaml": Case("POST", "/playbook", 413, "yaml", content=b"a: " + b"x" * (2 * 1024 * 1024)),
    "definition-10000-actions": Case(
        "POST",
        "/playbook",
        400,
        "actions",
        json=definition(actions=[{"name": f"a{i}", "exec": {"script": "true"}} for i in range(10_000)]),
        # 0.6 MB of JSON: encoding it here and parsing 10,000 objects there took 1.02 s once with the whole suite on
        # 2 cores; the budget is to catch a hang, not to time the parser.
        seconds=3 * BUDGET,
    ),
    "definition-10000-actions-yaml": Case(
        "POST",
        "/playbook",
        400,
        "yaml values",
        content=yaml.safe_dump(
            definition(actions=[{"name": f"a{i}", "exec": {"script": "true"}} for i in range(10_000)])
        ).encode(),
    ),
    "definition-flat-yaml-list": Case(
        "POST", "/playbook", 400, "yaml values", content=b"x: [" + b"a, " * 300_000 + b"]"
    ),
    "definition-timeout-overflow": Case(
        "POST", "/playbook", 400, "longer than 366 days", json=definition(timeout="99999999999d")
    ),
    "definition-yaml-infinity": Case(
        "POST",
        "/playbook",
        400,
        "not a number",
        content=INFINITE_RETRY,
    ),
    "definition-invalid-utf8": Case("POST", "/playbook", 400, "body", content=b"name: \xff\xfe\nspec: {}"),
    "definition-huge-body": Case("POST", "/playbook", 413, "larger than", content=b"x" * (LIMIT + 1)),
    "params-not-mapping": Case("POST", "/playbook/{pid}/params", 400, "params", json={"params": "x"}),
    "permission-long-principal": Case(
        "POST", "/playbook/{pid}/permissions", 400, "principal", json={"principal": "p" * 300, "action": "run"}
    ),
    "user-teams-int": Case("POST", "/api/v1/users", 400, "teams", json={"username": "u", "password": "p", "teams": 5}),
    "user-long-username": Case("POST", "/api/v1/users", 400, "username", json={"username": "u" * 300, "password": "p"}),
    "user-3mb-username": Case(
        "POST", "/api/v1/users", 400, "username", json={"username": "u" * 3_000_000, "password": "p"}
    ),
    "user-10mb-username": Case(
        "POST", "/api/v1/users", 413, "larger than", json={"username": "u" * 10_000_000, "password": "p"}
    ),
    "user-nul-username": Case(
        "POST", "/api/v1/users", 400, "null characters", json={"username": "u\x00", "password": "p"}
    ),
    "catalog-long-id": Case("POST", "/api/v1/catalog/configs", 400, "id", json={"id": "i" * 37, "name": "c"}),
    "catalog-long-name": Case("POST", "/api/v1/catalog/configs", 400, "name", json={"name": "c" * 256}),
    "catalog-tags-not-mapping": Case("POST", "/api/v1/catalog/checks", 400, "tags", json={"name": "c", "tags": [1]}),
    "artifact-traversal-backslash": Case("GET", "/artifacts/download/..%5C..%5Cetc%5Cpasswd", 404, "artifact"),
    "artifact-traversal-dots": Case("GET", "/artifacts/download/%2E%2E", 404, "artifact"),
}


@dataclass
class World:
    mission: Mission
    playbook_id: str
    run_id: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base: Path = tmp_path_factory.mktemp(request.param)
    with ExitStack() as stack:
        url = ""
        if request.param == "postgres":
            url = stack.enter_context(fresh_postgres_database())
        settings = make_settings(base, url, server={"max_body_bytes": LIMIT}, engine={"workers": 0})
        mission = stack.enter_context(mission_control(settings))
        playbook_id = mission.define("target", SPEC, as_yaml=False)
        run_id = mission.run(playbook_id)
        yield World(mission, playbook_id, run_id)


def _send(world: World, case: Case) -> httpx.Response:
    def fill(text: str) -> str:
        return text.replace("{pid}", world.playbook_id).replace("{rid}", world.run_id)

    path = fill(case.path)
    content = case.content
    if case.json is not None:
        content = fill(json.dumps(case.json)).encode()
    elif content is not None:
        content = fill(content.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    if case.chunked:

        def chunks() -> Iterator[bytes]:
            for _ in range(LIMIT // (64 * 1024) + 2):
                yield b"x" * (64 * 1024)

        return world.mission.http.request(case.method, path, content=chunks(), headers=case.headers)
    return world.mission.http.request(case.method, path, content=content, headers=case.headers)


def _timed(world: World, case: Case) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = _send(world, case)
    return response, time.monotonic() - started


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_a_4xx_naming_the_problem(world: World, name: str) -> None:
    case = CASES[name]
    response, elapsed = _timed(world, case)
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    assert case.says in response.text.lower(), response.text[:500]
    if elapsed >= case.seconds:
        # One slow answer on a loaded 2-core machine is noise (CI saw 1.04 s for a NUL filter refused before any
        # query); a parser that hangs or crawls is slow every time, so the budget holds for the better of two.
        again, elapsed_again = _timed(world, case)
        assert again.status_code == case.status, again.text[:500]
        elapsed = min(elapsed, elapsed_again)
    assert elapsed < case.seconds, f"{name} took {elapsed:.2f}s twice"
    health = world.mission.http.get("/healthcheck", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"

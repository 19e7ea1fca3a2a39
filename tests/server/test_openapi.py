"""The OpenAPI document describes every operation (bodies, answers, errors, unique ids), the documented models
are the shapes the server really returns, and every timestamp Ara answers with is UTC ending in ``Z``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from ara.catalog.schemas import CatalogItemRead
from ara.playbooks.schemas import DefinitionRead, PermissionRead, RunCreated, RunRead, RunStatusRead
from ara.server.app import create_app
from ara.users.schemas import UserRead
from tests.conftest import make_settings
from tests.support.mission import Mission, mission_control

BODYLESS = {
    ("post", "/playbook/run/cancel/{run_id}"),
    ("post", "/playbook/run/rerun/{run_id}"),
    ("post", "/apps/api-key/rotate"),
}
ERRORS = {"400", "401", "403", "404", "409", "413", "503"}
Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TIME_KEYS = re.compile(r"(_at|_time|^created|^updated|^started|^ended)$")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(make_settings(tmp_path_factory.mktemp("openapi")), workers=False)
    try:
        return app.openapi()
    finally:
        app.state.ara.engine.dispose()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "$ref":
                yield child
            else:
                yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def test_every_operation_is_described(document: dict[str, Any]) -> None:
    operations = list(_operations(document))
    assert len(operations) >= 85
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        if method in ("post", "put", "patch") and (method, path) not in BODYLESS:
            content = operation["requestBody"]["content"]  # JSON, or a file upload's multipart form
            schema = (content.get("application/json") or content["multipart/form-data"])["schema"]
            assert schema.get("$ref") or schema.get("type") or schema == {}, where
        success = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
        assert success, where
        if "204" not in success:
            assert any("content" in r for r in success.values()), where
        assert ERRORS <= set(operation["responses"]), where
        assert "422" not in operation["responses"], where
        for status in ERRORS:
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/DrfError" if path.startswith("/api/") else "/Error"), where
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves_and_models_are_named_by_role(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for ref in set(_refs(document)):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for name in ("RunCreate", "RunRead", "DefinitionCreate", "UserCreate", "UserRead", "CatalogItemCreate"):
        assert name in schemas
    for resource in ("Playbooks", "Results", "Hosts", "Files", "Labels"):
        assert {f"{resource}Create", f"{resource}Update", f"{resource}Read", f"{resource}List"} <= set(schemas)
    results = document["paths"]["/api/v1/results"]["get"]["parameters"]
    names = {param["name"] for param in results}
    assert {"status", "playbook", "host_name", "order", "limit", "offset", "started_after"} <= names


@pytest.fixture
def mission(tmp_path: Path) -> Iterator[Mission]:
    with mission_control(make_settings(tmp_path, engine={"workers": 0})) as running:
        yield running


def _times(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for child_key, child in value.items():
            yield from _times(child, child_key)
    elif isinstance(value, list):
        for child in value:
            yield from _times(child, key)
    elif TIME_KEYS.search(key) and value is not None:
        yield key, value


def _exactly(model: type[BaseModel], data: dict[str, Any]) -> None:
    """The documented model has exactly the keys the server sends, and validates them."""
    assert set(data) == set(model.model_fields), (model.__name__, sorted(set(data) ^ set(model.model_fields)))
    model.model_validate(data)


def test_answers_match_their_models_and_every_timestamp_ends_in_z(mission: Mission) -> None:
    http = mission.http
    playbook_id = mission.define("stamp", {"actions": [{"name": "a", "exec": {"script": "true"}}]}, as_yaml=False)
    created = http.post("/playbook/run", json={"id": playbook_id}).json()
    run_id = created["run_id"]
    item = http.post("/api/v1/catalog/configs", json={"name": "db", "tags": {"env": "prod"}}).json()
    user = http.post("/api/v1/users", json={"username": "zoe", "password": "pw", "teams": ["sre"]}).json()
    grant = http.post(f"/playbook/{playbook_id}/permissions", json={"principal": "zoe", "action": "run"}).json()
    recorded = http.post("/api/v1/playbooks", json={"ansible_version": "2.17", "path": "/p.yml"}).json()

    _exactly(RunCreated, created)
    _exactly(RunRead, http.get(f"/playbook/run/{run_id}").json())
    _exactly(RunStatusRead, http.get(f"/playbook/run/{run_id}/status").json())
    _exactly(DefinitionRead, http.get(f"/playbook/{playbook_id}").json())
    _exactly(CatalogItemRead, item)
    _exactly(UserRead, user)
    _exactly(PermissionRead, grant)

    answers = [
        created,
        http.get(f"/playbook/run/{run_id}").json(),
        http.get(f"/playbook/run/{run_id}/status").json(),
        http.get("/playbook/runs").json(),
        http.get("/playbook/list").json(),
        http.get(f"/playbook/{playbook_id}").json(),
        item,
        http.get("/api/v1/catalog/configs").json(),
        user,
        http.get("/api/v1/users").json(),
        recorded,
        http.get("/api/v1/playbooks").json(),
    ]
    stamps = [stamp for answer in answers for stamp in _times(answer)]
    keys = {key for key, _ in stamps}
    assert {"created_at", "updated_at", "scheduled_time", "starts_at", "created", "updated", "started"} <= keys
    for key, value in stamps:
        assert isinstance(value, str) and Z_TIME.match(value), (key, value)

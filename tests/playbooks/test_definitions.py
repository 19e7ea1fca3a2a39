"""Definitions: JSON or YAML, CRD or {name, spec}; validation on save; soft delete; list by resource; params.

Their storage is plain JSON, so SQLite covers them; runs are tested on both databases.
"""

from __future__ import annotations

import yaml

from tests.support.mission import Mission

SIMPLE = {"actions": [{"name": "hello", "exec": {"script": "echo hi"}}]}


INVALID = [
    ({"actions": []}, "spec"),
    ({"actions": [{"name": "a", "exec": {"script": "x"}}, {"name": "a", "exec": {"script": "y"}}]}, "spec"),
    ({"actions": [{"name": " ", "exec": {"script": "x"}}]}, "spec.actions.0"),
    ({"actions": [{"name": "a"}]}, "spec.actions.0"),
    ({"actions": [{"name": "a", "exec": {"script": "x"}, "http": {"url": "u"}}]}, "spec.actions.0"),
    ({"on": {"schedule": [{"schedule": "every tuesday"}]}, **SIMPLE}, "spec.on.schedule.0.schedule"),
    (
        {"on": {"schedule": [{"schedule": "*/5 * * * *"}]}, "approval": {"approvers": {"people": ["x"]}}, **SIMPLE},
        "spec",
    ),
    ({"actions": [{"name": "a", "if": "params.x ==", "exec": {"script": "x"}}]}, "spec.actions.0"),
    ({"timeout": "soon", **SIMPLE}, "spec"),
]


def test_invalid_specs_are_refused_naming_the_field(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    for spec, field in INVALID:
        response = mission.http.post("/playbook", json={"name": "bad", "spec": spec})
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["detail"], (spec, response.json())
    assert mission.http.get("/playbook/list").json() == []


def test_forms_update_soft_delete(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    created = mission.http.post("/playbook", json={"name": "plain", "spec": SIMPLE})
    assert created.status_code == 201 and created.json()["source"] == "api"
    playbook_id = created.json()["id"]
    assert mission.http.post("/playbook", json={"name": "plain", "spec": SIMPLE}).status_code == 409
    crd = yaml.safe_dump({"kind": "Playbook", "metadata": {"name": "crd"}, "spec": {"title": "CRD", **SIMPLE}})
    assert mission.http.post("/playbook", content=crd).json()["title"] == "CRD"

    replaced = mission.http.put(
        f"/playbook/{playbook_id}", json={"name": "plain", "spec": {"category": "ops", **SIMPLE}}
    )
    assert replaced.status_code == 200 and replaced.json()["category"] == "ops"
    assert mission.http.get(f"/playbook/{playbook_id}").json()["spec"]["category"] == "ops"

    assert mission.http.delete(f"/playbook/{playbook_id}").status_code == 204
    assert mission.http.get(f"/playbook/{playbook_id}").status_code == 404
    assert [p["name"] for p in mission.http.get("/playbook/list").json()] == ["crd"]
    with mission.as_user("olivia") as operator:
        assert operator.post("/playbook", json={"name": "x", "spec": SIMPLE}).status_code == 403
    with mission.as_user("victor") as viewer:
        assert viewer.get("/playbook/list").status_code == 200


def test_list_by_resource_kind(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    catalog = mission.http
    web = catalog.post(
        "/api/v1/catalog/configs", json={"name": "web-1", "type": "Kubernetes::Deployment", "tags": {"env": "prod"}}
    ).json()
    db = catalog.post(
        "/api/v1/catalog/configs", json={"name": "db-1", "type": "Kubernetes::StatefulSet", "labels": {"tier": "data"}}
    ).json()
    check = catalog.post("/api/v1/catalog/checks", json={"name": "http-ok", "type": "http"}).json()
    component = catalog.post("/api/v1/catalog/components", json={"name": "payments", "type": "service"}).json()
    mission.define(
        "restart-deployments", {"configs": [{"types": ["Kubernetes::Deployment"], "tags": {"env": "prod"}}], **SIMPLE}
    )
    mission.define("data-tier", {"configs": [{"labelSelector": "tier=data"}], **SIMPLE})
    mission.define("on-checks", {"checks": [{"types": ["http"]}], **SIMPLE})
    mission.define("on-components", {"components": [{"name": "pay*"}], **SIMPLE})

    def names(**query: str) -> list[str]:
        response = mission.http.get("/playbook/list", params=query)
        assert response.status_code == 200, response.text
        return sorted(p["name"] for p in response.json())

    assert names() == ["data-tier", "on-checks", "on-components", "restart-deployments"]
    assert names(config_id=web["id"]) == ["restart-deployments"]
    assert names(config_id=db["id"]) == ["data-tier"]
    assert names(check_id=check["id"]) == ["on-checks"]
    assert names(component_id=component["id"]) == ["on-components"]
    assert sorted(p["name"] for p in mission.http.post("/playbook/list", json={"config_id": web["id"]}).json()) == [
        "restart-deployments"
    ]
    two = mission.http.get("/playbook/list", params={"config_id": web["id"], "check_id": check["id"]})
    assert two.status_code == 400
    assert mission.http.get("/playbook/list", params={"config_id": "nope"}).status_code == 404
    # A run on a resource the playbook does not apply to is refused.
    playbook_id = next(p["id"] for p in mission.http.get("/playbook/list").json() if p["name"] == "data-tier")
    refused = mission.http.post("/playbook/run", json={"id": playbook_id, "config_id": web["id"]})
    assert refused.status_code == 400 and "config_id" in refused.json()["error"]["detail"]


def test_params_missing_unknown_invalid_and_rendered_defaults(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    web = mission.http.post(
        "/api/v1/catalog/configs", json={"name": "web-1", "type": "Deployment", "properties": {"replicas": 4}}
    ).json()
    spec = {
        "configs": [{"types": ["Deployment"]}],
        "parameters": [
            {"name": "replicas", "required": True, "default": "{{ config.properties.replicas * 2 }}"},
            {"name": "reason", "required": True},
            {"name": "mode", "type": "list", "options": [{"label": "Fast", "value": "fast"}, {"value": "safe"}]},
            {"name": "dry", "type": "checkbox", "default": "false"},
            {"name": "wait", "type": "duration", "default": "30s"},
            {"name": "token", "type": "secret"},
        ],
        **SIMPLE,
    }
    playbook_id = mission.define("params", spec)
    form = mission.http.post(f"/playbook/{playbook_id}/params", json={"id": playbook_id, "config_id": web["id"]}).json()
    defaults = {p["name"]: p["default"] for p in form["params"]}
    assert defaults["replicas"] == "8" and defaults["wait"] == "30s" and defaults["token"] is None
    assert [o["value"] for o in form["params"][2]["options"]] == ["fast", "safe"]

    def run(params: dict) -> tuple[int, dict]:
        response = mission.http.post(
            "/playbook/run", json={"id": playbook_id, "config_id": web["id"], "params": params}
        )
        return response.status_code, response.json()

    status, body = run({})
    assert status == 400 and "reason" in " ".join(body["error"]["detail"]["params"])
    status, body = run({"reason": "x", "colour": "red"})
    assert status == 400 and "colour" in " ".join(body["error"]["detail"]["params"])
    status, body = run({"reason": "x", "mode": "reckless", "dry": "maybe", "wait": "a while"})
    assert status == 400
    assert {"params.mode", "params.dry", "params.wait"} <= set(body["error"]["detail"])
    status, body = run({"reason": "because", "mode": "safe", "dry": True, "token": "hunter2"})
    assert status == 201
    run_data = mission.get(body["run_id"])
    assert run_data["parameters"] == {
        "replicas": "8",
        "reason": "because",
        "mode": "safe",
        "dry": "true",
        "wait": "30s",
        "token": "[redacted]",
    }
    assert "hunter2" not in mission.http.get(f"/playbook/run/{body['run_id']}/status").text


def test_catalog_crud(mission_sqlite: Mission) -> None:
    api = mission_sqlite.http
    created = api.post("/api/v1/catalog/checks", json={"name": "ping", "type": "icmp", "tags": {"zone": "a"}})
    assert created.status_code == 201
    item = created.json()
    assert api.get(f"/api/v1/catalog/checks/{item['id']}").json()["tags"] == {"zone": "a"}
    patched = api.patch(f"/api/v1/catalog/checks/{item['id']}", json={"properties": {"interval": 30}}).json()
    assert patched["properties"] == {"interval": 30} and patched["name"] == "ping"
    assert api.put(f"/api/v1/catalog/checks/{item['id']}", json={"type": "tcp"}).status_code == 400  # name required
    assert api.post("/api/v1/catalog/checks", json={"name": "x", "tags": "nope"}).status_code == 400
    assert api.get("/api/v1/catalog/widgets").status_code == 404
    assert api.delete(f"/api/v1/catalog/checks/{item['id']}").status_code == 204
    assert api.get("/api/v1/catalog/checks").json() == []
    with mission_sqlite.as_user("olivia") as operator:
        assert operator.post("/api/v1/catalog/configs", json={"name": "x"}).status_code == 403


def test_filters_must_hold_for_a_run_to_be_accepted(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    playbook_id = mission.define(
        "prod-only",
        {"parameters": [{"name": "env"}], "filters": ['params.env == "prod"'], **SIMPLE},
    )
    refused = mission.http.post("/playbook/run", json={"id": playbook_id, "params": {"env": "dev"}})
    assert refused.status_code == 400 and "filter not satisfied" in refused.text
    assert mission.http.post("/playbook/run", json={"id": playbook_id, "params": {"env": "prod"}}).status_code == 201

"""The curl flow end to end: define, trigger with params, pending approval, approve, completed, artifacts."""

from __future__ import annotations

import hashlib

from tests.support.mission import Mission

SCALE = """
title: Scale deployment
parameters:
  - {name: replicas, label: Replicas, required: true}
  - {name: env, label: Environment, default: "{{ 'prod' if true else 'dev' }}"}
approval:
  type: any
  approvers: {people: [paul]}
actions:
  - name: scale
    exec:
      script: |
        echo "scaling to {{ params.replicas }} in {{.params.env}} as $(.user.name)"
        head -c 3000 /dev/urandom > blob.bin
      artifacts: [{path: /dev/stdout}, {path: "*.bin"}]
"""


def test_trigger_approve_complete_and_download(mission: Mission) -> None:
    playbook_id = mission.define("scale", SCALE)
    with mission.as_user("olivia") as olivia:
        response = olivia.post("/playbook/run", json={"id": playbook_id, "params": {"replicas": "3"}})
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"run_id", "starts_at"} and body["starts_at"].endswith("Z")
    run_id = body["run_id"]
    assert mission.get(run_id)["status"] == "pending_approval"

    with mission.as_user("paul") as paul:
        approved = paul.post(f"/playbook/run/approve/{playbook_id}/{run_id}")
    assert approved.status_code == 200

    run = mission.wait(run_id)
    assert run["status"] == "completed", run
    assert run["parameters"] == {"replicas": "3", "env": "prod"}
    assert run["created_by"] == "olivia" and run["start_time"] and run["end_time"]
    for key in ("spec", "scheduled_time", "timeout", "request", "config_id", "agent_id", "parent_id", "error"):
        assert key in run
    [action] = mission.status(run_id)["actions"]
    assert action["status"] == "completed"
    assert action["result"]["stdout"] == "scaling to 3 in prod as olivia\n"

    artifacts = mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
    assert sorted(a["path"] for a in artifacts) == ["/dev/stdout", "blob.bin"]
    for artifact in artifacts:
        download = mission.http.get(f"/artifacts/download/{artifact['id']}", params={"filename": "out.txt"})
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == artifact["checksum"]
        assert len(download.content) == artifact["size"]
        assert 'filename="out.txt"' in download.headers["content-disposition"]
    # A traversal in the download name only names the file the browser saves.
    named = mission.http.get(f"/artifacts/download/{artifacts[0]['id']}", params={"filename": "../../etc/passwd"})
    assert named.status_code == 200 and 'filename=".._.._etc_passwd"' in named.headers["content-disposition"]
    blob = next(a for a in artifacts if a["path"] == "blob.bin")
    assert blob["size"] == 3000 and blob["content_type"] == "application/octet-stream"

    # The run is recorded beside Ansible runs.
    recorded = mission.http.get("/api/v1/playbooks", params={"label": "playbook-run"}).json()
    assert recorded["count"] == 1 and recorded["results"][0]["status"] == "completed"


def test_unknown_routes_and_ids(mission: Mission) -> None:
    assert mission.http.get("/playbook/run/nope").status_code == 404
    assert mission.http.post("/playbook/run", json={"id": "missing"}).status_code == 404
    assert mission.http.post("/playbook/run", content=b"{oops").status_code == 400
    anonymous = mission.http.post("/playbook/run", json={"id": "x"}, auth=None)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    broken = mission.http.post("/playbook/run", content=b"{oops", auth=None)
    assert broken.status_code == 401  # the caller is checked before the body


def test_artifact_traversal_reaches_the_handler_and_is_refused(mission: Mission) -> None:
    """httpx would normalise ``/artifacts/download/../../etc/passwd`` to ``/etc/passwd`` before sending (the
    router's 404, the handler never reached): these encoded ids arrive as written, and the download handler
    itself refuses them (its answer names the artifact; the router's says ``http_404``)."""
    for raw in ("%2E%2E", "..%5C..%5Cetc%5Cpasswd", "%2E%2E%5C%2E%2E%5Cetc%5Cpasswd"):
        request = mission.http.build_request("GET", "/artifacts/download/placeholder")
        request.url = request.url.copy_with(raw_path=f"/artifacts/download/{raw}".encode())
        response = mission.http.send(request)
        assert request.url.raw_path.endswith(raw.encode())  # sent as written
        error = response.json()["error"]
        assert 400 <= response.status_code < 500 and error["code"] != "http_404", (raw, response.text)
        assert "artifact" in error["message"], (raw, response.text)
        assert "root:" not in response.text
    # A slash, even encoded, never makes a path of the id: the router has no such route.
    unrouted = mission.http.get("/artifacts/download/..%2F..%2Fetc%2Fpasswd")
    assert unrouted.status_code == 404 and "root:" not in unrouted.text
    nothing = mission.http.get("/artifacts/download/nope")
    assert nothing.status_code == 404 and nothing.json()["error"]["message"] == "artifact nope not found"

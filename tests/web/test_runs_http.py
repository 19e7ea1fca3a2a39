"""The playbook-run pages over plain HTTP (their subject is not the browser): what each role sees, forged posts,
the server's validation messages, filters and paging, downloads and the live stream's messages."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ara.server.routes.ui import runs_live
from ara.server.routes.ui.runs_page import OUTPUT_LIMIT, output_of
from tests.web.conftest import Site
from tests.web.runs_support import DEPLOY, FLAKY, RESTART, SECRET, SLOW, WebUser, api_run, define, wait_for


@pytest.fixture(scope="module")
def deploy_id(site: Site) -> str:
    return define(site, "deploy-web", DEPLOY)


@pytest.fixture(scope="module")
def users(site: Site) -> Iterator[dict[str, WebUser]]:
    logged_in = {name: WebUser(site, name) for name in ("alice", "bob", "carol")}
    yield logged_in
    for user in logged_in.values():
        user.close()


def _start(user: WebUser, deploy_id: str, **params: str) -> httpx.Response:
    return user.post(f"/ui/runs/definitions/{deploy_id}", {f"params.{k}": v for k, v in params.items()})


def test_the_form_shows_each_parameter_with_its_default_and_kind(users: dict[str, WebUser], deploy_id: str) -> None:
    page = users["alice"].get(f"/ui/runs/definitions/{deploy_id}")
    assert page.status_code == 200
    html = page.text
    assert 'name="params.replicas"' in html and "required" in html
    assert 'name="params.window" type="text" value="5m"' in html
    assert '<option value="staging" selected>Staging</option>' in html
    assert 'name="params.dry_run" type="checkbox"' in html
    assert "wait for approval by bob" in html and ">Run</button>" in html


def test_a_bad_value_comes_back_next_to_its_field_with_400(users: dict[str, WebUser], deploy_id: str) -> None:
    answer = _start(users["alice"], deploy_id, replicas="2", window="soon")
    assert answer.status_code == 400
    assert 'id="f-params-window-error"' in answer.text and "invalid duration" in answer.text
    assert 'value="soon"' in answer.text  # what was typed stays
    missing = _start(users["alice"], deploy_id, window="5m")
    assert missing.status_code == 400 and "missing required parameter(s): replicas" in missing.text
    assert '<p class="error" id="f-params-replicas-error">this parameter is required</p>' in missing.text


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_403(users: dict[str, WebUser], deploy_id: str) -> None:
    started = _start(users["alice"], deploy_id, replicas="1")
    assert started.status_code == 303
    run_path = started.headers["location"]
    run_id = run_path.rsplit("/", 1)[1]
    carol, bob = users["carol"], users["bob"]
    seen = carol.get(run_path).text
    assert "pending_approval" in seen
    for action in ("approve", "reject", "cancel", "rerun"):
        assert f'action="{run_path}/{action}"' not in seen
    assert "may not run this playbook" in carol.get(f"/ui/runs/definitions/{deploy_id}").text
    for action in ("approve", "reject", "cancel"):
        assert carol.post(f"{run_path}/{action}").status_code == 403
    assert carol.post(f"/ui/runs/definitions/{deploy_id}", {"params.replicas": "1"}).status_code == 403
    # alice (operator) may cancel but is no approver; bob sees every button a pending run has.
    alice_sees = users["alice"].get(run_path).text
    assert f'action="{run_path}/cancel"' in alice_sees and f'action="{run_path}/approve"' not in alice_sees
    assert users["alice"].post(f"{run_path}/approve").status_code == 403
    bob_sees = bob.get(run_path).text
    assert f'action="{run_path}/approve"' in bob_sees and f'action="{run_path}/reject"' in bob_sees
    # Without the CSRF token even bob's post is refused.
    assert bob.http.post(f"{run_path}/approve").status_code == 403
    assert api_run(bob.site, run_id)["run"]["status"] == "pending_approval"


def test_reject_with_a_comment_shows_the_comment(users: dict[str, WebUser], deploy_id: str) -> None:
    run_path = _start(users["alice"], deploy_id, replicas="4").headers["location"]
    answer = users["bob"].post(f"{run_path}/reject", {"comment": "not during the freeze"})
    assert answer.status_code == 303
    page = users["alice"].get(run_path).text
    assert "cancelled" in page and "not during the freeze" in page and "rejected by bob" in page
    again = users["bob"].post(f"{run_path}/approve")  # no longer pending: the server's message, 400
    assert again.status_code == 400 and "not pending approval" in again.text


def test_rerun_creates_a_new_run_with_the_same_parameters(
    site: Site, users: dict[str, WebUser], deploy_id: str
) -> None:
    run_path = _start(users["alice"], deploy_id, replicas="5", env="prod", dry_run="true").headers["location"]
    first = run_path.rsplit("/", 1)[1]
    assert users["bob"].post(f"{run_path}/approve").status_code == 303
    done = wait_for(site, first, "completed")
    assert done["run"]["parameters"] == {"replicas": "5", "window": "5m", "env": "prod", "dry_run": "true"}
    page = users["alice"].get(run_path).text
    assert "deploying 5 replicas to prod (dry run true) as alice" in page
    rerun = users["alice"].post(f"{run_path}/rerun")
    assert rerun.status_code == 303
    second = rerun.headers["location"].rsplit("/", 1)[1]
    assert second != first
    view = api_run(site, second)["run"]
    assert view["parameters"] == done["run"]["parameters"] and view["request"]["rerun_of"] == first
    assert view["status"] == "pending_approval" and view["created_by"] == "alice"
    assert f'href="/ui/runs/{first}"' in users["alice"].get(f"/ui/runs/{second}").text


def test_artifacts_download_through_the_ui_with_the_apis_permission(
    site: Site, users: dict[str, WebUser], deploy_id: str
) -> None:
    run_path = _start(users["alice"], deploy_id, replicas="2").headers["location"]
    run_id = run_path.rsplit("/", 1)[1]
    users["bob"].post(f"{run_path}/approve")
    wait_for(site, run_id, "completed")
    listed = httpx.get(f"{site.url}/artifacts/list/playbook_run/{run_id}", auth=("admin", site.password)).json()
    report = next(a for a in listed if a["path"] == "report.txt")
    link = f"{run_path}/artifacts/{report['id']}"
    assert f'href="{link}"' in users["carol"].get(run_path).text  # viewers may read runs, so download
    download = users["carol"].get(link)
    assert download.status_code == 200 and download.content == b"report for staging\n"
    assert "report.txt" in download.headers["content-disposition"]
    assert httpx.get(f"{site.url}{link}").status_code in (303, 307)  # anonymous: to the login form
    other = _start(users["alice"], deploy_id, replicas="3").headers["location"]
    assert users["carol"].get(f"{other}/artifacts/{report['id']}").status_code == 404  # not that run's


def test_the_index_filters_runs_by_status_and_pages(site: Site, users: dict[str, WebUser], deploy_id: str) -> None:
    alice = users["alice"]
    for replicas in range(3):
        _start(alice, deploy_id, replicas=str(replicas))
    page = alice.get("/ui/runs", status="pending_approval")
    assert page.status_code == 200 and "deploy-web" in page.text and "Deploy web" in page.text
    assert page.text.count('<td><span class="status status-pending_approval">') >= 3
    assert 'status-completed">' not in page.text.split("Recent runs")[1]
    assert alice.get("/ui/runs", status="bogus").status_code == 400
    assert alice.get("/ui/runs", page="0").status_code == 400
    unknown = alice.get("/ui/runs", resource="no-such-item")
    assert unknown.status_code == 400 and "no config, check or component" in unknown.text
    assert alice.get("/ui/runs/not-a-run").status_code == 404
    assert alice.get("/ui/runs/definitions/not-a-definition").status_code == 404


def test_cancel_from_the_page_ends_a_running_run(site: Site, users: dict[str, WebUser]) -> None:
    slow_id = define(site, "slow-job", SLOW)
    run_path = _start(users["alice"], slow_id).headers["location"]
    run_id = run_path.rsplit("/", 1)[1]
    wait_for(site, run_id, "running")
    assert users["alice"].post(f"{run_path}/cancel").status_code == 303
    assert wait_for(site, run_id, "cancelled")["run"]["error"] == "cancelled by alice"


def test_the_live_stream_sends_every_part_then_only_changes_then_done(
    site: Site, users: dict[str, WebUser], deploy_id: str
) -> None:
    run_path = _start(users["alice"], deploy_id, replicas="1").headers["location"]
    events: list[str] = []
    with users["alice"].http.stream("GET", f"{run_path}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
                if events[-1] == "run-artifacts" and len(events) == 6:  # every part once: now approve
                    assert users["bob"].post(f"{run_path}/approve").status_code == 303
            elif 'data-run-status="completed"' in line:
                events.append("(completed)")
    first = ["run-facts", "run-controls", "run-params", "run-approvals", "run-actions", "run-artifacts"]
    assert events[:6] == first and events[-1] == "done"  # the stream ended by itself
    assert "(completed)" in events and events.count("run-params") == 1  # parameters never change
    assert events.count("run-facts") >= 2 and events.count("run-approvals") == 2
    finished = users["carol"].get(f"{run_path}/events").text  # a finished run: every part once, then done
    assert finished.count("event: ") == 7 and finished.endswith("event: done\ndata: over\n\n")
    assert httpx.get(f"{site.url}{run_path}/events").status_code in (303, 307)


def test_playbooks_filtered_by_resource_and_a_run_aimed_at_one(site: Site, users: dict[str, WebUser]) -> None:
    admin = ("admin", site.password)
    web = httpx.post(
        f"{site.url}/api/v1/catalog/configs", json={"name": "web-1", "type": "Deployment"}, auth=admin
    ).json()
    db = httpx.post(f"{site.url}/api/v1/catalog/configs", json={"name": "db-1", "type": "Database"}, auth=admin).json()
    restart = define(site, "restart-web", RESTART)
    alice = users["alice"]
    listed = alice.get("/ui/runs", resource=web["id"]).text.split("Recent runs")[0]
    assert f'href="/ui/runs/definitions/{restart}?resource={web["id"]}"' in listed and "deploy-web" not in listed
    assert "restart-web" not in alice.get("/ui/runs", resource=db["id"]).text.split("Recent runs")[0]
    form = alice.get(f"/ui/runs/definitions/{restart}", resource=web["id"]).text
    assert f'name="resource" type="text" value="{web["id"]}"' in form
    assert 'name="params.target" type="text" value="web-1"' in form  # a default templated on the resource
    refused = alice.post(f"/ui/runs/definitions/{restart}", {"resource": db["id"]})
    assert refused.status_code == 400 and 'id="f-resource-error"' in refused.text
    assert "does not apply to config" in refused.text
    unknown = alice.post(f"/ui/runs/definitions/{restart}", {"resource": "nope"})
    assert unknown.status_code == 400 and "no config, check or component with id" in unknown.text
    started = alice.post(f"/ui/runs/definitions/{restart}", {"resource": web["id"]})
    assert started.status_code == 303
    view = api_run(site, started.headers["location"].rsplit("/", 1)[1])["run"]
    assert view["config_id"] == web["id"] and view["parameters"] == {"target": "web-1"} and view["trigger"] == "ui"


def test_a_secret_is_never_sent_back_to_the_page(site: Site, users: dict[str, WebUser]) -> None:
    rotate = define(site, "rotate-token", SECRET)
    alice = users["alice"]
    assert 'name="params.token" type="password" value=""' in alice.get(f"/ui/runs/definitions/{rotate}").text
    refused = alice.post(f"/ui/runs/definitions/{rotate}", {"params.token": "hunter2-secret", "params.ttl": "later"})
    assert refused.status_code == 400 and "invalid duration" in refused.text
    assert "hunter2-secret" not in refused.text
    started = alice.post(f"/ui/runs/definitions/{rotate}", {"params.token": "hunter2-secret", "params.ttl": "2h"})
    run_path = started.headers["location"]
    wait_for(site, run_path.rsplit("/", 1)[1], "completed")
    page = alice.get(run_path).text
    assert "hunter2-secret" not in page and "<dt>token</dt><dd><code>[redacted]</code>" in page and "rotated" in page
    with alice.http.stream("GET", f"{run_path}/events") as stream:
        assert "hunter2-secret" not in "".join(stream.iter_text())


def test_long_output_is_cut_to_its_end() -> None:
    long = "x" * (OUTPUT_LIMIT + 10) + "the error"
    shown = output_of({"stdout": long, "stderr": "", "exitCode": 1})
    assert shown["stdout"].endswith("the error") and shown["stdout"].startswith("[19 earlier characters not shown")
    assert len(shown["stdout"]) < OUTPUT_LIMIT + 100 and "stderr" not in shown
    assert json.loads(shown["rest"]) == {"exitCode": 1}
    assert output_of("plain")["rest"] == '"plain"' and output_of(None)["rest"] == ""


def test_each_attempt_shows_with_its_output_and_the_runs_error(site: Site, users: dict[str, WebUser]) -> None:
    flaky = define(site, "flaky-job", FLAKY)
    run_path = _start(users["alice"], flaky).headers["location"]
    wait_for(site, run_path.rsplit("/", 1)[1], "failed")
    page = users["carol"].get(run_path).text
    assert page.count("<td>probe</td>") == 2
    assert "<td>probe</td><td>1</td>" in page and "<td>probe</td><td>2</td>" in page
    assert page.count('<pre class="stderr">connection refused') == 2
    assert "&#34;exitCode&#34;: 3" in page and "action &#39;probe&#39; failed: exit code 3" in page


def test_logging_out_ends_the_live_stream(
    site: Site, deploy_id: str, users: dict[str, WebUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs_live, "RECHECK_SECONDS", 0.2)  # the server runs in this process
    run_path = _start(users["alice"], deploy_id, replicas="1").headers["location"]
    leaving = WebUser(site, "alice")
    events: list[str] = []
    try:
        with leaving.http.stream("GET", f"{run_path}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                    if len(events) == 6:
                        assert leaving.post("/ui/logout").status_code == 303
                elif line.startswith("data: ") and events[-1] == "done":
                    events.append(line.removeprefix("data: "))
    finally:
        leaving.close()
    assert events[-2:] == ["done", "logged out"]
    assert api_run(site, run_path.rsplit("/", 1)[1])["run"]["status"] == "pending_approval"

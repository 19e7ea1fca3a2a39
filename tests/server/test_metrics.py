"""``GET /metrics``: the Prometheus text format parsed with prometheus-client's own parser; values read from the
database at scrape time (a real playbook run on the embedded executor moves them), HTTP latencies labelled by route
template, the read API's protection, and on PostgreSQL the queue depth and heartbeats of a real ``ara worker``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from ara.clients.offline import AraOfflineClient
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.server.app import create_app
from ara.server.metrics import Metrics
from ara.server.metrics_http import HttpMetrics
from ara.server.metrics_sql import result_counts
from ara.server.state import AppState
from ara.settings import Settings
from ara.users.service import create_user
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.factories import record_playbook
from tests.support.mission import Mission, mission_control
from tests.support.workers import WorkerProcess

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="
QUICK = {"actions": [{"name": "greet", "exec": {"script": "echo hello"}}]}


def scrape(client: httpx.Client | TestClient) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def mission(tmp_path: Path) -> Iterator[Mission]:
    with mission_control(make_settings(tmp_path)) as made:
        yield made


def test_a_completed_run_moves_the_counts_and_the_duration_histogram(mission: Mission) -> None:
    before = scrape(mission.http)
    assert value(before, "ara_database_up") == 1
    assert value(before, "ara_playbook_runs", status="completed") == 0  # present, at zero
    assert ("ara_playbook_runs", (("status", "completed"),)) in before
    run_id = mission.run(mission.define("quick", QUICK))
    assert mission.wait(run_id)["status"] == "completed"
    after = scrape(mission.http)
    assert value(after, "ara_playbook_runs", status="completed") == 1
    assert value(after, "ara_playbook_run_duration_seconds_count", status="completed") == 1
    assert value(after, "ara_playbook_run_duration_seconds_bucket", status="completed", le="+Inf") == 1
    assert 0 < value(after, "ara_playbook_run_duration_seconds_sum", status="completed") < 60
    # The run wrote its records playbook and one result: the records counts moved with it.
    grew = value(after, "ara_records_playbooks", status="completed") - value(
        before, "ara_records_playbooks", status="completed"
    )
    assert grew == 1
    assert value(after, "ara_records_results", status="ok") + value(after, "ara_records_results", status="changed") >= 1
    assert value(after, "ara_runs_due", queue="runs") == 0
    # The embedded executor's clock beats once a second.
    assert 0 <= value(after, "ara_worker_heartbeat_age_seconds", worker="embedded") < 30


def test_request_latencies_are_labelled_by_route_template_not_raw_path(mission: Mission) -> None:
    run_id = mission.run(mission.define("labelled", QUICK))
    mission.wait(run_id)
    assert mission.http.get("/api/v1/results/987654").status_code == 404
    assert mission.http.get("/no/such/page").status_code == 404
    samples = scrape(mission.http)
    routes = {dict(labels).get("route") for (name, labels) in samples if name.startswith("ara_http_request_duration")}
    assert "/playbook/run/{run_id}" in routes
    assert not any(run_id in route or "987654" in route for route in routes if route)
    count = "ara_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/playbook/run/{run_id}", status="200") >= 1
    assert value(samples, count, method="GET", route="unmatched", status="404") >= 1
    assert value(samples, count, method="GET", route="/api/v1/results/{key}", status="404") == 1


def test_metrics_are_protected_like_the_read_api(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"read_login_required": True})
    app = create_app(settings, workers=False)
    with unit_of_work(app.state.ara.writer) as session:
        create_user(session, username="reader", password="pw", role="viewer")
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", auth=("reader", "wrong")).status_code == 401
        client.auth = ("reader", "pw")
        assert value(scrape(client), "ara_database_up") == 1
        unknown = client.get("/metrics", params={"format": "json"})
        assert unknown.status_code == 400 and "format" in unknown.json()["error"]["detail"]
    app.state.ara.engine.dispose()


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    first, second = (create_app(make_settings(tmp_path / name), workers=False) for name in ("a", "b"))
    with TestClient(first) as one, TestClient(second) as two:
        for _ in range(3):
            one.get("/api/v1/playbooks")
        count = "ara_http_request_duration_seconds_count"
        labels = {"method": "GET", "route": "/api/v1/playbooks", "status": "200"}
        assert value(scrape(one), count, **labels) == 3
        assert value(scrape(two), count, **labels) == 0
    for app in (first, second):
        app.state.ara.engine.dispose()


@pytest.mark.postgres
@pytest.mark.serial
def test_queue_depth_and_worker_heartbeats_on_postgresql(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        engine = {"workers": 0, "poll_interval": 0.1, "heartbeat_timeout": 6.0}
        settings = make_settings(tmp_path / "api", url, secret_key=KEY, engine=engine)
        with mission_control(settings) as api:
            run_id = api.run(api.define("queued", QUICK))
            waiting = scrape(api.http)  # no worker yet: the job waits in procrastinate's queue
            assert value(waiting, "ara_queue_jobs", queue="runs") == 1
            assert value(waiting, "ara_runs_due", queue="runs") == 1
            worker = WorkerProcess(settings, tmp_path / "worker")
            try:
                worker.wait_registered(4)  # the server's clock, then the worker's runs, agents and clock
                assert api.wait(run_id, timeout=60)["status"] == "completed"
                done = scrape(api.http)
                assert value(done, "ara_queue_jobs", queue="runs") == 0
                assert value(done, "ara_runs_due", queue="runs") == 0
                assert value(done, "ara_playbook_run_duration_seconds_count", status="completed") == 1
                ages = {
                    dict(labels)["worker"]: seconds
                    for (name, labels), seconds in done.items()
                    if name == "ara_worker_heartbeat_age_seconds"
                }
                assert len(ages) >= 4 and all(0 <= age < 6.0 for age in ages.values()), ages
            finally:
                worker.kill()


def test_result_counts_show_changed_and_ignored_as_the_api_does(settings: Settings) -> None:
    client = AraOfflineClient(settings=settings)
    try:
        tasks = (("a", "ok"), ("b", "changed"), ("c", "failed"), ("d", "ignored"), ("e", "skipped"))
        record_playbook(client, hosts=("h1", "h2"), tasks=tasks)
    finally:
        client.close()
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            assert result_counts(session) == {"ok": 2, "changed": 2, "failed": 2, "ignored": 2, "skipped": 2}
    finally:
        engine.dispose()


def test_live_streams_are_not_timed_as_requests(sqlite_settings: Settings) -> None:
    async def stream() -> AsyncIterator[str]:
        yield "data: hello\n\n"

    async def sse(request: Request) -> StreamingResponse:
        return StreamingResponse(stream(), media_type="text/event-stream")

    async def plain(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    state = AppState.build(sqlite_settings)
    metrics = Metrics(state)
    inner = Starlette(routes=[Route("/live/{id}", sse), Route("/plain/{id}", plain)])
    with TestClient(HttpMetrics(inner, metrics)) as client:
        assert client.get("/live/1").text == "data: hello\n\n"
        assert client.get("/plain/2").text == "ok"
    observed = {
        dict(sample.labels)["route"]
        for family in metrics.requests.collect()
        for sample in family.samples
        if sample.name.endswith("_count")
    }
    assert observed == {"/plain/{id}"}
    state.engine.dispose()

"""The apps pages in Chromium against a real server (SQLite, its embedded engine, real bubblewrap, the scripted
model): an app deployed through the control plane's API, its page with agents, tools, schedules, endpoints and
keys, a key minted from the page shown once and working on the invoke routes, revoked from the page; a run's page
whose log lines and status arrive live while the run goes."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ara.apps.models import AppMember
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sandbox.select import choose_sandbox
from ara.users.models import User
from tests.apps.support import manifest, until
from tests.conftest import make_settings
from tests.support.browser import log_in, screenshot
from tests.support.fake_llm import FakeLLM, fake_llm, text
from tests.support.server import running_server
from tests.web.conftest import PASSWORD, Site, add_users, form_login


@dataclass(frozen=True)
class World:
    site: Site
    model: FakeLLM
    app_id: str
    key: str  # a runtime key minted through the API

    def invoke(self, path: str, key: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.post(f"{self.site.url}/v1/apps/{self.app_id}{path}", headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def status(self, run_id: str) -> str:
        answer = httpx.get(
            f"{self.site.url}/v1/apps/{self.app_id}/runs/{run_id}",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["status"])


@pytest.fixture(scope="module")
def apps_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("apps-ui"), apps={"logs_keepalive_seconds": 1})
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    add_users(settings)
    alice = ("alice", PASSWORD)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch, running_server(settings) as url:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "test")
        created = httpx.post(
            f"{url}/apps", auth=alice, json={**manifest(slug="digest-bot"), "status": "active"}, timeout=60
        )
        assert created.status_code == 201, created.text
        app_id = created.json()["app"]["id"]
        minted = httpx.post(
            f"{url}/apps/{app_id}/keys", auth=alice, json={"name": "api-key", "requests_per_minute": 500}
        )
        assert minted.status_code == 201, minted.text
        yield World(Site(url, settings), model, app_id, minted.json()["key"])


def test_the_app_page_shows_agents_tools_schedules_endpoints_and_keys(apps_site: World, page: Page) -> None:
    log_in(page, apps_site.site.url, "alice", PASSWORD)
    page.get_by_role("link", name="Apps").first.click()
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    screenshot(page, "apps-index")
    page.get_by_role("link", name="digest-bot").click()
    expect(page).to_have_url(re.compile(rf"/ui/apps/{apps_site.app_id}$"))
    agents = page.locator("section", has=page.get_by_role("heading", name="Agents"))
    expect(agents.locator("tbody td:first-child code")).to_have_text(["digest", "helper", "morning"])
    expect(agents.get_by_role("row", name=re.compile("^digest")).get_by_role("cell").nth(2)).to_have_text(
        "add, write_file"
    )
    tools = page.locator("section", has=page.get_by_role("heading", name="Tools"))
    expect(tools.locator("tbody td:first-child code")).to_have_text(["add"])
    schedules = page.locator("section", has=page.get_by_role("heading", name="Schedules"))
    row = schedules.get_by_role("row", name=re.compile("digest-every-120s"))
    expect(row).to_contain_text("every 2m 00s")
    expect(row.locator(".next-fire")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"))
    cron = schedules.get_by_role("row", name=re.compile("morning--09-30"))
    expect(cron.locator(".next-fire")).to_have_text(re.compile(r" 09:30:00$"))
    endpoint = page.locator("section", has=page.get_by_role("heading", name="Endpoints")).get_by_role(
        "row", name=re.compile("hook")
    )
    expect(endpoint).to_contain_text("POST")
    expect(endpoint).to_contain_text("hmac")
    keys = page.locator("table.keys-runtime")
    expect(keys.get_by_role("row", name=re.compile("api-key"))).to_contain_text(apps_site.key[:13])
    assert apps_site.key not in page.content()
    screenshot(page, "app-page")


def test_a_key_minted_on_the_page_is_shown_once_works_and_is_revoked(apps_site: World, page: Page) -> None:
    log_in(page, apps_site.site.url, "alice", PASSWORD)
    page.goto(f"{apps_site.site.url}/ui/apps/{apps_site.app_id}")
    page.get_by_label("Name").fill("from-the-page")
    page.get_by_label("Requests per minute").fill("7")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("Key value")
    expect(shown).to_have_value(re.compile(r"^ara_rk_"))
    screenshot(page, "app-key-minted")
    value = shown.input_value()
    answer = apps_site.invoke("/runs", value, json={"input": {"message": "hi"}})
    assert answer.status_code == 202, answer.text
    assert until(lambda: apps_site.status(answer.json()["run_id"]) in ("completed", "failed"), "the run")

    page.goto(f"{apps_site.site.url}/ui/apps/{apps_site.app_id}")  # never again
    row = page.locator("table.keys-runtime").get_by_role("row", name=re.compile("from-the-page"))
    expect(row).to_contain_text(value[:13])
    expect(row).to_contain_text("7")
    assert value not in page.content()
    row.get_by_role("button", name="Revoke key from-the-page").click()
    expect(page.locator("table.keys-runtime").get_by_role("row", name=re.compile("from-the-page"))).to_contain_text(
        "revoked"
    )
    assert apps_site.invoke("/runs", value, json={"input": {"message": "hi"}}).status_code == 401


def test_a_bad_key_field_shows_the_form_again_with_the_message(apps_site: World, page: Page) -> None:
    log_in(page, apps_site.site.url, "alice", PASSWORD)
    page.goto(f"{apps_site.site.url}/ui/apps/{apps_site.app_id}")
    page.get_by_label("Requests per minute").fill("lots")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#f-requests_per_minute-error")).to_have_text("an integer from 1 to 100000")
    expect(page.get_by_label("Requests per minute")).to_have_value("lots")
    expect(page.get_by_label("Key value")).to_have_count(0)
    screenshot(page, "app-key-invalid")


def test_someone_without_a_role_finds_no_app_and_an_anonymous_visitor_logs_in(apps_site: World) -> None:
    with httpx.Client(base_url=apps_site.site.url) as client:
        assert client.get(f"/ui/apps/{apps_site.app_id}").status_code == 303
        form_login(client, "carol")
        answer = client.get(f"/ui/apps/{apps_site.app_id}")
        assert answer.status_code == 404 and "text/html" in answer.headers["content-type"]
        assert "digest-bot" not in client.get("/ui/apps").text
        assert client.get(f"/ui/apps/{apps_site.app_id}/runs/nope").status_code == 404


def test_a_running_runs_log_and_status_arrive_live(apps_site: World, page: Page) -> None:
    gate = threading.Event()
    apps_site.model.reset().script(text("the digest is ready", gate=gate, gate_timeout=60))
    started = apps_site.invoke("/runs", apps_site.key, json={"input": {"message": "digest"}})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    assert until(lambda: apps_site.status(run_id) == "running", "the run to start")
    log_in(page, apps_site.site.url, "alice", PASSWORD)
    page.goto(f"{apps_site.site.url}/ui/apps/{apps_site.app_id}")
    page.get_by_role("link", name=run_id).click()
    expect(page.locator("#run-status")).to_have_text("running")
    expect(page.locator("#log-lines")).to_contain_text("run.queued")
    screenshot(page, "app-run-running")
    gate.set()
    expect(page.locator("#log-lines")).to_contain_text("run.completed", timeout=60_000)
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator(".run-output")).to_have_text("the digest is ready")  # the summary came again, no reload
    screenshot(page, "app-run-completed")
    page.reload()
    expect(page.locator(".run-output")).to_have_text("the digest is ready")
    assert page.locator("#log-lines").get_by_text("run.completed").count() == 1
    # An ended run's stream answers 204: a reconnecting EventSource stops.
    stream = f"{apps_site.site.url}/ui/apps/{apps_site.app_id}/runs/{run_id}/logs/stream"
    assert page.request.get(stream).status == 204
    assert page.request.get(f"{stream}?after={2**70}").status in (400, 422)


def test_a_run_started_on_the_app_page_opens_its_page(apps_site: World, page: Page) -> None:
    apps_site.model.reset().script(text("started from the page"))
    log_in(page, apps_site.site.url, "alice", PASSWORD)
    page.goto(f"{apps_site.site.url}/ui/apps/{apps_site.app_id}")
    page.get_by_label("Input (a JSON object)").fill("{not json")
    page.get_by_role("button", name="Start run").click()
    expect(page.locator("#f-input-error")).to_contain_text("not JSON")
    expect(page.get_by_label("Input (a JSON object)")).to_have_value("{not json")
    page.get_by_label("Agent", exact=True).select_option("helper")
    page.get_by_label("Input (a JSON object)").fill('{"message": "from the page"}')
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(rf"/ui/apps/{apps_site.app_id}/runs/run-"))
    expect(page.locator("#run-status")).to_have_text("completed", timeout=60_000)
    expect(page.locator(".run-output")).to_have_text("started from the page")
    expect(page.locator("dl.facts")).to_contain_text("helper")
    screenshot(page, "app-run-from-page")
    assert "from the page" in str(apps_site.model.requests[-1].messages[-1]["content"])


def test_a_viewer_member_sees_the_app_but_not_its_keys(apps_site: World) -> None:
    engine = make_engine(apps_site.site.settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        bob = session.scalar(select(User.id).where(User.username == "bob"))
        session.add(AppMember(app_id=apps_site.app_id, user_id=bob, role="viewer"))
    engine.dispose()
    with httpx.Client(base_url=apps_site.site.url) as client:
        token = form_login(client, "bob")
        shown = client.get(f"/ui/apps/{apps_site.app_id}")
        assert shown.status_code == 200 and "digest-every-120s" in shown.text
        assert 'id="keys-title"' not in shown.text and apps_site.key[:13] not in shown.text
        minted = client.post(f"/ui/apps/{apps_site.app_id}/keys", data={"csrf_token": token, "name": "mine"})
        assert minted.status_code == 403 and "editor" in minted.text
        assert 'action="/ui/apps/' + apps_site.app_id + '/runs"' not in shown.text  # no run form for a viewer
        started = client.post(f"/ui/apps/{apps_site.app_id}/runs", data={"csrf_token": token, "input": "{}"})
        assert started.status_code == 403 and "operator" in started.text
        for page in ("0", "x", str(2**70)):
            refused = client.get(f"/ui/apps/{apps_site.app_id}", params={"page": page})
            assert refused.status_code in (400, 422) and "text/html" in refused.headers["content-type"], page

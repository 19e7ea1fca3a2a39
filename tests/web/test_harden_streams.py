"""Live streams of the web UI end with the login that opened them, and app run links stay the run's (a second
review's findings), against a real server: the app run page's log stream, a running playbook's live rows (where
records need a login) and the chat page's control socket, each after the viewer logs out."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ara.runtime.sandbox.select import choose_sandbox
from tests.apps.support import manifest, until
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, fake_llm, text
from tests.support.server import running_server
from tests.web.accounts_support import ui_client
from tests.web.conftest import PASSWORD, Site, add_users


@pytest.fixture(scope="module")
def app_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, FakeLLM, str, str]]:
    """A site rechecking a log stream's reader every 0.5 s, with alice's app and a runtime key."""
    apps = {"logs_keepalive_seconds": 1, "logs_recheck_seconds": 0.5}
    settings = make_settings(tmp_path_factory.mktemp("harden-streams"), apps=apps)
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    add_users(settings)
    alice = ("alice", PASSWORD)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch, running_server(settings) as url:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "test")
        created = httpx.post(f"{url}/apps", auth=alice, json={**manifest(slug="stream-bot"), "status": "active"})
        assert created.status_code == 201, created.text
        app_id = created.json()["app"]["id"]
        minted = httpx.post(f"{url}/apps/{app_id}/keys", auth=alice, json={"name": "k", "requests_per_minute": 500})
        assert minted.status_code == 201, minted.text
        yield Site(url, settings), model, app_id, minted.json()["key"]


def stream_ended(site: Site, client: httpx.Client, path: str) -> threading.Event:
    """Reads the SSE stream at ``path`` with ``client``'s login cookie in a thread; the event is set when the
    server ends it."""
    ended = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=site.url, cookies=client.cookies, timeout=120) as reader:
            with reader.stream("GET", path) as answer:
                assert answer.status_code == 200
                for _chunk in answer.iter_bytes():
                    pass
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    return ended


def test_an_app_run_log_stream_ends_when_its_viewer_logs_out(app_world: tuple[Site, FakeLLM, str, str]) -> None:
    site, model, app_id, key = app_world
    gate = threading.Event()
    model.reset().script(text("done", gate=gate, gate_timeout=90))
    auth = {"Authorization": f"Bearer {key}"}
    started = httpx.post(f"{site.url}/v1/apps/{app_id}/runs", headers=auth, json={"input": {"message": "x"}})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    try:
        with ui_client(site, "alice") as (client, csrf):
            path = f"/ui/apps/{app_id}/runs/{run_id}/logs/stream"
            ended = stream_ended(site, client, path)
            assert until(lambda: model.requests, "the run to reach the model")
            assert not ended.wait(2), "the stream ended while the viewer was still logged in"
            assert client.post("/ui/logout", data={"csrf_token": csrf}).status_code == 303
            assert ended.wait(30), "the stream went on after the viewer logged out"
    finally:
        gate.set()


@pytest.fixture(scope="module")
def private_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site whose records need a login to read (``auth.read_login_required``)."""
    settings = make_settings(tmp_path_factory.mktemp("private-records"), auth={"read_login_required": True})
    add_users(settings)
    with running_server(settings) as url:
        yield Site(url, settings)


def test_a_running_playbooks_live_rows_end_when_the_viewer_logs_out(private_records: Site) -> None:
    site = private_records
    made = httpx.post(
        f"{site.url}/api/v1/playbooks",
        auth=("admin", PASSWORD),
        json={"path": "/tmp/forever.yml", "status": "running", "ansible_version": "2.15", "arguments": {}},
    )
    assert made.status_code == 201, made.text
    with ui_client(site, "carol") as (client, csrf):
        path = f"/ui/records/playbooks/{made.json()['id']}/live"

        ended = stream_ended(site, client, path)
        assert not ended.wait(2), "the stream ended while the viewer was still logged in"
        assert client.post("/ui/logout", data={"csrf_token": csrf}).status_code == 303
        assert ended.wait(30), "the stream went on after the viewer logged out"


@pytest.fixture(scope="module")
def chat_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = make_settings(tmp_path_factory.mktemp("harden-chat"))
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    add_users(settings)
    with running_server(settings) as url:
        yield Site(url, settings)


def test_the_chat_pages_control_socket_closes_when_its_login_ends(chat_site: Site) -> None:
    ws = chat_site.url.replace("http://", "ws://") + "/ui/chat/control"
    with ui_client(chat_site, "alice") as (client, csrf):
        assert client.post("/ui/chat/start", data={"csrf_token": csrf}).status_code == 303
        cookie = f"ara_session={client.cookies['ara_session']}"
        with connect(ws, additional_headers={"Cookie": cookie, "Origin": chat_site.url}) as socket:
            assert '"ready"' in str(socket.recv(timeout=30))
            assert client.post("/ui/logout", data={"csrf_token": csrf}).status_code == 303
            deadline = time.monotonic() + 30
            with pytest.raises(ConnectionClosed):
                while time.monotonic() < deadline:
                    socket.recv(timeout=deadline - time.monotonic())


def test_a_run_id_chosen_by_the_caller_cannot_point_the_app_pages_links_elsewhere(
    app_world: tuple[Site, FakeLLM, str, str],
) -> None:
    """``run_id`` is the caller's (``POST /v1/apps/{id}/runs``): a ``/`` in it stays inside the run's link."""
    site, model, app_id, key = app_world
    model.reset().script(text("done"))
    run_id = "../../../ui/account/x"
    auth = {"Authorization": f"Bearer {key}"}
    started = httpx.post(f"{site.url}/v1/apps/{app_id}/runs", headers=auth, json={"run_id": run_id, "input": {}})
    assert started.status_code == 202, started.text
    with ui_client(site, "alice") as (client, _csrf):
        pages = [client.get(f"/ui/apps/{app_id}").text, client.get("/ui/search", params={"q": "kind:app"}).text]
    for html in pages:
        links = re.findall(r'href="([^"]*account(?:/|%2F)x)"', html)
        assert links, html[:2000]
        for link in links:
            assert urljoin(site.url + "/ui/", link).startswith(f"{site.url}/ui/apps/{app_id}/runs/"), link

"""A second review of the web UI, against a real server: each test pins a defect that review found (bad input
answered with a 500, a stream that could be forged, ...), so it stays fixed."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from ara.db.session import make_engine
from ara.server.routes.ui.apps_runs import log_event
from tests.conftest import make_settings
from tests.support.server import running_server
from tests.web.accounts_support import ui_client
from tests.web.conftest import Site, add_users, csrf_of

TOO_BIG = ["9223372036854775808", "99999999999999999999999"]


@pytest.mark.parametrize("number", TOO_BIG)
def test_account_page_numbers_past_any_database_are_a_400_page(site: Site, number: str) -> None:
    with ui_client(site, "carol") as (client, _csrf):
        answer = client.get("/ui/account", params={"page": number})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "page" in answer.text


@pytest.mark.parametrize("key_id", TOO_BIG)
def test_revoking_a_key_id_past_any_database_is_a_400_page(site: Site, key_id: str) -> None:
    with ui_client(site, "carol") as (client, csrf):
        answer = client.post(f"/ui/account/keys/{key_id}/revoke", data={"csrf_token": csrf})
    assert answer.status_code in (400, 404), answer.text
    assert answer.headers["content-type"].startswith("text/html")


def sse_events(text: str) -> list[dict[str, str]]:
    """The events a browser's EventSource reads (HTML's parsing rules: a line ends at CR, LF or CRLF)."""
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    for line in re.split(r"\r\n|\r|\n", text):
        if not line:
            if fields:
                events.append(fields)
            fields = {}
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value
    return events


def test_an_app_log_line_is_one_sse_event_whatever_its_message_holds() -> None:
    message = "first\rid: 999\revent: status\r\ndata: forged\nlast"
    row = {"timestamp": "2026-12-02T10:00:00Z", "level": "info", "run_id": "r1", "event_type": "x", "message": message}
    events = sse_events(log_event(7, row))
    assert [(event.get("event"), event.get("id")) for event in events] == [("log", "7")]
    assert "first" in events[0]["data"] and "last" in events[0]["data"]


@pytest.fixture(scope="module")
def quick_busy_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """SQLite whose writers give up after 2 s (the default waits 30 s)."""
    settings = make_settings(tmp_path_factory.mktemp("busy"), database={"busy_timeout_ms": 2000})
    add_users(settings)
    with running_server(settings) as url:
        yield Site(url, settings)


def test_checking_a_password_does_not_hold_the_databases_write_lock(quick_busy_site: Site) -> None:
    """A wrong password is answered while another writer holds SQLite's lock: checking it (argon2, about 0.1-0.3 s)
    must not take the lock, or anyone posting the login form stalls every writer (the Ansible callback too)."""
    engine = make_engine(quick_busy_site.settings)
    path = engine.url.database
    engine.dispose()
    assert path
    with httpx.Client(base_url=quick_busy_site.url, timeout=60) as client:
        token = csrf_of(client.get("/ui/login").text)
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            answer = client.post("/ui/login", data={"username": "alice", "password": "wrong", "csrf_token": token})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert answer.status_code == 401, answer.text[:300]
    assert "Wrong username or password" in answer.text


def test_a_busy_database_is_a_503_page_on_ui_paths(quick_busy_site: Site) -> None:
    engine = make_engine(quick_busy_site.settings)
    path = engine.url.database
    engine.dispose()
    assert path
    with ui_client(quick_busy_site, "alice") as (client, csrf):
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            answer = client.post("/ui/account/keys", data={"name": "laptop", "csrf_token": csrf})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["retry-after"] == "1"
    assert "busy" in answer.text


def test_a_large_recorded_file_is_shown_plain_not_run_through_a_lexer(site: Site) -> None:
    """Anyone who may write records can record a file, and anyone who may read them can open its page: a lexer
    takes seconds of CPU on a few hundred KB of crafted YAML, on every view. Past the chat's limit it is plain."""
    made = httpx.post(
        f"{site.url}/api/v1/playbooks",
        json={"path": "/big.yml", "status": "completed", "ansible_version": "2.15", "arguments": {}},
    )
    assert made.status_code == 201, made.text
    content = "key: " + "a " * 200_000  # 400 KB on one line
    body = {"playbook": made.json()["id"], "path": "/big.yml", "content": content}
    recorded = httpx.post(f"{site.url}/api/v1/files", json=body, timeout=60)
    assert recorded.status_code == 201, recorded.text
    page = httpx.get(f"{site.url}/ui/records/files/{recorded.json()['id']}", timeout=60)
    assert page.status_code == 200
    shown_text, lexed = "a a a" in page.text, 'class="nt"' in page.text  # booleans: no diff of 400 KB on failure
    assert shown_text and not lexed  # no YAML tokens: the text was not lexed
    small = {"playbook": made.json()["id"], "path": "/small.yml", "content": "key: value\n"}
    shown = httpx.get(f"{site.url}/ui/records/files/{httpx.post(f'{site.url}/api/v1/files', json=small).json()['id']}")
    assert 'class="nt"' in shown.text  # a usual file is still highlighted

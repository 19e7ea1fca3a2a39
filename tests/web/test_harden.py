"""A second review of the web UI, against a real server: each test pins a defect that review found (bad input
answered with a 500, a stream that could be forged, ...), so it stays fixed."""

from __future__ import annotations

import re

import pytest

from ara.server.routes.ui.apps_runs import log_event
from tests.web.accounts_support import ui_client
from tests.web.conftest import Site

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

"""A second review of the web UI, against a real server: each test pins a defect that review found (bad input
answered with a 500, a stream that could be forged, ...), so it stays fixed."""

from __future__ import annotations

import pytest

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

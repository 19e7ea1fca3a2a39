"""Records pages and the live streams follow the records API's read auth (``auth.read_login_required``): open by
default, as in ARA; when a login is required, pages send the visitor to the login form and the API answers 401."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ara.server.app import create_app
from tests.conftest import make_settings

PAGES = ("/ui/records/playbooks", "/ui/records/hosts", "/ui/records/playbooks/1/live", "/ui/records/files/1")


@pytest.fixture(params=[False, True], ids=["open", "login-required"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, bool]]:
    settings = make_settings(tmp_path, auth={"read_login_required": request.param})
    app = create_app(settings, workers=False)
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client, request.param
    app.state.ara.engine.dispose()


def test_records_pages_follow_the_read_auth(client: tuple[TestClient, bool]) -> None:
    http, required = client
    for path in PAGES:
        answer = http.get(path, follow_redirects=False)
        if required:
            assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login?next="), path
        else:
            assert answer.status_code in (200, 404), (path, answer.status_code)  # nothing recorded: no file 1
    api = http.get("/api/v1/playbooks/1/events")
    assert api.status_code == (401 if required else 404)

"""The search page without a browser: one kind's pages link to each other, the box keeps the query, and where the
records need a login an anonymous visitor is sent to the login form."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from ara.clients.offline import AraOfflineClient
from ara.server.app import create_app
from tests.conftest import make_settings
from tests.support.factories import record_playbook


def test_one_kind_pages_through_its_hits(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ui={"page_size": 2})
    client = AraOfflineClient(settings=settings)
    try:
        record_playbook(client, hosts=("web1", "web2", "web3"), tasks=(("configure", "failed"),))
    finally:
        client.close()
    app = create_app(settings, workers=False)
    with TestClient(app) as browser:
        first = browser.get("/ui/search", params={"q": "kind:result configure"})
        assert first.status_code == 200
        assert "Page 1 of 2 (3)" in first.text
        assert 'value="kind:result configure"' in first.text
        next_page = re.search(r'rel="next" href="([^"]+)"', first.text)
        assert next_page is not None
        second = browser.get(next_page.group(1).replace("&amp;", "&"))
        assert "Page 2 of 2 (3)" in second.text and 'rel="prev"' in second.text
        assert second.text.count('href="/ui/records/results/') == 1
        too_far = browser.get("/ui/search", params={"q": "kind:result", "page": "0"})
        assert too_far.status_code == 400 and "Pages go from 1" in too_far.text
    app.state.ara.engine.dispose()


def test_where_records_need_a_login_anonymous_visitors_are_sent_to_log_in(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, auth={"read_login_required": True}), workers=False)
    with TestClient(app, follow_redirects=False) as browser:
        answer = browser.get("/ui/search", params={"q": "status:failed"})
        assert answer.status_code in (302, 303)
        assert answer.headers["location"].startswith("/ui/login?next=")
    app.state.ara.engine.dispose()

"""The runs area's lists page with ``ui.page_size`` (2 here): runs and definitions each have their pager, and
each pager keeps the other filters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.server import running_server
from tests.web.conftest import Site, add_users
from tests.web.runs_support import DEPLOY, WebUser, define


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base: Path = tmp_path_factory.mktemp("paging")
    settings = make_settings(base, ui={"page_size": 2})
    add_users(settings)
    with running_server(settings) as url:
        yield Site(url, settings)


def _rows(html: str) -> list[str]:
    return re.findall(r'<td><a href="/ui/runs/([0-9a-f-]{36})">', html)


def test_runs_and_definitions_page_by_the_configured_size(site: Site) -> None:
    ids = [define(site, f"deploy-{n}", DEPLOY.replace("Deploy web", f"Deploy {n}")) for n in range(3)]
    created = []
    for replicas in range(5):
        answer = httpx.post(
            f"{site.url}/playbook/run",
            json={"id": ids[0], "params": {"replicas": str(replicas)}},
            auth=("alice", site.password),
        )
        assert answer.status_code == 201, answer.text
        created.append(answer.json()["run_id"])
    alice = WebUser(site, "alice")
    try:
        first = alice.get("/ui/runs", status="pending_approval").text
        assert _rows(first) == created[::-1][:2]  # newest first
        assert "Page 1 of 3 (5)" in first
        assert 'href="/ui/runs?status=pending_approval&amp;page=2"' in first
        last = alice.get("/ui/runs", status="pending_approval", page="3").text
        assert _rows(last) == created[:1] and 'rel="next"' not in last.split("Recent runs")[1]
        assert _rows(alice.get("/ui/runs", status="completed").text) == []
        definitions = alice.get("/ui/runs", dpage="2").text.split("Recent runs")[0]
        assert "Deploy 2" in definitions and "Deploy 0" not in definitions and "Page 2 of 2 (3)" in definitions
        of_first = alice.get("/ui/runs", playbook=ids[0]).text
        assert "Recent runs of Deploy 0" in of_first and "Page 1 of 3 (5)" in of_first
        assert f"playbook={ids[0]}&amp;page=2" in of_first  # the pager keeps the playbook
        assert _rows(alice.get("/ui/runs", playbook=ids[1]).text) == []
        assert alice.get("/ui/runs", playbook="no-such-playbook").status_code == 404
        form = alice.get(f"/ui/runs/definitions/{ids[0]}").text
        assert _rows(form) == created[::-1] and f'href="/ui/runs?playbook={ids[0]}"' in form
    finally:
        alice.close()

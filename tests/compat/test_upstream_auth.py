"""Callbacks as a login: with reads and writes behind a login, upstream ARA 1.8's callback (unchanged, from PyPI)
and ours record everything as a user who may write records (operator), and a viewer records nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ara.clients.http import AraHttpClient
from ara.settings import Settings
from tests.compat.conftest import ErrorLog, run_upstream_playbook, upstream_env, watched_server
from tests.compat.test_upstream_plugins import assert_clean
from tests.support.ansible import ansible_env, run_playbook
from tests.support.mission import seed_users
from tests.support.upstream import UpstreamVenv

pytestmark = [pytest.mark.compat, pytest.mark.ansible]

OPERATOR = {"ARA_API_USERNAME": "olivia", "ARA_API_PASSWORD": "pw"}
VIEWER = {"ARA_API_USERNAME": "victor", "ARA_API_PASSWORD": "pw"}


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[tuple[str, ErrorLog]]:
    settings = Settings(base_dir=tmp_path, auth={"read_login_required": True, "write_login_required": True})
    seed_users(settings)  # olivia (operator), victor (viewer)... password pw
    with watched_server(settings) as served:
        yield served


def _recorded(server: str, path: str) -> list[dict[str, object]]:
    with AraHttpClient(endpoint=server, auth=("victor", "pw")) as reader:  # a viewer may read
        return list(reader.get("/api/v1/playbooks", path=path)["results"])


def test_both_callbacks_record_as_an_operator(
    upstream: UpstreamVenv, tmp_path: Path, locked_server: tuple[str, ErrorLog]
) -> None:
    server, errors = locked_server
    # records.yml also reads back through the ara_api lookup and asserts what it got.
    theirs = run_upstream_playbook(
        upstream, "records.yml", {**upstream_env(upstream, tmp_path / "up", server), **OPERATOR}
    )
    assert theirs.returncode == 0, theirs.output
    assert_clean(theirs)
    ours = run_playbook("records.yml", {**ansible_env(tmp_path / "ours", client="http", server=server), **OPERATOR})
    assert ours.returncode == 0, ours.output
    assert ours.ara_warnings() == [] and "Traceback" not in ours.output, ours.output
    recorded = _recorded(server, "/records.yml")
    assert sorted(p["client_version"] == "1.8.0" for p in recorded) == [False, True]
    assert {p["status"] for p in recorded} == {"completed"}
    assert errors.errors == []


def test_a_viewer_records_nothing(tmp_path: Path, locked_server: tuple[str, ErrorLog]) -> None:
    server, errors = locked_server
    run = run_playbook("options.yml", {**ansible_env(tmp_path, client="http", server=server), **VIEWER})
    assert run.returncode == 0, run.output  # the playbook itself is not disturbed
    assert run.ara_warnings(), run.output  # but the callback says it could not record
    assert _recorded(server, "/options.yml") == []
    assert errors.errors and all(error.startswith("403 ") for error in errors.errors), errors.errors

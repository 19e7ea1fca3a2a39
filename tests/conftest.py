"""Fixtures: settings on a fresh database (SQLite, and PostgreSQL where marked), a real server on 127.0.0.1,
and both clients."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ara.clients.base import AraClient
from ara.clients.http import AraHttpClient
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.databases import fresh_postgres_database
from tests.support.server import running_server


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist's ``--dist loadgroup`` (scripts/test.sh), a module's tests stay on one worker, so its
    module-scoped servers start once; the compatibility tests sharing the session-scoped ``world`` stay together.
    A ``heavy`` test goes first and each of its cases may take a worker of its own, so the longest work starts
    while the rest fills the other worker; then the groups by their number of tests, biggest first (scripts/test.sh
    passes ``--no-loadscope-reorder``: xdist's own sort by size put the one-test heavy groups last, where each kept
    one worker busy for minutes after the other had run out of work)."""
    groups: dict[str, str] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is not None:
            group = str(marker.args[0] if marker.args else marker.kwargs.get("name", ""))
        elif item.get_closest_marker("heavy") is not None:
            group = item.nodeid
        elif "world" in getattr(item, "fixturenames", ()):
            group = "compat-world"
        else:
            group = item.nodeid.split("::")[0]
        if marker is None:
            item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    sizes = collections.Counter(groups.values())
    items.sort(key=lambda item: (item.get_closest_marker("heavy") is None, -sizes[groups[item.nodeid]]))


def make_settings(base_dir: Path, database_url: str = "", **overrides: Any) -> Settings:
    database = {"url": database_url, **overrides.pop("database", {})}
    return Settings(base_dir=base_dir, database=database, **overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL (a database at head, copied from a migrated
    template, unless the test is marked ``empty_database``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ara.sqlite'}"
    else:
        with fresh_postgres_database(migrated=request.node.get_closest_marker("empty_database") is None) as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """For tests whose subject is not the database: SQLite only."""
    return make_settings(tmp_path)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    with running_server(settings) as url:
        yield url


@pytest.fixture(params=["offline", "offline-isolated", "http"])
def client(request: pytest.FixtureRequest, settings: Settings) -> Iterator[AraClient]:
    """The same tests run through the in-process client, the offline client's child process (what the callback
    uses) and over real HTTP."""
    if request.param.startswith("offline"):
        offline = AraOfflineClient(settings=settings, isolate=request.param == "offline-isolated")
        yield offline
        offline.close()
    else:
        with running_server(settings) as url:
            http = AraHttpClient(endpoint=url)
            yield http
            http.close()

"""A real server on 127.0.0.1 (the ``mission_control`` one) whose app state the test can also reach: the
embedded executor, its engine and its write sessions, to watch what they do from the inside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from ara.engine.local import LocalExecutor
from ara.server.state import AppState
from ara.settings import Settings
from tests.support.mission import ADMIN, Mission, seed_users
from tests.support.server import running_server


@dataclass
class Embedded:
    mission: Mission
    state: AppState

    @property
    def executor(self) -> LocalExecutor:
        assert isinstance(self.state.executor, LocalExecutor)
        return self.state.executor


@contextmanager
def embedded(settings: Settings, *, seed: bool = True) -> Iterator[Embedded]:
    """``mission_control`` that also yields the served app's state (``seed=False``: users exist already)."""
    if seed:
        seed_users(settings)
    apps: list[Any] = []

    def keep(app: Any) -> Any:
        apps.append(app)
        return app

    with running_server(settings, wrap=keep) as url, httpx.Client(base_url=url, auth=ADMIN, timeout=30) as http:
        yield Embedded(Mission(url, http, settings), apps[0].state.ara)


@pytest.fixture
def server(sqlite_settings: Settings) -> Iterator[Embedded]:
    with embedded(sqlite_settings) as running:
        yield running

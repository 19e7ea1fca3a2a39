"""Playbook-run tests talk to a real server on 127.0.0.1 executing runs itself (SQLite: the embedded executor;
PostgreSQL: its in-process procrastinate worker, which polls for delayed jobs every 0.1 s here). The heartbeat
timeout stays at its default (30 s): a loaded machine must never make a live run look abandoned (the test of a
dead worker sets its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.mission import Mission, mission_control


@pytest.fixture
def mission(tmp_path: Path, database_url: str) -> Iterator[Mission]:
    settings = make_settings(tmp_path, database_url, engine={"poll_interval": 0.1})
    with mission_control(settings) as mc:
        yield mc


@pytest.fixture
def mission_sqlite(tmp_path: Path) -> Iterator[Mission]:
    settings = make_settings(tmp_path, engine={"poll_interval": 0.1})
    with mission_control(settings) as mc:
        yield mc

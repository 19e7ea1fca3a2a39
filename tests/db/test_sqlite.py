"""The embedded default: SQLite in WAL mode with a busy timeout, so concurrent writers wait instead of failing."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from sqlalchemy import text

from ara.db.session import make_engine
from tests.conftest import make_settings
from tests.support.server import running_server


def test_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path, database={"busy_timeout_ms": 1234}))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1234
    engine.dispose()


def test_concurrent_writers_over_http_all_land(tmp_path: Path) -> None:
    with running_server(make_settings(tmp_path)) as url:
        playbook = httpx.post(f"{url}/api/v1/playbooks", json={"ansible_version": "2", "path": "/c.yml"}).json()
        statuses: list[int] = []

        def writer(n: int) -> None:
            with httpx.Client(base_url=url) as http:
                for i in range(20):
                    body = {"name": f"w{n}-{i}", "playbook": playbook["id"]}
                    statuses.append(http.post("/api/v1/hosts", json=body).status_code)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [201] * 160
        assert httpx.get(f"{url}/api/v1/hosts", params={"limit": 1}).json()["count"] == 160

"""procrastinate's schema lives next to Alembic's on PostgreSQL (and nowhere on SQLite); a newer procrastinate's
files are applied at start, and a file that cannot apply stops the start instead of leaving a half schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ara.db import procrastinate_schema
from ara.db.migrate import upgrade
from ara.db.session import make_engine
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database

PROCRASTINATE_TABLES = {"procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers"}


def test_sqlite_has_no_procrastinate(tmp_path: Path) -> None:
    engine = make_engine(make_settings(tmp_path))
    try:
        upgrade(engine)
        assert not {t for t in inspect(engine).get_table_names() if "procrastinate" in t}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_gets_the_whole_schema_and_procrastinate_agrees(tmp_path: Path) -> None:
    with fresh_postgres_database(migrated=False) as url:
        engine = make_engine(make_settings(tmp_path, url))
        try:
            upgrade(engine)
            tables = set(inspect(engine).get_table_names())
            assert PROCRASTINATE_TABLES | {"procrastinate_workers"} <= tables
            with engine.connect() as connection:
                assert procrastinate_schema.missing(connection) == []
        finally:
            engine.dispose()
        # procrastinate's own check, run as its CLI runs it, against what Ara installed
        env_url = url.replace("postgresql+psycopg://", "postgresql://")
        code = (
            "import asyncio, procrastinate, sys\n"
            "app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=sys.argv[1]))\n"
            "async def main():\n"
            "    async with app.open_async():\n"
            "        print(await app.check_connection_async())\n"
            "        await app.job_manager.list_jobs_async()\n"
            "asyncio.run(main())\n"
        )
        done = subprocess.run([sys.executable, "-c", code, env_url], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr


@pytest.mark.postgres
def test_a_newer_procrastinate_is_applied_and_a_broken_file_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The installed procrastinate is outside Ara: a copy of its migrations directory plays a newer release."""
    newer = tmp_path / "migrations"
    shutil.copytree(procrastinate_schema._migrations_dir(), newer, ignore=shutil.ignore_patterns("__*"))
    with fresh_postgres_database(migrated=False) as url:
        engine = make_engine(make_settings(tmp_path, url))
        try:
            upgrade(engine)
            monkeypatch.setattr(procrastinate_schema, "_migrations_dir", lambda: newer)
            (newer / "99.00.00_01_pre_add_marker.sql").write_text("CREATE TABLE procrastinate_marker (id int);\n")
            assert upgrade(engine) is True
            assert "procrastinate_marker" in inspect(engine).get_table_names()
            assert upgrade(engine) is False  # recorded: applied once

            (newer / "99.00.00_02_pre_broken.sql").write_text("CREATE TABLE procrastinate_marker (id int);\n")
            with pytest.raises(procrastinate_schema.SchemaMismatch, match="99.00.00_02_pre_broken.sql"):
                upgrade(engine)
            with pytest.raises(procrastinate_schema.SchemaMismatch, match="1 of"):
                procrastinate_schema.check(engine)
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM ara_procrastinate_sql WHERE name LIKE '99.%'")) == 1
        finally:
            engine.dispose()

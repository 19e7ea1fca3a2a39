"""Fresh databases for tests: a SQLite file, or a new database on the PostgreSQL server named by
``ARA_TEST_POSTGRES_URL`` (``.ci/run`` starts one). Without that variable PostgreSQL tests skip, unless
``ARA_REQUIRE_POSTGRES=1`` (set by the test script) turns the skip into a failure."""

from __future__ import annotations

import atexit
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError


def postgres_server_url() -> str:
    url = os.environ.get("ARA_TEST_POSTGRES_URL", "")
    if not url:
        if os.environ.get("ARA_REQUIRE_POSTGRES") == "1":
            pytest.fail("ARA_REQUIRE_POSTGRES=1 but ARA_TEST_POSTGRES_URL is not set")
        pytest.skip("ARA_TEST_POSTGRES_URL not set")
    return url


_templates: dict[str, str] = {}  # server URL -> this process's migrated template database on it


def _migrated_template(server: URL, admin: Engine) -> str:
    """A database migrated to head (Alembic's history and procrastinate's schema), made once per test process and
    dropped at its exit: a database copied from it starts at head, so a server or client skips the migrations
    (about a second of wall time and half a second of CPU on PostgreSQL, for each of some 250 databases)."""
    key = server.render_as_string(hide_password=False)
    if key not in _templates:
        from ara.db.migrate import upgrade

        name = "ara_template_" + uuid.uuid4().hex[:12]
        _run(admin, f'CREATE DATABASE "{name}"')
        engine = create_engine(server.set(database=name))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        atexit.register(_drop, key, name)
        _templates[key] = name
    return _templates[key]


def _run(admin: Engine, statement: str) -> None:
    """One statement on the server's maintenance database (CREATE and DROP DATABASE run outside a transaction)."""
    with admin.connect() as connection:
        connection.execute(text(statement))


def _drop(server: str, name: str) -> None:
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    _run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _create_from(admin: Engine, name: str, template: str) -> None:
    """``CREATE DATABASE ... TEMPLATE``, which PostgreSQL refuses while another session is connected to the template:
    the one that migrated it may still be closing."""
    for attempt in range(50):
        try:
            _run(admin, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            return
        except OperationalError as exc:
            if "being accessed by other users" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)


@contextmanager
def fresh_postgres_database(*, migrated: bool = True) -> Iterator[str]:
    """Creates a uniquely named database and drops it afterwards; yields its URL. ``migrated``: a copy of this
    process's database at head (what every test but the migrations' own wants); otherwise an empty one."""
    server = make_url(postgres_server_url()).set(drivername="postgresql+psycopg")
    name = "ara_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    if migrated:
        _create_from(admin, name, _migrated_template(server, admin))
    else:
        _run(admin, f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

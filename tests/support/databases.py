"""Fresh databases for tests: a SQLite file, or a new database on the PostgreSQL server named by
``ARA_TEST_POSTGRES_URL`` (``.ci/run`` starts one). Without that variable PostgreSQL tests skip, unless
``ARA_REQUIRE_POSTGRES=1`` (set by the test script) turns the skip into a failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def postgres_server_url() -> str:
    url = os.environ.get("ARA_TEST_POSTGRES_URL", "")
    if not url:
        if os.environ.get("ARA_REQUIRE_POSTGRES") == "1":
            pytest.fail("ARA_REQUIRE_POSTGRES=1 but ARA_TEST_POSTGRES_URL is not set")
        pytest.skip("ARA_TEST_POSTGRES_URL not set")
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Creates a uniquely named database and drops it afterwards; yields its URL."""
    server = make_url(postgres_server_url()).set(drivername="postgresql+psycopg")
    name = "ara_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

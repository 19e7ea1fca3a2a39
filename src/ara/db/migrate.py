"""Apply Alembic migrations; cheap when the database is already at head (one revision read)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from ara.db import procrastinate_schema
from ara.db.session import write_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the schema to ``revision`` (on PostgreSQL at head, procrastinate's too); returns whether anything ran.

    The check and the migration share one locked transaction, so two processes starting at once
    (an offline client in each Ansible run, say) never both try to create the tables. A procrastinate file that
    fails to apply raises ``SchemaMismatch``: nothing starts on a half-applied schema.
    """
    head = head_revision() if revision == "head" else revision
    postgres = engine.dialect.name == "postgresql" and revision == "head"
    with engine.connect() as probe:
        if current_revision(probe) == head and not (postgres and procrastinate_schema.missing(probe, at_head=True)):
            return False
    with write_engine(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(74657)"))
        if current_revision(connection) != head:
            command.upgrade(alembic_config(connection), revision)
    if postgres:
        procrastinate_schema.sync(engine)
        procrastinate_schema.check(engine)
    return True


def downgrade(engine: Engine, revision: str) -> None:
    with write_engine(engine).begin() as connection:
        command.downgrade(alembic_config(connection), revision)

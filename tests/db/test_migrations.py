"""One Alembic history: upgrade, downgrade, no drift between models and migrations, cheap when at head."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect

from ara.db.migrate import current_revision, downgrade, head_revision, upgrade
from ara.db.models import metadata
from ara.db.procrastinate_schema import TRACKING_TABLE
from ara.db.session import make_engine
from ara.settings import Settings


def _ours(name: str | None, type_: str, _parents: object) -> bool:
    """procrastinate's tables are its own schema (ara.db.procrastinate_schema), not our models'."""
    return not (type_ == "table" and name is not None and name.startswith(("procrastinate", TRACKING_TABLE)))


@pytest.mark.empty_database
def test_upgrade_downgrade_and_no_drift(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert upgrade(engine) is True
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            opts = {"compare_type": True, "include_name": _ours}
            diff = compare_metadata(MigrationContext.configure(connection, opts=opts), metadata)
        assert diff == []
        tables = set(inspect(engine).get_table_names())
        assert {"playbooks", "plays", "tasks", "results", "hosts", "latest_hosts", "files", "file_contents"} <= tables
        assert {"records", "labels", "playbooks_labels", "results_delegated_to", "users", "api_tokens"} <= tables

        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert upgrade(engine) is True
    finally:
        engine.dispose()


def test_upgrade_at_head_is_one_cheap_read(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        upgrade(engine)
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        assert upgrade(engine) is False
        # BEGIN, does alembic_version exist, read it (PostgreSQL: and which procrastinate files are applied)
        assert len(statements) <= (4 if engine.dialect.name == "postgresql" else 3), statements
        assert not any("CREATE" in s.upper() for s in statements)
    finally:
        engine.dispose()

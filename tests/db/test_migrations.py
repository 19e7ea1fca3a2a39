"""One Alembic history: upgrade, downgrade, no drift between models and migrations, cheap when at head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect

from ara.db.migrate import current_revision, downgrade, head_revision, upgrade
from ara.db.models import metadata
from ara.db.session import make_engine
from ara.settings import Settings


def test_upgrade_downgrade_and_no_drift(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        assert upgrade(engine) is True
        with engine.connect() as connection:
            assert current_revision(connection) == head_revision()
            diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
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
        assert len(statements) <= 3, statements  # BEGIN, does alembic_version exist, read it
        assert not any("CREATE" in s.upper() for s in statements)
    finally:
        engine.dispose()

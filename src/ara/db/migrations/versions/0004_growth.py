"""growth: failed results in id order, playbook result counters

Revision ID: 0004
Revises: 0003

``ix_results_status_id`` returns ``results?status=<status>`` newest first without sorting them; the
``playbooks.result_count`` column, counted once here for existing data, is kept by triggers on ``results``
(statement-level with transition tables on PostgreSQL, so a bulk insert or a cascaded delete updates each
playbook once; row-level on SQLite). Note for later SQLite batch migrations of ``results``: recreating the
table drops its triggers, so such a migration must create them again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNT = "UPDATE playbooks SET result_count = (SELECT count(*) FROM results WHERE results.playbook_id = playbooks.id)"

SQLITE_TRIGGERS = [
    """CREATE TRIGGER tr_results_count_insert AFTER INSERT ON results BEGIN
        UPDATE playbooks SET result_count = result_count + 1 WHERE id = NEW.playbook_id;
    END""",
    """CREATE TRIGGER tr_results_count_delete AFTER DELETE ON results BEGIN
        UPDATE playbooks SET result_count = result_count - 1 WHERE id = OLD.playbook_id;
    END""",
    """CREATE TRIGGER tr_results_count_update AFTER UPDATE OF playbook_id ON results
    WHEN OLD.playbook_id IS NOT NEW.playbook_id BEGIN
        UPDATE playbooks SET result_count = result_count - 1 WHERE id = OLD.playbook_id;
        UPDATE playbooks SET result_count = result_count + 1 WHERE id = NEW.playbook_id;
    END""",
]

POSTGRES_FUNCTIONS = {
    "insert": """
        UPDATE playbooks SET result_count = playbooks.result_count + added.n
        FROM (SELECT playbook_id, count(*) AS n FROM new_rows GROUP BY playbook_id) AS added
        WHERE playbooks.id = added.playbook_id""",
    "delete": """
        UPDATE playbooks SET result_count = playbooks.result_count - removed.n
        FROM (SELECT playbook_id, count(*) AS n FROM old_rows GROUP BY playbook_id) AS removed
        WHERE playbooks.id = removed.playbook_id""",
    "update": """
        UPDATE playbooks SET result_count = playbooks.result_count + moved.n
        FROM (
            SELECT playbook_id, sum(n) AS n FROM (
                SELECT new_rows.playbook_id, 1 AS n FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
                WHERE new_rows.playbook_id IS DISTINCT FROM old_rows.playbook_id
                UNION ALL
                SELECT old_rows.playbook_id, -1 AS n FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
                WHERE new_rows.playbook_id IS DISTINCT FROM old_rows.playbook_id
            ) AS changes GROUP BY playbook_id
        ) AS moved
        WHERE playbooks.id = moved.playbook_id""",
}
POSTGRES_REFERENCING = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}


def upgrade() -> None:
    with op.batch_alter_table("playbooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_count", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_results_status_id"), ["status", "id"], unique=False)
    op.execute(COUNT)
    if op.get_bind().dialect.name == "postgresql":
        for event, body in POSTGRES_FUNCTIONS.items():
            op.execute(
                f"CREATE FUNCTION ara_results_count_{event}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN {body.strip()}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER tr_results_count_{event} AFTER {event.upper()} ON results "
                f"{POSTGRES_REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION ara_results_count_{event}()"
            )
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for event in POSTGRES_FUNCTIONS:
        op.execute(f"DROP TRIGGER IF EXISTS tr_results_count_{event}" + (" ON results" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS ara_results_count_{event}()")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_status_id"))
    if postgres:
        op.drop_column("playbooks", "result_count")
    else:
        # Not batch mode: recreating ``playbooks`` would cascade-delete every row that points at it.
        op.execute("ALTER TABLE playbooks DROP COLUMN result_count")

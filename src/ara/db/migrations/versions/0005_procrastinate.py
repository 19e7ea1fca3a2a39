"""procrastinate executes runs on PostgreSQL: its schema, each run's job id; per-run heartbeats go

Revision ID: 0005
Revises: 0004

On PostgreSQL this installs procrastinate's current schema and records its shipped migration files (see
``ara.db.procrastinate_schema``; later procrastinate releases are applied by ``ara.db.migrate.upgrade``). On
SQLite nothing of procrastinate is created: the embedded executor needs no tables. ``heartbeat_at`` goes:
procrastinate's worker heartbeats tell a dead worker, and the embedded executor owns every run of its database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types
from ara.db import procrastinate_schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("playbook_runs") as batch:
        batch.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        batch.drop_column("heartbeat_at")
    if op.get_bind().dialect.name == "postgresql":
        procrastinate_schema.install(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        procrastinate_schema.uninstall(op.get_bind())
    with op.batch_alter_table("playbook_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", ara.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.drop_column("job_id")

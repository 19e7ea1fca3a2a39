"""automations: jobs (cron, every, one-shot at) and their runs on the agents queue

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = ara.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "automation_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("schedule_kind", sa.String(8), nullable=False),
        sa.Column("schedule_expr", sa.String(255), nullable=True),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("at", Moment, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("execution_mode", sa.String(32), nullable=False),
        sa.Column("misfire_policy", sa.String(32), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("retry_backoff_seconds", sa.Integer(), nullable=False),
        sa.Column("next_fire_at", Moment, nullable=True),
        sa.Column("last_fired_at", Moment, nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
    )
    op.create_index("ix_automation_jobs_user_id", "automation_jobs", ["user_id"])
    op.create_index("ix_automation_jobs_enabled_next_fire_at", "automation_jobs", ["enabled", "next_fire_at"])
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "automation_id",
            sa.String(64),
            sa.ForeignKey("automation_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("replay_of", sa.String(64), nullable=True),
        sa.Column("fire_time", Moment, nullable=False),
        sa.Column("scheduled_time", Moment, nullable=False),
        sa.Column("start_time", Moment, nullable=True),
        sa.Column("end_time", Moment, nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_automation_runs_automation_id", "automation_runs", ["automation_id"])
    op.create_index("ix_automation_runs_user_id", "automation_runs", ["user_id"])
    op.create_index("ix_automation_runs_status_scheduled_time", "automation_runs", ["status", "scheduled_time"])


def downgrade() -> None:
    op.drop_table("automation_runs")
    op.drop_table("automation_jobs")

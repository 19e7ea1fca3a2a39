"""apps: manifests, members, invites, secrets, keys, runs, logs, deliveries, schedules

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:28:00.601764
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_apps_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apps")),
        sa.UniqueConstraint("slug", name=op.f("uq_apps_slug")),
    )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_apps_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "app_endpoint_secrets",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_app_endpoint_secrets_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "label", name=op.f("pk_app_endpoint_secrets")),
    )
    op.create_table(
        "app_invites",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("expires_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_invites_app_id_apps"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_app_invites_invited_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_app_invites_token_hash")),
    )
    with op.batch_alter_table("app_invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_invites_app_id"), ["app_id"], unique=False)

    op.create_table(
        "app_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_keys_app_id_apps"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_app_keys_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_app_keys_key_hash")),
    )
    with op.batch_alter_table("app_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_keys_app_id"), ["app_id"], unique=False)

    op.create_table(
        "app_log_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=True),
        sa.Column("timestamp", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_log_lines_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_log_lines")),
    )
    with op.batch_alter_table("app_log_lines", schema=None) as batch_op:
        batch_op.create_index("ix_app_log_lines_app_id_id", ["app_id", "id"], unique=False)

    op.create_table(
        "app_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_members_app_id_apps"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_app_members_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_members")),
        sa.UniqueConstraint("app_id", "user_id", name="uq_app_members_app_user"),
    )
    with op.batch_alter_table("app_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_members_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_app_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "app_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("warmup", sa.Boolean(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("response_mode", sa.String(length=8), nullable=False),
        sa.Column("callback", sa.JSON(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("playbook_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("scheduled_time", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("start_time", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_time", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_runs_app_id_apps"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_app_runs_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_runs")),
        sa.UniqueConstraint("app_id", "idempotency_key", name="uq_app_runs_app_idempotency_key"),
        sa.UniqueConstraint("app_id", "run_id", name="uq_app_runs_app_run_id"),
    )
    with op.batch_alter_table("app_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_runs_app_id"), ["app_id"], unique=False)
        batch_op.create_index("ix_app_runs_status_scheduled_time", ["status", "scheduled_time"], unique=False)

    op.create_table(
        "app_schedules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("schedule_id", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("cron", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("one_shot_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("run", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_fire_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fired_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_schedules_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_schedules")),
        sa.UniqueConstraint("app_id", "schedule_id", name="uq_app_schedules_app_schedule_id"),
    )
    with op.batch_alter_table("app_schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_schedules_app_id"), ["app_id"], unique=False)
        batch_op.create_index("ix_app_schedules_enabled_next_fire_at", ["enabled", "next_fire_at"], unique=False)

    op.create_table(
        "app_secrets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("keys", sa.JSON(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_secrets_app_id_apps"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_secrets")),
        sa.UniqueConstraint("app_id", "name", name="uq_app_secrets_app_name"),
    )
    with op.batch_alter_table("app_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_secrets_app_id"), ["app_id"], unique=False)

    op.create_table(
        "app_key_usage",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("window", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"], ["app_keys.id"], name=op.f("fk_app_key_usage_key_id_app_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key_id", "window", name=op.f("pk_app_key_usage")),
    )
    op.create_table(
        "app_webhook_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("run_pk", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["app_runs.id"], name=op.f("fk_app_webhook_deliveries_run_pk_app_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_webhook_deliveries")),
    )
    with op.batch_alter_table("app_webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_webhook_deliveries_run_pk"), ["run_pk"], unique=False)
        batch_op.create_index("ix_app_webhook_deliveries_status_next_at", ["status", "next_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("app_webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_app_webhook_deliveries_status_next_at")
        batch_op.drop_index(batch_op.f("ix_app_webhook_deliveries_run_pk"))

    op.drop_table("app_webhook_deliveries")
    op.drop_table("app_key_usage")
    with op.batch_alter_table("app_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_secrets_app_id"))

    op.drop_table("app_secrets")
    with op.batch_alter_table("app_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_app_schedules_enabled_next_fire_at")
        batch_op.drop_index(batch_op.f("ix_app_schedules_app_id"))

    op.drop_table("app_schedules")
    with op.batch_alter_table("app_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_app_runs_status_scheduled_time")
        batch_op.drop_index(batch_op.f("ix_app_runs_app_id"))

    op.drop_table("app_runs")
    with op.batch_alter_table("app_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_app_members_app_id"))

    op.drop_table("app_members")
    with op.batch_alter_table("app_log_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_app_log_lines_app_id_id")

    op.drop_table("app_log_lines")
    with op.batch_alter_table("app_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_keys_app_id"))

    op.drop_table("app_keys")
    with op.batch_alter_table("app_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_invites_app_id"))

    op.drop_table("app_invites")
    op.drop_table("app_endpoint_secrets")
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apps_owner_id"))

    op.drop_table("apps")

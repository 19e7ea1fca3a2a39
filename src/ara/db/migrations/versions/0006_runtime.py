"""runtime: sessions, conversations and their messages, SSH connect tokens

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runtime_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("network", sa.Boolean(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.String(255), nullable=False),
        sa.Column("playbook_id", BigId, sa.ForeignKey("playbooks.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_runtime_sessions_user_id", "runtime_sessions", ["user_id"])
    op.create_index(
        "uq_runtime_sessions_running_user",
        "runtime_sessions",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "runtime_conversations",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("runtime_sessions.id", ondelete="SET NULL")),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_runtime_conversations_user_id", "runtime_conversations", ["user_id"])
    op.create_table(
        "runtime_messages",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id",
            sa.String(255),
            sa.ForeignKey("runtime_conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_runtime_messages_conversation_id_seq"),
    )
    op.create_index("ix_runtime_messages_conversation_id", "runtime_messages", ["conversation_id"])
    op.create_table(
        "runtime_connect_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "session_id", sa.String(64), sa.ForeignKey("runtime_sessions.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("created_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", ara.db.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_runtime_connect_tokens_user_id", "runtime_connect_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("runtime_connect_tokens")
    op.drop_table("runtime_messages")
    op.drop_table("runtime_conversations")
    op.drop_index("uq_runtime_sessions_running_user", table_name="runtime_sessions")
    op.drop_table("runtime_sessions")

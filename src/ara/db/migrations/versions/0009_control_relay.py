"""control relay: which API host holds a session's control peers, and calls relayed between hosts

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Moment = ara.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runtime_control_peers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("connected_at", Moment, nullable=False),
        sa.Column("heartbeat_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["runtime_sessions.id"],
            name=op.f("fk_runtime_control_peers_session_id_runtime_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runtime_control_peers")),
    )
    op.create_index("ix_runtime_control_peers_session_id", "runtime_control_peers", ["session_id"])
    op.create_index("ix_runtime_control_peers_host", "runtime_control_peers", ["host"])
    op.create_table(
        "runtime_control_calls",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("reply_host", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("expires_at", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["runtime_sessions.id"],
            name=op.f("fk_runtime_control_calls_session_id_runtime_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runtime_control_calls")),
    )
    op.create_index("ix_runtime_control_calls_session_id", "runtime_control_calls", ["session_id"])
    op.create_index("ix_runtime_control_calls_expires_at", "runtime_control_calls", ["expires_at"])


def downgrade() -> None:
    op.drop_table("runtime_control_calls")
    op.drop_table("runtime_control_peers")

"""device logins: the CLI's browser login (device flow, PKCE), expiring API tokens and their refresh tokens

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Moment = ara.db.types.UTCDateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires", Moment, nullable=True))
    op.create_table(
        "device_logins",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("poll_sha256", sa.String(64), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("client", sa.String(255), nullable=False),
        sa.Column("redirect_uri", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, nullable=True),
        sa.Column("code_sha256", sa.String(64), nullable=True),
        sa.Column("created", Moment, nullable=False),
        sa.Column("expires", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_device_logins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_logins")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_device_logins_code_sha256")),
    )
    op.create_index("ix_device_logins_expires", "device_logins", ["expires"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("api_token_id", BigId, nullable=False),
        sa.Column("created", Moment, nullable=False),
        sa.Column("expires", Moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_refresh_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_token_id"],
            ["api_tokens.id"],
            name=op.f("fk_refresh_tokens_api_token_id_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_refresh_tokens_token_sha256")),
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_index("ix_refresh_tokens_api_token_id", "refresh_tokens", ["api_token_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("device_logins")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires")

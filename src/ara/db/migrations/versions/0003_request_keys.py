"""request keys: what each create with an Idempotency-Key created

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import ara.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("created", ara.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_request_keys")),
    )
    with op.batch_alter_table("request_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_keys_created"), ["created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("request_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_keys_created"))
    op.drop_table("request_keys")

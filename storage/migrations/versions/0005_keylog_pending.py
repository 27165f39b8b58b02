"""Key-log entries waiting for the offline root key's signature.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kt_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True, nullable=False),
        sa.Column("grp", sa.String(32), nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("needs_root", sa.Integer(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kt_pending"),
    )
    op.create_index("ix_kt_pending_grp", "kt_pending", ["grp", "id"])


def downgrade() -> None:
    op.drop_index("ix_kt_pending_grp", table_name="kt_pending")
    op.drop_table("kt_pending")

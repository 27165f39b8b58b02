"""The key-transparency log and the key directory's current pointers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kt_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kt_head"),
    )
    op.create_table(
        "kt_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_kt_leaves"),
    )
    op.create_index("ix_kt_leaves_uid", "kt_leaves", ["uid", "idx"])
    op.create_table(
        "kt_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_kt_nodes"),
    )
    op.create_table(
        "kt_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_kt_checkpoints"),
    )
    op.create_table(
        "key_directory",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("keys_idx", sa.BigInteger(), nullable=True),
        sa.Column("approval_idx", sa.BigInteger(), nullable=True),
        sa.Column("cert_idx", sa.BigInteger(), nullable=True),
        sa.Column("revoke_idx", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_key_directory_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_key_directory"),
    )


def downgrade() -> None:
    op.drop_table("key_directory")
    op.drop_table("kt_checkpoints")
    op.drop_table("kt_nodes")
    op.drop_index("ix_kt_leaves_uid", table_name="kt_leaves")
    op.drop_table("kt_leaves")
    op.drop_table("kt_head")

"""Evidence attachments: declared files with their manifest, stored chunks, download access.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("n_chunks", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("plain_size", sa.BigInteger(), nullable=False),
        sa.Column("manifest", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("committed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["members.id"], name="fk_files_owner_id_members", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_owner", "files", ["owner_id"])
    op.create_table(
        "file_chunks",
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_file_chunks_file_id_files", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("file_id", "idx", name="pk_file_chunks"),
    )
    op.create_table(
        "file_access",
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_file_access_file_id_files", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_file_access_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("file_id", "member_id", name="pk_file_access"),
    )
    op.create_index("ix_file_access_member", "file_access", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_file_access_member", table_name="file_access")
    op.drop_table("file_access")
    op.drop_table("file_chunks")
    op.drop_index("ix_files_owner", table_name="files")
    op.drop_table("files")

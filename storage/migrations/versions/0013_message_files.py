"""Which messages reference which evidence files, so blobs are deleted with the last reference.

Also the sealed resume record of an unfinished upload (docs/PROTOCOL.md §8.6).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_files",
        sa.Column("msg_id", sa.String(32), nullable=False),
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["msg_id"], ["messages.id"], name="fk_message_files_msg_id_messages", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_message_files_file_id_files", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("msg_id", "file_id", name="pk_message_files"),
    )
    op.create_index("ix_message_files_file", "message_files", ["file_id"])
    # Messages stored before this revision carry their file references only inside the ciphertext.
    # Any message that references a file was sent by a member allowed to (its owner or a grantee),
    # so linking each committed file to every message of those senders is a safe superset: such a
    # file is reclaimed only when every one of those messages is gone, never while one may need it.
    op.execute(
        """
        INSERT INTO message_files (msg_id, file_id)
        SELECT DISTINCT m.id, f.id FROM files f JOIN messages m ON m.sender_id = f.owner_id
        WHERE f.status = 'committed'
        UNION
        SELECT DISTINCT m.id, a.file_id FROM file_access a
        JOIN files f ON f.id = a.file_id AND f.status = 'committed'
        JOIN messages m ON m.sender_id = a.member_id
        """
    )
    op.create_table(
        "file_resume",
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_file_resume_file_id_files", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("file_id", name="pk_file_resume"),
    )


def downgrade() -> None:
    op.drop_table("file_resume")
    op.drop_index("ix_message_files_file", table_name="message_files")
    op.drop_table("message_files")

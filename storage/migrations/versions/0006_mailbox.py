"""The encrypted message store: messages, mailbox rows, drafts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("sender_id", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["members.id"], name="fk_messages_sender_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_table(
        "mailbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("msg_id", sa.String(32), nullable=False),
        sa.Column("folder", sa.String(16), nullable=False),
        sa.Column("unread", sa.Integer(), nullable=False),
        sa.Column("starred", sa.Integer(), nullable=False),
        sa.Column("thread", sa.String(64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_mailbox_member_id_members", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["msg_id"], ["messages.id"], name="fk_mailbox_msg_id_messages", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_mailbox"),
    )
    op.create_index("ix_mailbox_folder", "mailbox", ["member_id", "folder", "id"])
    op.create_index("uq_mailbox_member_msg", "mailbox", ["member_id", "msg_id"], unique=True)
    op.create_table(
        "drafts",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_drafts_member_id_members", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("member_id", "slot", name="pk_drafts"),
    )


def downgrade() -> None:
    op.drop_table("drafts")
    op.drop_index("uq_mailbox_member_msg", table_name="mailbox")
    op.drop_index("ix_mailbox_folder", table_name="mailbox")
    op.drop_table("mailbox")
    op.drop_table("messages")

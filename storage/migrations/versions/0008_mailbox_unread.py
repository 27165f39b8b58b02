"""Unread counts per folder from an index, not a scan of the member's whole mailbox.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mailbox_unread", "mailbox", ["member_id", "unread", "folder"])


def downgrade() -> None:
    op.drop_index("ix_mailbox_unread", table_name="mailbox")

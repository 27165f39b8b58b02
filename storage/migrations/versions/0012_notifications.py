"""Content-free notifications: per-member settings and last-sent times.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_settings",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("address", sa.String(254), nullable=True),
        sa.Column("pending_address", sa.String(254), nullable=True),
        sa.Column("pending_token", sa.LargeBinary(32), nullable=True),
        sa.Column("pending_since", UTCDateTime(), nullable=True),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_notify_settings_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_notify_settings"),
    )
    op.create_index("ix_notify_settings_pending", "notify_settings", ["pending_since"])


def downgrade() -> None:
    op.drop_index("ix_notify_settings_pending", table_name="notify_settings")
    op.drop_table("notify_settings")

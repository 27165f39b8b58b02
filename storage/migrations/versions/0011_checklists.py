"""24-hour initial action checklist templates and case copies with encrypted notes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checklist_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name="fk_checklist_versions_created_by_members", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("version", name="pk_checklist_versions"),
    )
    op.create_table(
        "checklist_cases",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("label", sa.LargeBinary(), nullable=False),
        sa.Column("key_commit", sa.LargeBinary(32), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"], ["checklist_versions.version"], name="fk_checklist_cases_version_checklist_versions"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name="fk_checklist_cases_created_by_members", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checklist_cases"),
    )
    op.create_table(
        "checklist_participants",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("enc_kid", sa.LargeBinary(32), nullable=False),
        sa.Column("wrap", sa.LargeBinary(), nullable=False),
        sa.Column("added_by", sa.String(32), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["checklist_cases.id"],
            name="fk_checklist_participants_case_id_checklist_cases",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_checklist_participants_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "member_id", name="pk_checklist_participants"),
    )
    op.create_index("ix_checklist_participants_member", "checklist_participants", ["member_id"])
    op.create_table(
        "checklist_ticks",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("item", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.String(32), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["checklist_cases.id"], name="fk_checklist_ticks_case_id_checklist_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "item", name="pk_checklist_ticks"),
    )
    op.create_table(
        "checklist_notes",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["checklist_cases.id"], name="fk_checklist_notes_case_id_checklist_cases", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "id", name="pk_checklist_notes"),
    )


def downgrade() -> None:
    op.drop_table("checklist_notes")
    op.drop_table("checklist_ticks")
    op.drop_index("ix_checklist_participants_member", table_name="checklist_participants")
    op.drop_table("checklist_participants")
    op.drop_table("checklist_cases")
    op.drop_table("checklist_versions")

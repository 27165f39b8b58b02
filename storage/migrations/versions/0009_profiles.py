"""Focal Point directory profiles, country profiles with revisions, events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_profiles",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("position", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("languages", sa.String(200), nullable=False),
        sa.Column("availability", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("hours", sa.String(16), nullable=False),
        sa.Column("expertise", sa.String(400), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_member_profiles_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_profiles"),
    )
    op.create_table(
        "profile_tags",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_profile_tags_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", "kind", "value", name="pk_profile_tags"),
    )
    op.create_index("ix_profile_tags_value", "profile_tags", ["kind", "value", "member_id"])
    op.create_table(
        "country_profiles",
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("country", name="pk_country_profiles"),
    )
    op.create_table(
        "country_profile_revisions",
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("revision", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.Column("saved_by", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("country", "revision", name="pk_country_profile_revisions"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_dates", "events", ["ends_on", "starts_on"])
    op.create_index("ix_members_directory", "members", ["country", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_members_directory", table_name="members")
    op.drop_index("ix_events_dates", table_name="events")
    op.drop_table("events")
    op.drop_table("country_profile_revisions")
    op.drop_table("country_profiles")
    op.drop_index("ix_profile_tags_value", table_name="profile_tags")
    op.drop_table("profile_tags")
    op.drop_table("member_profiles")

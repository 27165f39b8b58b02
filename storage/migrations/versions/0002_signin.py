"""Sign-in: credentials, login challenges, throttling, richer sessions, hash-chained audit log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("public_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_sessions_public_id", ["public_id"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.LargeBinary(32), nullable=True))
        batch.add_column(sa.Column("hash", sa.LargeBinary(32), nullable=True))
        batch.create_unique_constraint("uq_audit_log_seq", ["seq"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    op.create_table(
        "credentials",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("salt", sa.LargeBinary(16), nullable=False),
        sa.Column("params", sa.String(200), nullable=False),
        sa.Column("auth_pk", sa.LargeBinary(32), nullable=False),
        sa.Column("wrapped_password", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_recovery", sa.LargeBinary(), nullable=False),
        sa.Column("bundle_version", sa.Integer(), nullable=False),
        sa.Column("sig_pk", sa.LargeBinary(32), nullable=False),
        sa.Column("enc_pk", sa.LargeBinary(32), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_credentials_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_credentials"),
    )
    op.create_table(
        "login_challenges",
        sa.Column("id", sa.LargeBinary(16), nullable=False),
        sa.Column("username", sa.String(254), nullable=False),
        sa.Column("challenge", sa.LargeBinary(32), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_login_challenges"),
    )
    op.create_table(
        "throttle",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.Column("blocked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_throttle"),
    )
    # Entries written before the chain existed are chained now, in id order.
    from storage.audit_chain import rechain_existing

    rechain_existing(op.get_bind())


def downgrade() -> None:
    op.drop_table("throttle")
    op.drop_table("login_challenges")
    op.drop_table("credentials")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_seq", type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint("uq_sessions_public_id", type_="unique")
        batch.drop_column("user_agent")
        batch.drop_column("last_seen_at")
        batch.drop_column("public_id")

"""Each stored chunk keeps its hash and nonce, so a file can be uploaded in one pass.

A declaration may leave out the chunk hashes; each chunk then brings its own with its PUT, and the
commit checks them against the manifest root the client will sign (docs/PROTOCOL.md §8.2). The
nonce (the blob's first 24 bytes, public like the rest of the blob) lets a resuming client check
that the file it picked again gives the very chunks already stored (§8.6).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("file_chunks") as batch:
        batch.add_column(sa.Column("hash", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("nonce", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("file_chunks") as batch:
        batch.drop_column("nonce")
        batch.drop_column("hash")

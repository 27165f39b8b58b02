"""Knowledge library documents with full-text search, notices.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

The search index is backend-specific (storage/library.py): an FTS5 table on SQLite, a generated
``tsvector`` column with a GIN index on PostgreSQL. Both use language-neutral tokenisation (no
stemming): documents are in English, French, Spanish and Arabic.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "library_documents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["members.id"], name="fk_library_documents_uploaded_by_members", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_library_documents"),
    )
    op.create_index("ix_library_documents_created", "library_documents", ["created_at"])
    op.create_table(
        "library_tags",
        sa.Column("doc_id", sa.String(32), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_id"], ["library_documents.id"], name="fk_library_tags_doc_id_library_documents", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("doc_id", "tag", name="pk_library_tags"),
    )
    op.create_index("ix_library_tags_tag", "library_tags", ["tag"])
    op.create_table(
        "library_editors",
        sa.Column("member_id", sa.String(32), nullable=False),
        sa.Column("granted_by", sa.String(32), nullable=True),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_library_editors_member_id_members", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_library_editors"),
    )
    op.create_table(
        "notices",
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("countries", sa.String(400), nullable=False),
        sa.Column("valid_from", sa.String(10), nullable=False),
        sa.Column("valid_until", sa.String(10), nullable=True),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["members.id"], name="fk_notices_created_by_members", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("ref", name="pk_notices"),
    )
    op.create_index("ix_notices_valid_until", "notices", ["valid_until"])
    if op.get_bind().dialect.name == "postgresql":
        # Weighted: title A, summary B, extracted text C; 'simple' = lower-case, no stemming.
        op.execute(
            "ALTER TABLE library_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('simple', coalesce(summary, '')), 'B') || "
            "setweight(to_tsvector('simple', coalesce(body, '')), 'C')) STORED"
        )
        op.execute("CREATE INDEX ix_library_documents_tsv ON library_documents USING GIN (tsv)")
    else:
        # doc_id is not indexed for search; storage/library.py keeps the rows in step.
        op.execute(
            "CREATE VIRTUAL TABLE library_fts USING fts5("
            "doc_id UNINDEXED, title, summary, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_library_documents_tsv")
    else:
        op.execute("DROP TABLE IF EXISTS library_fts")
    op.drop_index("ix_notices_valid_until", table_name="notices")
    op.drop_table("notices")
    op.drop_table("library_editors")
    op.drop_index("ix_library_tags_tag", table_name="library_tags")
    op.drop_table("library_tags")
    op.drop_index("ix_library_documents_created", table_name="library_documents")
    op.drop_table("library_documents")

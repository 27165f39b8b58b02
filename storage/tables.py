"""Table definitions shared by the repositories and the migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

members = Table(
    "members",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("agency", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("language", String(2), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

member_roles = Table(
    "member_roles",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(32), primary_key=True),
)

tokens = Table(
    "tokens",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("public_id", String(32), nullable=True, unique=True),
    Column("last_seen_at", UTCDateTime(), nullable=True),
    Column("user_agent", String(200), nullable=True),
    Index("ix_sessions_member", "member_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(32), nullable=True),
    Column("action", String(64), nullable=False),
    Column("subject", String(254), nullable=True),
    Column("detail", Text, nullable=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=True, unique=True),
    Column("prev_hash", LargeBinary(32), nullable=True),
    Column("hash", LargeBinary(32), nullable=True),
)

# One row (id = 1): the newest audit entry's sequence number and hash. Appends
# lock it, so concurrent writers extend one chain instead of forking it.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# What activation stores (docs/PROTOCOL.md §2–§5): nothing that opens the keys
# or logs in without the password. The TOTP secret is sealed under a key
# derived from the server key.
credentials = Table(
    "credentials",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("salt", LargeBinary(16), nullable=False),
    Column("params", String(200), nullable=False),
    Column("auth_pk", LargeBinary(32), nullable=False),
    Column("wrapped_password", LargeBinary, nullable=False),
    Column("wrapped_recovery", LargeBinary, nullable=False),
    Column("bundle_version", Integer, nullable=False),
    Column("sig_pk", LargeBinary(32), nullable=False),
    Column("enc_pk", LargeBinary(32), nullable=False),
    Column("totp_sealed", LargeBinary, nullable=False),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

login_challenges = Table(
    "login_challenges",
    metadata,
    Column("id", LargeBinary(16), primary_key=True),
    Column("username", String(254), nullable=False),
    Column("challenge", LargeBinary(32), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
)

throttle = Table(
    "throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime(), nullable=False),
    Column("blocked_until", UTCDateTime(), nullable=True),
)

# The application behind a member (status lives on the member row).
applications = Table(
    "applications",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("phone", String(40), nullable=False),
    Column("position", String(200), nullable=False),
    Column("languages", String(100), nullable=False),
    Column("nominator_email", String(254), nullable=False),
    Column("submitted_at", UTCDateTime(), nullable=False),
    Column("nominated_by", String(32), nullable=True),
    Column("nominated_at", UTCDateTime(), nullable=True),
    Column("authorized_by", String(32), nullable=True),
    Column("authorized_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("membership_expires_at", UTCDateTime(), nullable=True),
    Column("renewal_notified_at", UTCDateTime(), nullable=True),
)

# Mail waiting to leave through the relay. Values may hold links with tokens,
# so they are sealed under a key derived from the server key and dropped once sent.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("recipient", String(254), nullable=False),
    Column("template", String(64), nullable=False),
    Column("language", String(2), nullable=False),
    Column("sealed_values", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("last_error", String(300), nullable=True),
    Index("ix_outbox_pending", "sent_at", "next_attempt_at"),
)

# The key-transparency log (docs/PROTOCOL.md §9): leaves in order, the hash of
# every complete subtree (so appends and proofs read O(log n) rows), signed
# checkpoints, and one row of current pointers per member for look-ups.
kt_head = Table(
    "kt_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
)

kt_leaves = Table(
    "kt_leaves",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", Integer, nullable=False),
    Column("uid", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_kt_leaves_uid", "uid", "idx"),
)

kt_nodes = Table(
    "kt_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

kt_checkpoints = Table(
    "kt_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

key_directory = Table(
    "key_directory",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("keys_idx", BigInteger, nullable=True),
    Column("approval_idx", BigInteger, nullable=True),
    Column("cert_idx", BigInteger, nullable=True),
    Column("revoke_idx", BigInteger, nullable=True),
)

# Key-log entries waiting for the platform root's signature while the root key is offline
# (`isecom keys root requests` / `import-signature`): one group per member, appended in order
# once every root-signed item of the group is signed.
kt_pending = Table(
    "kt_pending",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("grp", String(32), nullable=False),
    Column("kind", Integer, nullable=False),
    Column("uid", String(32), nullable=False),
    Column("body", LargeBinary, nullable=False),  # unsigned body (root items) or the whole object
    Column("needs_root", Integer, nullable=False),
    Column("signed", LargeBinary, nullable=True),  # the whole object, once signed
    Index("ix_kt_pending_grp", "grp", "id"),
)

# The encrypted message store (docs/PROTOCOL.md §6, §7). A message is stored once, as the
# envelope the sender's client made; each member who holds it (recipients, the sender's Sent
# copy) has a mailbox row. The server sees only what the envelope header shows (sender,
# recipients, sizes, times) and the flags members set.
messages = Table(
    "messages",
    metadata,
    Column("id", String(32), primary_key=True),  # msg_id, hex
    Column("sender_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("origin", String(8), nullable=False),  # "web" or "smtp"
    Column("size", Integer, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

mailbox = Table(
    "mailbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("msg_id", String(32), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("folder", String(16), nullable=False),  # inbox, sent, archive, trash
    Column("unread", Integer, nullable=False),
    Column("starred", Integer, nullable=False),
    Column("thread", String(64), nullable=True),  # an opaque tag the member's own client sets
    Column("received_at", UTCDateTime(), nullable=False),
    Index("ix_mailbox_folder", "member_id", "folder", "id"),
    Index("uq_mailbox_member_msg", "member_id", "msg_id", unique=True),
    Index("ix_mailbox_unread", "member_id", "unread", "folder"),  # unread counts without a scan
)

drafts = Table(
    "drafts",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("slot", String(32), primary_key=True),  # the client's id for the draft
    Column("envelope", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Evidence attachments (docs/PROTOCOL.md §8): ciphertext chunks in the blob store, checked on
# upload against the manifest the owner declared. The server sees sizes, counts, hashes of
# ciphertext and who may download; never a key, a name or a byte of plaintext.
files = Table(
    "files",
    metadata,
    Column("id", String(32), primary_key=True),  # file_id, hex (the client's random 16 bytes)
    Column("owner_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), nullable=False),
    Column("n_chunks", Integer, nullable=False),
    Column("chunk_size", Integer, nullable=False),
    Column("plain_size", BigInteger, nullable=False),
    # h_0 ‖ h_1 ‖ … (32 bytes each, §8.2); empty until the commit when the chunks bring their hashes
    Column("manifest", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # uploading, committed
    Column("created_at", UTCDateTime(), nullable=False),
    Column("committed_at", UTCDateTime(), nullable=True),
    Index("ix_files_owner", "owner_id"),
)

file_chunks = Table(
    "file_chunks",
    metadata,
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("size", Integer, nullable=False),  # the stored blob's length
    Column("hash", LargeBinary, nullable=True),  # h_i of the stored blob (§8.1); null before 0014
    Column("nonce", LargeBinary, nullable=True),  # its first 24 bytes, for a resuming client (§8.6)
)

file_access = Table(
    "file_access",
    metadata,
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_file_access_member", "member_id"),
)

# The 24-hour initial action checklist (docs/PROTOCOL.md §12). Templates are public,
# versioned knowledge; a case copy names its version. The server sees who takes part in a
# case, its start time and which items are ticked, when and by whom; the case label and the
# notes are ciphertext under a case key that only the participants' keys unwrap.
checklist_versions = Table(
    "checklist_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("items", Text, nullable=False),  # JSON list of {section, title, guidance, due_hours}
    Column("created_by", String(32), ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

checklist_cases = Table(
    "checklist_cases",
    metadata,
    Column("id", String(32), primary_key=True),  # case_id, hex (the client's random 16 bytes)
    Column("version", Integer, ForeignKey("checklist_versions.version"), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("label", LargeBinary, nullable=False),  # nonce ‖ AEAD ciphertext (§12.3)
    Column("key_commit", LargeBinary(32), nullable=False),
    Column("created_by", String(32), ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

checklist_participants = Table(
    "checklist_participants",
    metadata,
    Column("case_id", String(32), ForeignKey("checklist_cases.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("enc_kid", LargeBinary(32), nullable=False),
    Column("wrap", LargeBinary, nullable=False),  # SEAL(case_key ‖ case_id, enc_pk), 96 bytes
    Column("added_by", String(32), nullable=True),
    Column("added_at", UTCDateTime(), nullable=False),
    Index("ix_checklist_participants_member", "member_id"),
)

checklist_ticks = Table(
    "checklist_ticks",
    metadata,
    Column("case_id", String(32), ForeignKey("checklist_cases.id", ondelete="CASCADE"), primary_key=True),
    Column("item", Integer, primary_key=True),  # the item's index in the case's template version
    Column("done", Integer, nullable=False),
    Column("changed_by", String(32), nullable=True),
    Column("changed_at", UTCDateTime(), nullable=False),
)

checklist_notes = Table(
    "checklist_notes",
    metadata,
    Column("case_id", String(32), ForeignKey("checklist_cases.id", ondelete="CASCADE"), primary_key=True),
    Column("id", String(32), primary_key=True),  # note_id, hex
    Column("author_id", String(32), nullable=True),
    Column("body", LargeBinary, nullable=False),  # the sealed note (§12.4)
    Column("created_at", UTCDateTime(), nullable=False),
)

# Which messages reference which evidence files (learnt at send, when access is granted), so a
# file's chunks and blobs are deleted with the last message that references it (migration 0013).
message_files = Table(
    "message_files",
    metadata,
    Column("msg_id", String(32), ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_message_files_file", "file_id"),
)

# An unfinished upload's resume record (docs/PROTOCOL.md §8.6): a sealed box to its owner's own
# X25519 key holding the file key, nonce seed and a fingerprint; opaque to the server.
file_resume = Table(
    "file_resume",
    metadata,
    Column("file_id", String(32), ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
)

# The knowledge library (migration 0010): member-visible documents, not end-to-end encrypted
# (the threat model lets the server know the knowledge content). The file is a blob in the blob
# store; ``body`` holds the text extracted from it for full-text search. The search index itself
# is backend-specific and lives only in the migration and storage/library.py: an FTS5 table
# ``library_fts`` on SQLite, a generated ``tsvector`` column ``tsv`` with a GIN index on PostgreSQL.
library_documents = Table(
    "library_documents",
    metadata,
    Column("id", String(32), primary_key=True),  # random hex, also the blob id ("lib-<id>")
    Column("title", String(300), nullable=False),
    Column("summary", Text, nullable=False),
    Column("kind", String(32), nullable=False),  # guideline, case_study, working_group, best_practice
    Column("region", String(64), nullable=False),  # a region name, or "" for global
    Column("language", String(8), nullable=False),  # ISO 639-1
    Column("tags", Text, nullable=False),  # the tags joined by "," (library_tags is the index)
    Column("filename", String(255), nullable=False),  # shown and offered on download
    Column("media_type", String(100), nullable=False),  # from the magic bytes, not the name
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),  # extracted text (bounded)
    Column("uploaded_by", String(32), ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_library_documents_created", "created_at"),
)

library_tags = Table(
    "library_tags",
    metadata,
    Column("doc_id", String(32), ForeignKey("library_documents.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index("ix_library_tags_tag", "tag"),
)

# Members an administrator designated to add documents to the library (besides administrators).
library_editors = Table(
    "library_editors",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("granted_by", String(32), nullable=True),
    Column("granted_at", UTCDateTime(), nullable=False),
)

# Corruption-related and asset-freeze notices (fictional in all data). Dates are ISO
# "YYYY-MM-DD" strings, so they compare as text on every backend; "expired" is computed.
notices = Table(
    "notices",
    metadata,
    Column("ref", String(32), primary_key=True),  # CN-2026-00042, AF-2026-00042
    Column("type", String(16), nullable=False),  # corruption, asset_freeze
    Column("subject", String(300), nullable=False),
    Column("subject_kind", String(16), nullable=False),  # person, entity
    Column("countries", String(400), nullable=False),  # ",FR,KE," (commas around every code)
    Column("valid_from", String(10), nullable=False),
    Column("valid_until", String(10), nullable=True),
    Column("cancelled", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("created_by", String(32), ForeignKey("members.id", ondelete="SET NULL"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_notices_valid_until", "valid_until"),
)

# The Focal Point directory (isecom/services/profile_ports.py): public directory content the
# server may know. A member's languages and expertise are also rows in ``profile_tags`` so the
# directory filters use an index.
member_profiles = Table(
    "member_profiles",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("position", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("languages", String(200), nullable=False),  # comma-separated ISO 639-1 codes, in order
    Column("availability", String(16), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("hours", String(16), nullable=False),
    Column("expertise", String(400), nullable=False),  # comma-separated keys
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(32), nullable=True),
)

profile_tags = Table(
    "profile_tags",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # "lang" or "exp"
    Column("value", String(32), primary_key=True),
    Index("ix_profile_tags_value", "kind", "value", "member_id"),
)

# One row per country: the newest revision number (saves compare and set it).
country_profiles = Table(
    "country_profiles",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
)

# Every saved revision, never changed: the body is the JSON of CountryFacts.
country_profile_revisions = Table(
    "country_profile_revisions",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("revision", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
    Column("saved_by", String(32), nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("place", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("documents", Text, nullable=False),  # JSON list of {"title", "url"}
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(32), nullable=True),
    Index("ix_events_dates", "ends_on", "starts_on"),
)

# The directory lists members by country, then name (storage/profiles.py).
Index("ix_members_directory", members.c.country, members.c.name, members.c.id)

# Content-free new-mail notices (issue 7): one row per member who set an external address.
# ``pending_since`` is set in the transaction that delivers mail to the member and cleared in
# the one that queues the notice in the outbox, so a notice is never lost and never doubled.
notify_settings = Table(
    "notify_settings",
    metadata,
    Column("member_id", String(32), ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    Column("mode", String(16), nullable=False),  # off | immediate | digest
    Column("address", String(254), nullable=True),  # confirmed
    Column("pending_address", String(254), nullable=True),  # waiting for its confirmation link
    Column("pending_token", LargeBinary(32), nullable=True),  # digest of that link's token
    Column("pending_since", UTCDateTime(), nullable=True),  # new mail not yet announced
    Column("last_sent_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_notify_settings_pending", "pending_since"),
)

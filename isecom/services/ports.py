"""The ports the services need; ``storage/`` implements them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from isecom.services.checklist_ports import ChecklistRepository
from isecom.services.files_ports import FileRecord as FileRecord
from isecom.services.files_ports import StoredChunk as StoredChunk
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role

if TYPE_CHECKING:
    from isecom.services.files_ports import FileLinkRepository, FileRepository
    from isecom.services.library_ports import LibraryRepository, NoticeRepository
    from isecom.services.notify_ports import NotifyRepository, OutboxHealth
    from isecom.services.profile_ports import ProfileStores

_I = TypeVar("_I")
_R = TypeVar("_R")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Member:
    id: MemberId
    email: Email
    name: str
    country: Country
    agency: str
    roles: frozenset[Role]
    status: MemberStatus
    language: Language
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Token:
    """A single-use, purpose-bound, expiring token (only its hash is stored)."""

    digest: bytes
    purpose: str
    member_id: MemberId
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    digest: bytes
    member_id: MemberId
    created_at: datetime
    expires_at: datetime  # the absolute limit
    revoked_at: datetime | None
    public_id: str = ""  # shown in the session list; the digest never leaves the server
    last_seen_at: datetime | None = None
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What activation stores (docs/PROTOCOL.md): nothing that logs in or unwraps without the password."""

    member_id: MemberId
    salt: bytes
    params: dict[str, object]
    auth_pk: bytes
    wrapped_password: bytes
    wrapped_recovery: bytes
    bundle_version: int
    sig_pk: bytes
    enc_pk: bytes
    totp_sealed: bytes
    totp_last_step: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Application:
    member_id: MemberId
    phone: str
    position: str
    languages: tuple[str, ...]
    nominator_email: Email
    submitted_at: datetime
    nominated_by: MemberId | None = None
    nominated_at: datetime | None = None
    authorized_by: MemberId | None = None
    authorized_at: datetime | None = None
    decision_reason: str | None = None
    membership_expires_at: datetime | None = None
    renewal_notified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A mail to send: a template and its values, sealed at rest (they may hold links with tokens)."""

    recipient: Email
    template: str
    language: Language
    sealed_values: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedMail:
    id: int
    mail: OutgoingMail
    attempts: int


@dataclass(frozen=True, slots=True)
class Challenge:
    id: bytes
    username: str
    challenge: bytes
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class ThrottleState:
    key: str
    failures: int
    last_failure_at: datetime
    blocked_until: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: MemberId | None
    action: str
    subject: str | None
    detail: dict[str, str]


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    seq: int
    entry: AuditEntry
    detail_text: str  # exactly as stored, for re-hashing
    prev_hash: bytes
    hash: bytes


class MemberRepository(Protocol):
    async def add(self, member: Member) -> None: ...
    async def get(self, member_id: MemberId) -> Member | None: ...
    async def by_email(self, email: Email) -> Member | None: ...
    async def count(self) -> int: ...
    async def count_with_role(self, role: Role) -> int: ...
    async def set_status(self, member_id: MemberId, status: MemberStatus) -> None: ...
    async def in_country(self, country: Country, *, limit: int) -> list[Member]: ...
    async def with_role(self, role: Role, country: Country) -> list[Member]:
        """Active members holding ``role`` in ``country``."""
        ...

    async def search(self, text: str, *, country: Country | None, limit: int, offset: int) -> list[Member]:
        """Members whose name, email or agency contains ``text`` (case-insensitive; empty: all),
        from ``country`` (None: every country), by name then email."""
        ...


class TokenRepository(Protocol):
    async def add(self, token: Token) -> None: ...
    async def get(self, digest: bytes) -> Token | None: ...
    async def mark_used(self, digest: bytes, when: datetime) -> bool:
        """Atomically mark an unused token used; False when it already was."""
        ...


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...
    async def get(self, digest: bytes) -> Session | None: ...
    async def revoke(self, digest: bytes, when: datetime) -> None: ...
    async def touch(self, digest: bytes, when: datetime) -> None: ...
    async def for_member(self, member_id: MemberId, now: datetime) -> list[Session]:
        """Live (not revoked, not expired) sessions, newest first."""
        ...

    async def revoke_public(self, member_id: MemberId, public_id: str, when: datetime) -> bool: ...
    async def revoke_all(self, member_id: MemberId, when: datetime, *, keep: bytes | None = None) -> int: ...


class CredentialRepository(Protocol):
    async def add(self, credentials: Credentials) -> None: ...
    async def get(self, member_id: MemberId) -> Credentials | None: ...
    async def set_totp_step(self, member_id: MemberId, step: int) -> bool:
        """Record an accepted TOTP step; False when it is not newer than the last one (replay)."""
        ...

    async def replace(self, credentials: Credentials) -> None:
        """New salt, parameters, login key and wraps (a password change or recovery)."""
        ...

    async def delete(self, member_id: MemberId) -> None:
        """Forget the credentials (new keys after a fresh authorization)."""
        ...


class ApplicationRepository(Protocol):
    async def add(self, application: Application) -> None: ...
    async def get(self, member_id: MemberId) -> Application | None: ...
    async def save(self, application: Application) -> None: ...
    async def pending(self, status: MemberStatus, country: Country | None) -> list[tuple[Member, Application]]:
        """Applications in ``status`` from ``country`` (None: every country), oldest first."""
        ...

    async def expiring(
        self, before: datetime, *, country: Country | None = None, limit: int | None = None
    ) -> list[tuple[Member, Application]]:
        """Active or suspended members whose term ends before ``before``, soonest first;
        only from ``country`` when given, at most ``limit`` when given."""
        ...


class Outbox(Protocol):
    async def add(self, mail: OutgoingMail) -> None: ...
    async def due(self, now: datetime, limit: int) -> list[QueuedMail]: ...
    async def sent(self, mail_id: int, when: datetime) -> None:
        """Mark sent and drop the sealed values."""
        ...

    async def failed(self, mail_id: int, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt; ``retry_at`` None gives up (kept, visible to administrators)."""
        ...

    async def stuck(self, limit: int) -> list[QueuedMail]: ...
    async def health(self, limit: int) -> OutboxHealth:
        """Counts of mail retrying and given up, and the newest such mail (no address, no content)."""
        ...


class ChallengeRepository(Protocol):
    async def add(self, challenge: Challenge) -> None: ...
    async def take(self, challenge_id: bytes, when: datetime) -> Challenge | None:
        """Mark a live challenge used and return it; None when unknown, used or expired."""
        ...

    async def purge(self, before: datetime) -> int: ...


class ThrottleRepository(Protocol):
    async def get(self, key: str) -> ThrottleState | None: ...
    async def put(self, state: ThrottleState) -> None: ...
    async def clear(self, key: str) -> None: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """Append, extending the hash chain (isecom.crypto.chain) in the caller's transaction."""
        ...

    async def recent(
        self,
        limit: int,
        *,
        subject: str | None = None,
        actions: Collection[str] | None = None,
        action_prefix: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """Newest first, filtered."""
        ...

    def chain(self) -> AsyncIterator[ChainedEntry]: ...
    async def head(self) -> tuple[int, bytes] | None: ...


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """Where a member's current key-log entries are (leaf indices), if any."""

    member_id: MemberId
    keys_idx: int | None = None
    approval_idx: int | None = None
    cert_idx: int | None = None
    revoke_idx: int | None = None


@dataclass(frozen=True, slots=True)
class PendingItem:
    """A key-log entry waiting for the offline root: ``body`` unsigned (``needs_root``) or complete."""

    kind: int
    uid: str
    body: bytes
    needs_root: bool
    id: int = 0
    group: str = ""
    signed: bytes | None = None


class KeyLogRepository(Protocol):
    """The append-only key log: leaves, complete-subtree hashes, checkpoints, current pointers."""

    async def lock_size(self) -> int:
        """The tree size, locked until the transaction ends (one appender at a time)."""
        ...

    async def size(self) -> int: ...
    async def nodes(self, wanted: Collection[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...
    async def append(
        self, index: int, kind: int, uid: str, data: bytes, nodes: dict[tuple[int, int], bytes]
    ) -> None: ...
    async def leaves(self, start: int, end: int) -> list[bytes]: ...
    async def leaves_of(self, uid: str) -> list[tuple[int, bytes]]: ...
    async def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """The size and bytes of the newest checkpoint."""
        ...

    async def checkpoint(self, size: int) -> bytes | None: ...
    async def checkpoints(self) -> list[tuple[int, bytes]]: ...
    async def add_checkpoint(self, size: int, data: bytes) -> None: ...
    async def entry(self, member_id: MemberId) -> DirectoryEntry | None: ...
    async def set_entry(self, entry: DirectoryEntry) -> None: ...
    async def entries(self, member_ids: Collection[MemberId]) -> list[DirectoryEntry]: ...
    async def add_pending(self, group: str, items: list[PendingItem]) -> None: ...
    async def pending(self) -> list[PendingItem]: ...
    async def set_signed(self, item_id: int, obj: bytes) -> None: ...
    async def drop_group(self, group: str) -> None: ...


@dataclass(frozen=True, slots=True)
class KeyHistoryRows:
    """What a key look-up reads, in one consistent snapshot (``Store.key_history``)."""

    member: Member
    leaves: list[tuple[int, bytes]]  # every leaf about the member and the related ones, in log order
    checkpoint: bytes  # the latest checkpoint's bytes (empty before the first one)
    checkpoint_size: int  # 0 before the first checkpoint
    log_key_leaf: bytes  # leaf 0
    nodes: dict[tuple[int, int], bytes]  # the subtrees ``needed(indices, size)`` asked for


NodesNeeded = Callable[[list[int], int], Collection[tuple[int, int]]]
RelatedLeaves = Callable[[list[tuple[int, bytes]]], Collection[int]]


FOLDERS = ("inbox", "sent", "archive", "trash")


@dataclass(frozen=True, slots=True)
class MailboxEntry:
    """One message in one member's mailbox: what the server knows (never the content)."""

    id: int  # the row id, the paging cursor
    member_id: MemberId
    msg_id: str
    folder: str
    unread: bool
    starred: bool
    thread: str | None
    received_at: datetime
    size: int
    sender_id: MemberId
    origin: str


@dataclass(frozen=True, slots=True)
class Draft:
    slot: str
    envelope: bytes
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RecipientKeys:
    """What a send checks of an addressee: status, a revocation, the current key leaf (or None)."""

    status: MemberStatus
    revoked: bool
    keys_leaf: bytes | None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store with its mailbox rows: (member, folder, unread)."""

    msg_id: str
    sender_id: MemberId
    origin: str
    envelope: bytes
    entries: list[tuple[MemberId, str, bool]]


class MailboxRepository(Protocol):
    async def add_message(
        self, msg_id: str, sender_id: MemberId, origin: str, envelope: bytes, created_at: datetime
    ) -> bool:
        """False when ``msg_id`` exists already (nothing written)."""
        ...

    async def envelope(self, msg_id: str) -> bytes | None: ...
    async def add_entries(self, msg_id: str, entries: list[tuple[MemberId, str, bool]], received_at: datetime) -> None:
        """(member, folder, unread) rows for a stored message."""
        ...

    async def existing(self, msg_ids: Collection[str]) -> set[str]:
        """Which of these message ids are stored already (one query for a whole batch)."""
        ...

    async def recipient_keys(self, member_ids: Collection[MemberId]) -> dict[MemberId, RecipientKeys]:
        """Status, revocation and current key-statement leaf of each member, in one query."""
        ...

    async def add_many(self, messages: Sequence[NewMessage], received_at: datetime) -> None:
        """Store new messages (ids known to be free) and their mailbox rows, in bulk statements."""
        ...

    async def entry(self, member_id: MemberId, msg_id: str) -> MailboxEntry | None: ...
    async def page(self, member_id: MemberId, folder: str, before: int | None, limit: int) -> list[MailboxEntry]: ...
    async def update(self, member_id: MemberId, msg_id: str, values: dict[str, object]) -> bool: ...
    async def remove(self, member_id: MemberId, msg_ids: list[str]) -> int: ...
    async def in_folder(self, member_id: MemberId, folder: str) -> list[str]: ...
    async def drop_orphans(self, msg_ids: list[str]) -> int:
        """Delete the messages no mailbox holds any more; how many went."""
        ...

    async def unread_counts(self, member_id: MemberId) -> dict[str, int]: ...
    async def put_draft(self, member_id: MemberId, slot: str, envelope: bytes, when: datetime) -> None: ...
    async def drafts(self, member_id: MemberId) -> list[Draft]: ...
    async def delete_draft(self, member_id: MemberId, slot: str) -> bool: ...


class Transaction(Protocol):
    """One database transaction; committed when the ``async with`` block ends."""

    @property
    def members(self) -> MemberRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def credentials(self) -> CredentialRepository: ...
    @property
    def challenges(self) -> ChallengeRepository: ...
    @property
    def throttle(self) -> ThrottleRepository: ...
    @property
    def applications(self) -> ApplicationRepository: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def keylog(self) -> KeyLogRepository: ...
    @property
    def files(self) -> FileRepository: ...
    @property
    def mail(self) -> MailboxRepository: ...
    @property
    def profiles(self) -> ProfileStores: ...
    @property
    def file_links(self) -> FileLinkRepository: ...
    @property
    def checklists(self) -> ChecklistRepository: ...
    @property
    def notify(self) -> NotifyRepository: ...
    @property
    def library(self) -> LibraryRepository: ...
    @property
    def notices(self) -> NoticeRepository: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
    def read(self) -> AbstractAsyncContextManager[Transaction]:
        """A read-only transaction (writes fail); it never holds the writer's lock."""
        ...

    async def grouped(
        self, handler: Callable[[Transaction, Sequence[_I]], Awaitable[Sequence[_R | Exception]]], item: _I
    ) -> _R:
        """Group commit: ``handler`` writes the items of concurrent callers in one transaction (one
        outcome per item, an item it refuses left unwritten); return this item's result once that
        transaction is committed, or raise its exception."""
        ...

    async def key_history(
        self,
        *,
        member_id: MemberId | None = None,
        email: Email | None = None,
        needed: NodesNeeded,
        related: RelatedLeaves,
    ) -> KeyHistoryRows | None:
        """A member's key-log rows for a look-up (None: no such member).

        ``related(own leaves)`` names other leaves to include (approvers' certificates);
        ``needed(indices, size)`` the subtrees their proofs need.

        The hot path of the keyserver: one snapshot, as few round trips as the backend allows.
        """
        ...

    async def session_member(self, digest: bytes) -> tuple[Session, Member] | None:
        """The session with this digest and its member, in one snapshot (None: no such session).
        The hot path of every signed-in request: as few round trips as the backend allows."""
        ...

    async def recipient_keys(self, member_ids: Sequence[MemberId]) -> dict[MemberId, RecipientKeys]:
        """``MailboxRepository.recipient_keys`` in a snapshot of its own, by the fastest path the
        backend has: a send's key checks."""
        ...

    async def ping(self) -> None:
        """Raise ``Unavailable`` when the database cannot be reached."""
        ...


class BlobStore(Protocol):
    """Opaque ciphertext blobs addressed by ids the store itself validates."""

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        """Write atomically (temp file, fsync, rename); return the size written."""
        ...

    def get(self, blob_id: str) -> AsyncIterator[bytes]: ...
    async def size(self, blob_id: str) -> int: ...
    async def exists(self, blob_id: str) -> bool: ...
    async def delete(self, blob_id: str) -> bool: ...
    def listing(self, *, older_than: float) -> AsyncIterator[str]:
        """Ids of blobs written more than ``older_than`` seconds ago (for the orphan sweep)."""
        ...

    async def check_writable(self) -> None: ...

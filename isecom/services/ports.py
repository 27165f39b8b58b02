"""The ports the services need; ``storage/`` implements them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role


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
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: MemberId | None
    action: str
    subject: str | None
    detail: dict[str, str]


class MemberRepository(Protocol):
    async def add(self, member: Member) -> None: ...
    async def get(self, member_id: MemberId) -> Member | None: ...
    async def by_email(self, email: Email) -> Member | None: ...
    async def count(self) -> int: ...
    async def count_with_role(self, role: Role) -> int: ...
    async def set_status(self, member_id: MemberId, status: MemberStatus) -> None: ...


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


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...
    async def recent(self, limit: int) -> list[AuditEntry]: ...


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


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...
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
    async def check_writable(self) -> None: ...

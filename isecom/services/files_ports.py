"""Ports for evidence files: the files and their chunks, who may read them, reclaiming them and
resuming uploads (docs/PROTOCOL.md §8)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from isecom.types import MemberId


@dataclass(frozen=True, slots=True)
class Unfinished:
    """An upload its owner may resume: the sealed resume record and the declared manifest (empty
    when the chunks bring their hashes, §8.2)."""

    file_id: str
    sealed: bytes
    manifest: bytes
    n_chunks: int


class FileLinkRepository(Protocol):
    async def link(self, msg_id: str, file_ids: Collection[str]) -> None:
        """Record that message ``msg_id`` references these files (inside the send transaction)."""
        ...

    async def release(self, msg_ids: Collection[str]) -> list[tuple[str, list[int]]]:
        """Call after removing mailbox rows and before dropping orphan messages: the files only
        dropped messages referenced are deleted (rows); returns (file id, stored chunk indices)."""
        ...

    async def abandoned(self, before: datetime, limit: int) -> list[str]:
        """Uploads declared before ``before`` and never committed."""
        ...

    async def delete_uploads(self, file_ids: Collection[str], before: datetime) -> list[tuple[str, list[int]]]: ...
    async def known(self, file_ids: Collection[str]) -> set[str]:
        """Which of these file ids have a row (any owner, any status)."""
        ...

    async def put_resume(self, file_id: str, sealed: bytes) -> None: ...
    async def unfinished(self, owner_id: MemberId) -> list[Unfinished]:
        """The owner's uploads that are not committed and have a resume record, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A declared evidence file (docs/PROTOCOL.md §8): sizes and status, not the manifest."""

    id: str  # 32 lower-case hex digits
    owner_id: MemberId
    n_chunks: int
    chunk_size: int
    plain_size: int
    status: str  # "uploading" or "committed"
    created_at: datetime
    committed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """A chunk in the blob store: its length, and its hash h_i and nonce (None for chunks stored
    before revision 0014, whose files were all declared with their hashes)."""

    size: int
    digest: bytes | None
    nonce: bytes | None


class FileRepository(Protocol):
    """Files, their stored chunks and who may download them. Access is decided by the caller's
    scoped look-ups: ``owned`` (the owner, any status) and ``readable`` (the owner, or a member
    granted access to a committed file)."""

    async def add(self, record: FileRecord, manifest: bytes) -> None:
        """Insert; ``Conflict`` when the id is taken."""
        ...

    async def get(self, file_id: str) -> FileRecord | None:
        """Unscoped: only for telling a re-declaration from a taken id."""
        ...

    async def owned(self, owner_id: MemberId, file_id: str) -> FileRecord | None: ...
    async def readable(self, member_id: MemberId, file_id: str) -> FileRecord | None: ...
    async def manifest(self, file_id: str) -> bytes: ...
    async def chunk_hash(self, file_id: str, index: int) -> bytes:
        """h_index, read without loading the whole manifest."""
        ...

    async def chunks(self, file_id: str) -> dict[int, int]:
        """Stored chunks: index -> blob size."""
        ...

    async def add_chunk(
        self, file_id: str, index: int, size: int, digest: bytes | None = None, nonce: bytes | None = None
    ) -> bool:
        """Record a stored chunk with its hash h_i and nonce; False when it was already recorded."""
        ...

    async def stored_chunk(self, file_id: str, index: int) -> StoredChunk | None:
        """One stored chunk, or None while it is missing."""
        ...

    async def stored_chunks(self, file_id: str) -> dict[int, StoredChunk]:
        """Stored chunks with their hash and nonce: index -> StoredChunk."""
        ...

    async def set_manifest(self, file_id: str, manifest: bytes) -> None:
        """Record h_0 ‖ h_1 ‖ … of a file whose chunks brought their hashes (at its commit)."""
        ...

    async def commit(self, file_id: str, when: datetime) -> None: ...
    async def delete(self, file_id: str) -> None: ...
    async def usage(self, owner_id: MemberId) -> int:
        """Blob bytes the owner's files take or will take once complete (declared sizes)."""
        ...

    async def grant(self, file_id: str, member_ids: Collection[MemberId]) -> None:
        """Let members download a file; existing grants are kept."""
        ...

"""Ports for reclaiming evidence files and resuming uploads (docs/PROTOCOL.md §8.5–§8.6)."""

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

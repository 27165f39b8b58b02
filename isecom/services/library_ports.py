"""The ports of the knowledge library and the notices; ``storage/library.py`` and
``storage/notices.py`` implement them (SQLite FTS5 and PostgreSQL full-text search behind one
``LibraryRepository``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from isecom.types import MemberId

# Marks around a matched word in a snippet: private-use characters that never occur in stored
# text (the service removes them), so the adapters can escape the text and then highlight safely.
MARK_START = "\ue000"
MARK_END = "\ue001"


@dataclass(frozen=True, slots=True)
class LibraryDocument:
    id: str  # 32 lower-case hex digits
    title: str
    summary: str
    kind: str
    region: str
    language: str
    tags: tuple[str, ...]
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: MemberId | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LibraryQuery:
    """A parsed search: ``terms`` are words (letters and digits only); every one must match,
    each as a word prefix, in the title, the summary or the extracted text."""

    terms: tuple[str, ...] = ()
    kind: str | None = None
    tag: str | None = None
    region: str | None = None
    language: str | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class LibraryHit:
    document: LibraryDocument
    snippet: str  # a piece of the matching text, matches between MARK_START and MARK_END


@dataclass(frozen=True, slots=True)
class LibraryPage:
    hits: tuple[LibraryHit, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Facets:
    """The values in use, for the filter menus."""

    regions: tuple[str, ...]
    languages: tuple[str, ...]
    tags: tuple[str, ...]


class LibraryRepository(Protocol):
    async def add(self, document: LibraryDocument, body: str) -> None:
        """Insert the document, its tags and its search entry; ``Conflict`` when the id is taken."""
        ...

    async def get(self, doc_id: str) -> LibraryDocument | None: ...
    async def delete(self, doc_id: str) -> bool: ...
    async def search(self, query: LibraryQuery) -> LibraryPage:
        """Best match first when there are terms, newest first otherwise."""
        ...

    async def facets(self) -> Facets: ...
    async def is_editor(self, member_id: MemberId) -> bool: ...
    async def editors(self) -> list[tuple[MemberId, datetime]]: ...
    async def add_editor(self, member_id: MemberId, granted_by: MemberId, when: datetime) -> bool:
        """False when the member already is an editor."""
        ...

    async def remove_editor(self, member_id: MemberId) -> bool: ...


@dataclass(frozen=True, slots=True)
class Notice:
    ref: str
    type: str  # corruption, asset_freeze
    subject: str
    subject_kind: str  # person, entity
    countries: tuple[str, ...]
    valid_from: str  # YYYY-MM-DD
    valid_until: str | None
    cancelled: bool
    summary: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeQuery:
    text: str = ""
    type: str | None = None
    country: str | None = None
    status: str | None = None  # valid, upcoming, expired, cancelled
    today: str = ""  # YYYY-MM-DD, for the status filter
    limit: int = 50
    offset: int = 0


class NoticeRepository(Protocol):
    async def add_many(self, notices: list[Notice], created_by: MemberId) -> None:
        """Insert all; ``Conflict`` (nothing written by the caller's transaction) on a taken ref."""
        ...

    async def get(self, ref: str) -> Notice | None: ...
    async def existing(self, refs: list[str]) -> set[str]: ...
    async def by_refs(self, refs: list[str]) -> list[Notice]: ...
    async def set_cancelled(self, ref: str, cancelled: bool, when: datetime) -> bool: ...
    async def search(self, query: NoticeQuery) -> tuple[list[Notice], int]: ...

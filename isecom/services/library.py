"""The knowledge library: guidelines, case studies, working-group outputs and best practices.

Members search, read the details and download; administrators and the members they designate
as library editors add and remove documents. Documents are member-visible knowledge, not
end-to-end encrypted (docs/threat-model.md): the file is a blob in the blob store and its
extracted text is indexed for full-text search (``LibraryRepository``: SQLite FTS5 or PostgreSQL).

An upload is checked before anything is stored: who sends it (before the body is read), its size
(``Limits.max_bytes``, counted while it streams in), its real type (magic bytes) and its text
(extracted in a thread). Then the blob is written and the row committed; a failed commit
removes the blob again. Blob ids are ``lib-<doc id>``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from isecom.services import doctext
from isecom.services.library_ports import Facets, LibraryDocument, LibraryPage, LibraryQuery
from isecom.services.ports import AuditEntry, BlobStore, Clock, Member, Store
from isecom.types import Email, MemberId, Role

KINDS = ("guideline", "case_study", "working_group", "best_practice")
LANGUAGES = ("ar", "en", "es", "fr", "pt", "ru", "zh", "de", "it", "other")
MAX_TITLE = 300
MAX_SUMMARY = 4000
MAX_TAGS = 12
MAX_TERMS = 12
PAGE_SIZE = 20
_DOC_ID = re.compile(r"^[0-9a-f]{32}$")
_TERM = re.compile(r"[^\W_]+")
_TAG = re.compile(r"^[^\W_][\w -]{0,63}$")
_FILENAME_BAD = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the uploader says about a document, parsed and checked."""

    title: str
    summary: str
    kind: str
    region: str
    language: str
    tags: tuple[str, ...]
    filename: str

    @classmethod
    def parse(
        cls,
        *,
        title: object,
        summary: object,
        kind: object,
        region: object,
        language: object,
        tags: object,
        filename: object,
    ) -> Metadata:
        return cls(
            title=_line(title, "title", MAX_TITLE, required=True),
            summary=_text(summary, "summary", MAX_SUMMARY),
            kind=parse_kind(kind),
            region=_line(region, "region", 64),
            language=parse_language(language),
            tags=parse_tags(tags),
            filename=_filename(filename),
        )


def parse_kind(raw: object) -> str:
    if raw not in KINDS:
        raise InvalidInput(f"The kind is one of: {', '.join(KINDS)}.", field="kind")
    return str(raw)


def parse_language(raw: object) -> str:
    value = raw.strip().lower() if isinstance(raw, str) else ""
    if value not in LANGUAGES:
        raise InvalidInput(f"The language is one of: {', '.join(LANGUAGES)}.", field="language")
    return value


def parse_tags(raw: object) -> tuple[str, ...]:
    """Tags from a comma-separated string or a list: trimmed, lower-case, unique, bounded."""
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if items is None:
        raise InvalidInput("Tags are a comma-separated list.", field="tags")
    found: list[str] = []
    for item in items:
        tag = " ".join(str(item).split()).lower()
        if not tag:
            continue
        if not _TAG.match(tag):
            raise InvalidInput("A tag is 1–64 letters, digits, spaces or dashes.", field="tags")
        if tag not in found:
            found.append(tag)
    if len(found) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags.", field="tags")
    return tuple(found)


def parse_doc_id(raw: object) -> str:
    """A document id; anything else is "not found", like an id that does not exist."""
    if not isinstance(raw, str) or not _DOC_ID.match(raw):
        raise NotFound()
    return raw


def parse_query(
    text: str = "",
    *,
    kind: str = "",
    tag: str = "",
    region: str = "",
    language: str = "",
    page: int = 1,
) -> LibraryQuery:
    """A search from what a member typed: the words (letters and digits) of ``text``, each a prefix."""
    terms = tuple(dict.fromkeys(term.lower() for term in _TERM.findall(text[:500])))[:MAX_TERMS]
    return LibraryQuery(
        terms=terms,
        kind=parse_kind(kind) if kind else None,
        tag=parse_tags(tag)[0] if tag.strip() else None,
        region=region.strip()[:64] or None,
        language=parse_language(language) if language else None,
        limit=PAGE_SIZE,
        offset=(max(1, min(page, 1000)) - 1) * PAGE_SIZE,
    )


def blob_id(doc_id: str) -> str:
    return f"lib-{doc_id}"


async def may_edit(store: Store, member: Member) -> bool:
    """Administrators and designated library editors add and remove documents."""
    if Role.ADMIN in member.roles:
        return True
    async with store.read() as tx:
        return await tx.library.is_editor(member.id)


async def require_editor(store: Store, member: Member) -> None:
    if not await may_edit(store, member):
        raise Forbidden("Only administrators and library editors can add or remove documents.")


async def add_document(
    store: Store,
    blobs: BlobStore,
    clock: Clock,
    member: Member,
    meta: Metadata,
    content: bytes,
) -> LibraryDocument:
    """Check, extract, store and index one document; the caller read ``content`` with ``read_bounded``."""
    await require_editor(store, member)
    if not content:
        raise InvalidInput("The file is empty.", field="file")
    media_type = doctext.sniff(content)
    body = await doctext.extract(content, media_type)
    document = LibraryDocument(
        id=secrets.token_hex(16),
        title=meta.title,
        summary=meta.summary,
        kind=meta.kind,
        region=meta.region,
        language=meta.language,
        tags=meta.tags,
        filename=meta.filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=member.id,
        created_at=clock.now(),
    )
    await blobs.put(blob_id(document.id), _once(content), max_bytes=len(content))
    try:
        async with store.transaction() as tx:
            await tx.library.add(document, body)
            await tx.audit.record(
                AuditEntry(document.created_at, member.id, "library.add", document.id, {"kind": document.kind})
            )
    except BaseException:
        await blobs.delete(blob_id(document.id))
        raise
    return document


async def read_bounded(chunks: AsyncIterator[bytes], limits: Limits) -> bytes:
    """The whole upload, refused as soon as it passes ``limits.max_bytes``."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > limits.max_bytes:
            raise TooLarge(f"A library document may be at most {limits.max_bytes} bytes.")
    return bytes(data)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def search(store: Store, query: LibraryQuery) -> LibraryPage:
    async with store.read() as tx:
        return await tx.library.search(query)


async def facets(store: Store) -> Facets:
    async with store.read() as tx:
        return await tx.library.facets()


async def get(store: Store, doc_id: str) -> LibraryDocument:
    doc_id = parse_doc_id(doc_id)
    async with store.read() as tx:
        found = await tx.library.get(doc_id)
    if found is None:
        raise NotFound()
    return found


async def download(store: Store, blobs: BlobStore, doc_id: str) -> tuple[LibraryDocument, AsyncIterator[bytes]]:
    """The document and its bytes; a missing blob raises ``NotFound`` on the first read."""
    document = await get(store, doc_id)
    return document, blobs.get(blob_id(document.id))


async def delete_document(store: Store, blobs: BlobStore, clock: Clock, member: Member, doc_id: str) -> None:
    await require_editor(store, member)
    doc_id = parse_doc_id(doc_id)
    async with store.transaction() as tx:
        if not await tx.library.delete(doc_id):
            raise NotFound()
        await tx.audit.record(AuditEntry(clock.now(), member.id, "library.delete", doc_id, {}))
    await blobs.delete(blob_id(doc_id))


def _require_admin(actor: Member) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can do this.")


async def editors(store: Store, actor: Member) -> list[Member]:
    _require_admin(actor)
    async with store.read() as tx:
        found = [await tx.members.get(member_id) for member_id, _ in await tx.library.editors()]
    return [m for m in found if m is not None]


async def add_editor(store: Store, clock: Clock, actor: Member, email: object) -> Member:
    """Designate a member (by address) as a library editor; ``Conflict`` when already one."""
    _require_admin(actor)
    address = Email.parse(email if isinstance(email, str) else "", field="email")
    now = clock.now()
    async with store.transaction() as tx:
        member = await tx.members.by_email(address)
        if member is None:
            raise NotFound("No member has this address.")
        if not await tx.library.add_editor(member.id, actor.id, now):
            raise Conflict("This member already is a library editor.")
        await tx.audit.record(AuditEntry(now, actor.id, "library.editor_add", member.id.value, {}))
    return member


async def remove_editor(store: Store, clock: Clock, actor: Member, member_id: str) -> None:
    _require_admin(actor)
    target = MemberId.parse(member_id)
    async with store.transaction() as tx:
        if not await tx.library.remove_editor(target):
            raise NotFound()
        await tx.audit.record(AuditEntry(clock.now(), actor.id, "library.editor_remove", target.value, {}))


def _line(raw: object, field: str, limit: int, *, required: bool = False) -> str:
    value = " ".join(raw.split()) if isinstance(raw, str) else ""
    if required and not value:
        raise InvalidInput(f"The {field} is required.", field=field)
    if len(value) > limit:
        raise InvalidInput(f"The {field} is at most {limit} characters.", field=field)
    if any(not c.isprintable() or c in "\ue000\ue001" for c in value):
        raise InvalidInput(f"The {field} cannot contain control characters.", field=field)
    return value


def _text(raw: object, field: str, limit: int) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    if len(value) > limit:
        raise InvalidInput(f"The {field} is at most {limit} characters.", field=field)
    return doctext.clean(value, limit)


def _filename(raw: object) -> str:
    value = raw.strip() if isinstance(raw, str) else ""
    value = _FILENAME_BAD.sub("_", value.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[:200]
    return value or "document"

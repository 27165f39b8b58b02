"""The ``LibraryRepository`` port, two ways: SQLite FTS5 and PostgreSQL full-text search.

Both index the title, the summary and the extracted text with language-neutral tokenisation
(lower-case, no stemming: the documents are in several languages) and match every term of a
query as a word prefix. SQLite keeps a separate FTS5 table ``library_fts`` in step with
``library_documents`` (written here, in the same transaction); PostgreSQL computes a weighted
``tsvector`` column (``tsv``, generated, GIN-indexed) itself. Both are created by migration 0010.
Ranking: ``bm25`` on SQLite, ``ts_rank_cd`` on PostgreSQL, title matches weigh most.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.errors import Conflict
from isecom.services.library_ports import (
    MARK_END,
    MARK_START,
    Facets,
    LibraryDocument,
    LibraryHit,
    LibraryPage,
    LibraryQuery,
)
from isecom.types import MemberId
from storage import tables as t

_D = t.library_documents
_FTS = table("library_fts", column("doc_id"), column("title"), column("summary"), column("body"))
_DOC_COLUMNS = [c for c in _D.c if c.name != "body"]
SNIPPET_CHARS = 300
# ts_headline parses the whole text it is given: bound it so one long document stays cheap.
HEADLINE_INPUT = 100_000
FACET_LIMIT = 200
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")


def library_for(conn: AsyncConnection) -> SqliteLibrary | PostgresLibrary:
    """The implementation for the connection's backend."""
    return PostgresLibrary(conn) if conn.dialect.name == "postgresql" else SqliteLibrary(conn)


class _Library:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, document: LibraryDocument, body: str) -> None:
        try:
            await self._conn.execute(
                insert(_D).values(
                    id=document.id,
                    title=document.title,
                    summary=document.summary,
                    kind=document.kind,
                    region=document.region,
                    language=document.language,
                    tags=",".join(document.tags),
                    filename=document.filename,
                    media_type=document.media_type,
                    size=document.size,
                    sha256=document.sha256,
                    body=body,
                    uploaded_by=document.uploaded_by.value if document.uploaded_by else None,
                    created_at=document.created_at,
                )
            )
        except IntegrityError:
            raise Conflict("This document id is already in use.") from None
        if document.tags:
            await self._conn.execute(insert(t.library_tags), [{"doc_id": document.id, "tag": g} for g in document.tags])
        await self._index(document, body)

    async def _index(self, document: LibraryDocument, body: str) -> None:
        """Add the search entry when the backend does not compute it."""

    async def get(self, doc_id: str) -> LibraryDocument | None:
        row = (await self._conn.execute(select(*_DOC_COLUMNS).where(_D.c.id == doc_id))).first()
        return _document(row) if row is not None else None

    async def delete(self, doc_id: str) -> bool:
        await self._unindex(doc_id)
        found = await self._conn.execute(delete(_D).where(_D.c.id == doc_id))
        return bool(found.rowcount)

    async def _unindex(self, doc_id: str) -> None:
        """Remove the search entry when the backend does not do it."""

    async def search(self, query: LibraryQuery) -> LibraryPage:
        if not query.terms:
            return await self._recent(query)
        return await self._matches(query)

    async def _matches(self, query: LibraryQuery) -> LibraryPage:
        raise NotImplementedError

    async def _recent(self, query: LibraryQuery) -> LibraryPage:
        filters = _filters(query)
        total = (await self._conn.execute(select(func.count()).select_from(_D).where(*filters))).scalar_one()
        rows = await self._conn.execute(
            select(*_DOC_COLUMNS)
            .where(*filters)
            .order_by(_D.c.created_at.desc(), _D.c.id)
            .limit(query.limit)
            .offset(query.offset)
        )
        hits = tuple(LibraryHit(doc, doc.summary[:SNIPPET_CHARS]) for doc in map(_document, rows))
        return LibraryPage(hits, int(total))

    async def facets(self) -> Facets:
        async def values(col: Any) -> tuple[str, ...]:
            found = await self._conn.execute(select(col).distinct().where(col != "").order_by(col).limit(FACET_LIMIT))
            return tuple(str(v) for v in found.scalars())

        return Facets(
            regions=await values(_D.c.region),
            languages=await values(_D.c.language),
            tags=await values(t.library_tags.c.tag),
        )

    async def is_editor(self, member_id: MemberId) -> bool:
        found = await self._conn.execute(
            select(t.library_editors.c.member_id).where(t.library_editors.c.member_id == member_id.value)
        )
        return found.first() is not None

    async def editors(self) -> list[tuple[MemberId, datetime]]:
        rows = await self._conn.execute(
            select(t.library_editors.c.member_id, t.library_editors.c.granted_at).order_by(
                t.library_editors.c.granted_at
            )
        )
        return [(MemberId(r.member_id), r.granted_at) for r in rows]

    async def add_editor(self, member_id: MemberId, granted_by: MemberId, when: datetime) -> bool:
        if await self.is_editor(member_id):
            return False
        await self._conn.execute(
            insert(t.library_editors).values(member_id=member_id.value, granted_by=granted_by.value, granted_at=when)
        )
        return True

    async def remove_editor(self, member_id: MemberId) -> bool:
        found = await self._conn.execute(
            delete(t.library_editors).where(t.library_editors.c.member_id == member_id.value)
        )
        return bool(found.rowcount)

    async def _page(self, count: Select[Any], rows_query: Select[Any]) -> LibraryPage:
        total = (await self._conn.execute(count)).scalar_one()
        rows = await self._conn.execute(rows_query)
        hits = []
        for row in rows:
            snippet = str(row.snippet or "")
            if MARK_START not in snippet:
                snippet = row.summary[:SNIPPET_CHARS]
            hits.append(LibraryHit(_document(row), snippet))
        return LibraryPage(tuple(hits), int(total))


class SqliteLibrary(_Library):
    """FTS5: ``library_fts MATCH '"term"* "term"*'`` (every term, as a prefix), ranked by bm25."""

    async def _index(self, document: LibraryDocument, body: str) -> None:
        await self._conn.execute(
            insert(_FTS).values(doc_id=document.id, title=document.title, summary=document.summary, body=body)
        )

    async def _unindex(self, doc_id: str) -> None:
        await self._conn.execute(delete(_FTS).where(_FTS.c.doc_id == doc_id))

    async def _matches(self, query: LibraryQuery) -> LibraryPage:
        match = " ".join(f'"{term}"*' for term in query.terms)  # terms are letters and digits only
        joined = _FTS.join(_D, _D.c.id == _FTS.c.doc_id)
        fts: ColumnElement[Any] = literal_column("library_fts")
        where = [fts.bool_op("MATCH")(literal(match)), *_filters(query)]
        snippet = func.snippet(fts, -1, MARK_START, MARK_END, "…", 24).label("snippet")
        rank = func.bm25(fts, 0.0, 10.0, 4.0, 1.0)  # doc_id, title, summary, body: lower is better
        rows = (
            select(*_DOC_COLUMNS, snippet)
            .select_from(joined)
            .where(*where)
            .order_by(rank, _D.c.created_at.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        count = select(func.count()).select_from(joined).where(*where)
        return await self._page(count, rows)


class PostgresLibrary(_Library):
    """``tsv @@ to_tsquery('simple', 'term:* & term:*')``, ranked by ``ts_rank_cd``, with ``ts_headline``."""

    async def _matches(self, query: LibraryQuery) -> LibraryPage:
        terms = " & ".join(f"{term}:*" for term in query.terms)  # terms are letters and digits only
        tsquery = func.to_tsquery(_SIMPLE, literal(terms, Text))
        tsv: ColumnElement[Any] = literal_column("library_documents.tsv")
        where = [tsv.bool_op("@@")(tsquery), *_filters(query)]
        options = f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords=30, MinWords=12, MaxFragments=1'
        source = _D.c.summary + literal(" — ") + func.left(_D.c.body, HEADLINE_INPUT)
        snippet = func.ts_headline(_SIMPLE, source, tsquery, literal(options, Text)).label("snippet")
        rows = (
            select(*_DOC_COLUMNS, snippet)
            .where(*where)
            .order_by(func.ts_rank_cd(tsv, tsquery).desc(), _D.c.created_at.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        count = select(func.count()).select_from(_D).where(*where)
        return await self._page(count, rows)


def _filters(query: LibraryQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.kind:
        found.append(_D.c.kind == query.kind)
    if query.region:
        found.append(_D.c.region == query.region)
    if query.language:
        found.append(_D.c.language == query.language)
    if query.tag:
        found.append(exists().where(and_(t.library_tags.c.doc_id == _D.c.id, t.library_tags.c.tag == query.tag)))
    return found


def _document(row: Row[Any]) -> LibraryDocument:
    m = row._mapping
    return LibraryDocument(
        id=m["id"],
        title=m["title"],
        summary=m["summary"],
        kind=m["kind"],
        region=m["region"],
        language=m["language"],
        tags=tuple(tag for tag in m["tags"].split(",") if tag),
        filename=m["filename"],
        media_type=m["media_type"],
        size=int(m["size"]),
        sha256=m["sha256"],
        uploaded_by=MemberId(m["uploaded_by"]) if m["uploaded_by"] else None,
        created_at=m["created_at"],
    )

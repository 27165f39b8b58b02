"""Knowledge library API (``/api/v1/library``): search, upload, details, delete, editors.

An upload is ``multipart/form-data``: the text fields first (title, summary, kind, region,
language, tags), the ``file`` part last. Who may upload is checked before the body is read; the
file is read piece by piece and refused as soon as it passes ``library.max_document_bytes``
(``client_max_size`` does not bound a streamed multipart body, so the service does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import BodyPartReader, web

from isecom.errors import InvalidInput, TooLarge
from isecom.services import library
from isecom.services.library_ports import MARK_END, MARK_START, LibraryDocument, LibraryHit, LibraryPage, LibraryQuery
from webmail.api import member_json, read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()
READ_PIECE = 256 * 1024
MAX_FIELD = 16 * 1024
TEXT_FIELDS = ("title", "summary", "kind", "region", "language", "tags")


def segments(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as (text, matched) pieces, so every renderer escapes the text itself."""
    pieces: list[tuple[str, bool]] = []
    for i, chunk in enumerate(snippet.split(MARK_START)):
        if i == 0:
            pieces.append((chunk, False))
            continue
        matched, _, rest = chunk.partition(MARK_END)
        pieces += [(matched, True), (rest, False)]
    return [(text, match) for text, match in pieces if text]


def document_json(document: LibraryDocument) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "summary": document.summary,
        "kind": document.kind,
        "region": document.region,
        "language": document.language,
        "tags": list(document.tags),
        "filename": document.filename,
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
        "created_at": document.created_at.isoformat(),
        "download": f"/library/{document.id}/download",
    }


def hit_json(hit: LibraryHit) -> dict[str, Any]:
    return {
        "document": document_json(hit.document),
        "snippet": [{"text": text, "match": match} for text, match in segments(hit.snippet)],
    }


def page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    if not raw.isdigit() or len(raw) > 4:
        raise InvalidInput("page is a whole number.", field="page")
    return int(raw)


def parse_search(request: web.Request) -> LibraryQuery:
    q = request.query
    return library.parse_query(
        q.get("q", ""),
        kind=q.get("kind", ""),
        tag=q.get("tag", ""),
        region=q.get("region", ""),
        language=q.get("language", ""),
        page=page_number(request),
    )


def page_json(page: LibraryPage) -> dict[str, Any]:
    return {"total": page.total, "page_size": library.PAGE_SIZE, "results": [hit_json(h) for h in page.hits]}


@routes.get("/api/v1/library")
async def search(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    return web.json_response(page_json(await library.search(context.store, parse_search(request))))


async def _field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(4096):
        data += chunk
        if len(data) > MAX_FIELD:
            raise TooLarge(f"The field {part.name} is too long.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"The field {part.name} is not UTF-8 text.", field=part.name) from None


async def _pieces(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(READ_PIECE):
        yield chunk


@routes.post("/api/v1/library/documents")
async def upload(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    member = request[MEMBER]
    await library.require_editor(context.store, member)  # before reading the body
    if request.content_type != "multipart/form-data":
        raise InvalidInput("Send the document as multipart/form-data.")
    limit = context.config.library_max_bytes
    if request.content_length is not None and request.content_length > limit + MAX_FIELD * (len(TEXT_FIELDS) + 1):
        raise TooLarge(f"A library document may be at most {limit} bytes.")  # said before reading anything
    reader = await request.multipart()
    fields: dict[str, str] = {}
    content: bytes | None = None
    filename = ""
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("Nested multipart bodies are not accepted.")
        if part.name == "file":
            filename = part.filename or ""
            content = await library.read_bounded(_pieces(part), library.Limits(limit))
            break
        if part.name in TEXT_FIELDS:
            fields[part.name] = await _field(part)
        else:
            raise InvalidInput(f"Unknown field {part.name!r}.", field=part.name)
    if content is None:
        raise InvalidInput("Choose a file to upload.", field="file")
    meta = library.Metadata.parse(
        title=fields.get("title", ""),
        summary=fields.get("summary", ""),
        kind=fields.get("kind", ""),
        region=fields.get("region", ""),
        language=fields.get("language", ""),
        tags=fields.get("tags", ""),
        filename=filename,
    )
    document = await library.add_document(context.store, context.blobs, context.clock, member, meta, content)
    return web.json_response(document_json(document), status=201)


@routes.get("/api/v1/library/documents/{doc_id}")
async def details(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    return web.json_response(document_json(await library.get(context.store, request.match_info["doc_id"])))


@routes.delete("/api/v1/library/documents/{doc_id}")
async def delete(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await library.delete_document(
        context.store, context.blobs, context.clock, request[MEMBER], request.match_info["doc_id"]
    )
    return web.Response(status=204)


@routes.get("/api/v1/library/editors")
async def editors(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found = await library.editors(context.store, request[MEMBER])
    return web.json_response({"editors": [member_json(m) for m in found]})


@routes.post("/api/v1/library/editors")
async def add_editor(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    member = await library.add_editor(context.store, context.clock, request[MEMBER], body.get("email"))
    return web.json_response(member_json(member), status=201)


@routes.delete("/api/v1/library/editors/{member_id}")
async def remove_editor(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await library.remove_editor(context.store, context.clock, request[MEMBER], request.match_info["member_id"])
    return web.Response(status=204)

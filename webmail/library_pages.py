"""HTML pages of the knowledge library and the notices: search and results are rendered by the
server from the query string (they work without JavaScript); the upload, the editors and the
notice entry and import use one ES module each."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from aiohttp import web

from isecom.errors import Forbidden
from isecom.services import library, notices
from isecom.types import Role
from webmail import i18n
from webmail.keys import CONTEXT
from webmail.library_api import parse_search, segments
from webmail.middleware import MEMBER
from webmail.notices_api import parse_search as parse_notice_search
from webmail.render import language, render

routes = web.RouteTableDef()
DOC_ID = "{doc_id:[0-9a-f]{32}}"


def _others(request: web.Request, page: int) -> str:
    """The current query string with another page number."""
    query = {k: v for k, v in request.query.items() if k != "page" and v}
    return "?" + urlencode({**query, "page": str(page)})


@routes.get("/library", name="library")
async def library_search(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    member = request[MEMBER]
    query = parse_search(request)
    found = await library.search(context.store, query)
    page = query.offset // library.PAGE_SIZE + 1
    return render(
        request,
        "library.html",
        q=request.query,
        found=found,
        hits=[(hit.document, segments(hit.snippet)) for hit in found.hits],
        facets=await library.facets(context.store),
        kinds=library.KINDS,
        doc_languages=library.LANGUAGES,
        can_edit=await library.may_edit(context.store, member),
        admin=Role.ADMIN in member.roles,
        page=page,
        previous_url=_others(request, page - 1) if page > 1 else None,
        next_url=_others(request, page + 1) if query.offset + len(found.hits) < found.total else None,
    )


@routes.get("/library/upload", name="library-upload")
async def library_upload(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await library.require_editor(context.store, request[MEMBER])
    return render(
        request,
        "library-upload.html",
        kinds=library.KINDS,
        doc_languages=library.LANGUAGES,
        facets=await library.facets(context.store),
        max_bytes=context.config.library_max_bytes,
    )


@routes.get("/library/editors", name="library-editors")
async def library_editors(request: web.Request) -> web.Response:
    # The page holds no data; the editors API answers 403 to non-administrators, and so does this.
    if Role.ADMIN not in request[MEMBER].roles:
        raise Forbidden("Only platform administrators can do this.")
    return render(request, "library-editors.html")


@routes.get(f"/library/{DOC_ID}", name="library-document")
async def library_document(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    document = await library.get(context.store, request.match_info["doc_id"])
    return render(
        request,
        "library-document.html",
        doc=document,
        can_edit=await library.may_edit(context.store, request[MEMBER]),
    )


@routes.get(f"/library/{DOC_ID}/download", name="library-download")
async def library_download(request: web.Request) -> web.StreamResponse:
    context = request.config_dict[CONTEXT]
    document, pieces = await library.download(context.store, context.blobs, request.match_info["doc_id"])
    first = await anext(pieces, b"")  # a missing blob raises NotFound here, before anything is sent
    ascii_name = document.filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(document.filename)}"
    response = web.StreamResponse(
        headers={
            "Content-Type": document.media_type,
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
        }
    )
    response.content_length = document.size
    await response.prepare(request)
    await response.write(first)
    async for piece in pieces:
        await response.write(piece)
    await response.write_eof()
    return response


@routes.get("/notices", name="notices")
async def notices_search(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    member = request[MEMBER]
    query = parse_notice_search(request)
    found, total = await notices.search(context.store, query)
    day = notices.today(context.clock)
    page = query.offset // notices.PAGE_SIZE + 1
    lang = language(request)
    return render(
        request,
        "notices.html",
        q=request.query,
        rows=[(n, notices.status(n, day)) for n in found],
        total=total,
        countries=i18n.countries(lang),
        country_name=lambda code: i18n.country_name(code, lang),
        statuses=notices.STATUSES,
        admin=Role.ADMIN in member.roles,
        page=page,
        previous_url=_others(request, page - 1) if page > 1 else None,
        next_url=_others(request, page + 1) if query.offset + len(found) < total else None,
    )


@routes.get("/notices/manage", name="notices-manage")
async def notices_manage(request: web.Request) -> web.Response:
    if Role.ADMIN not in request[MEMBER].roles:
        raise Forbidden("Only platform administrators can do this.")
    return render(request, "notices-manage.html", countries=i18n.countries(language(request)))

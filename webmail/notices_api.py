"""Notices API (``/api/v1/notices``): search, look-up by reference, entry, import, cancel.

The compose page calls ``lookup`` with the reference numbers it found in what the member is
writing — only those, never the subject or the body (docs/threat-model.md).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from isecom.errors import InvalidInput
from isecom.services import notices
from isecom.services.library_ports import Notice, NoticeQuery
from webmail import errors
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.library_api import page_number
from webmail.middleware import MEMBER

routes = web.RouteTableDef()
CSV_TYPES = ("text/csv", "text/plain")


def notice_json(notice: Notice, state: str) -> dict[str, Any]:
    return {
        "reference": notice.ref,
        "type": notice.type,
        "subject": notice.subject,
        "subject_kind": notice.subject_kind,
        "countries": list(notice.countries),
        "valid_from": notice.valid_from,
        "valid_until": notice.valid_until,
        "status": state,
        "summary": notice.summary,
        "updated_at": notice.updated_at.isoformat(),
    }


def parse_search(request: web.Request) -> NoticeQuery:
    q = request.query
    context = request.config_dict[CONTEXT]
    return notices.parse_query(
        q.get("q", ""),
        type=q.get("type", ""),
        country=q.get("country", ""),
        state=q.get("status", ""),
        page=page_number(request),
        day=notices.today(context.clock),
    )


@routes.get("/api/v1/notices")
async def search(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found, total = await notices.search(context.store, parse_search(request))
    day = notices.today(context.clock)
    return web.json_response(
        {
            "total": total,
            "page_size": notices.PAGE_SIZE,
            "results": [notice_json(n, notices.status(n, day)) for n in found],
        }
    )


@routes.get("/api/v1/notices/lookup")
async def lookup(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    refs = request.query.getall("ref", [])
    if len(refs) > notices.MAX_LOOKUP:
        raise InvalidInput(f"At most {notices.MAX_LOOKUP} references at once.", field="ref")
    found = await notices.lookup(context.store, context.clock, refs)
    return web.json_response(
        {
            "notices": [
                notice_json(item.notice, item.status) if item.notice else {"reference": item.ref, "status": item.status}
                for item in found
            ]
        }
    )


@routes.post("/api/v1/notices")
async def add(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    notice = await notices.add(context.store, context.clock, request[MEMBER], body)
    return web.json_response(notice_json(notice, notices.status(notice, notices.today(context.clock))), status=201)


@routes.post("/api/v1/notices/import")
async def import_file(request: web.Request) -> web.Response:
    """The body is the file itself: ``text/csv`` or ``application/json``."""
    context = request.config_dict[CONTEXT]
    member = request[MEMBER]
    notices.require_admin(member)  # before reading the body
    raw = await request.read()  # bounded by server.max_request_bytes
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text.", field="file") from None
    if request.content_type == "application/json":
        rows = notices.rows_from_json(text)
    elif request.content_type in CSV_TYPES:
        rows = notices.rows_from_csv(text)
    else:
        raise InvalidInput("Send a CSV (text/csv) or JSON (application/json) file.", field="file")
    try:
        imported = await notices.import_rows(context.store, context.clock, member, rows)
    except notices.ImportRejected as exc:
        report = [{"row": e.row, "field": e.field, "message": e.message} for e in exc.rows]
        body: dict[str, Any] = {**errors.json_body(exc), "rows": report}
        return web.json_response(body, status=errors.status_for(exc))
    return web.json_response({"imported": len(imported), "references": [n.ref for n in imported]}, status=201)


@routes.post("/api/v1/notices/{ref}/cancel")
async def cancel(request: web.Request) -> web.Response:
    body = await read_json(request)
    cancelled = body.get("cancelled", True)
    if not isinstance(cancelled, bool):
        raise InvalidInput("cancelled is true or false.", field="cancelled")
    context = request.config_dict[CONTEXT]
    notice = await notices.set_cancelled(
        context.store, context.clock, request[MEMBER], request.match_info["ref"], cancelled
    )
    return web.json_response(notice_json(notice, notices.status(notice, notices.today(context.clock))))

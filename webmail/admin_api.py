"""JSON API for administrators (``/api/v1/admin``): membership actions and the audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from isecom.errors import InvalidInput
from isecom.services import admin, audit
from isecom.services.ports import AuditEntry
from isecom.types import Country, MemberId
from webmail.api import member_json, read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()


@routes.post("/api/v1/admin/members/{id}/{action:suspend|reinstate|expire|revoke}")
async def change_membership(request: web.Request) -> web.Response:
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("Give a reason; it is kept in the audit log.", field="reason")
    context = request.config_dict[CONTEXT]
    member = await admin.change_membership(
        context.store,
        context.clock,
        request[MEMBER],
        action=request.match_info["action"],
        member_id=MemberId.parse(request.match_info["id"], field="id"),
        reason=reason,
        authority=context.authority,
    )
    return web.json_response({"member": member_json(member)})


@routes.get("/api/v1/admin/members")
async def search_members(request: web.Request) -> web.Response:
    """Find members by name, email or agency (``q``) and ``country``; ``page`` of 25."""
    raw_page = request.query.get("page", "1")
    if not raw_page.isdigit() or len(raw_page) > 4:
        raise InvalidInput("page must be a whole number.", field="page")
    country = request.query.get("country") or None
    context = request.config_dict[CONTEXT]
    found, more = await admin.search_members(
        context.store,
        request[MEMBER],
        text=request.query.get("q", ""),
        country=Country.parse(country) if country else None,
        page=int(raw_page),
    )
    return web.json_response({"members": [member_json(m) for m in found], "page": int(raw_page), "more": more})


def _when(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date or time like 2026-11-28 or 2026-11-28T09:00:00Z.", field=name
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor.value if entry.actor else None,
        "action": entry.action,
        "subject": entry.subject,
        "detail": entry.detail,
    }


@routes.get("/api/v1/admin/audit")
async def audit_log(request: web.Request) -> web.StreamResponse:
    """Filter the audit log; ``format=csv`` downloads it."""
    context = request.config_dict[CONTEXT]
    try:
        limit = int(request.query.get("limit", "500"))
    except ValueError:
        raise InvalidInput("limit must be a whole number.", field="limit") from None
    entries = await audit.search(
        context.store,
        request[MEMBER],
        action_prefix=request.query.get("action") or None,
        subject=request.query.get("subject") or None,
        since=_when(request, "since"),
        until=_when(request, "until"),
        limit=limit,
    )
    if request.query.get("format", "json") == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "actor", "action", "subject", "detail"])
        for entry in entries:
            writer.writerow(
                [
                    entry.at.isoformat(),
                    entry.actor.value if entry.actor else "",
                    entry.action,
                    entry.subject or "",
                    json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
                ]
            )
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="isecom-audit.csv"'},
        )
    return web.json_response({"entries": [entry_json(e) for e in entries]})


@routes.get("/api/v1/me/security-events")
async def own_events(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    entries = await audit.own_security_events(context.store, request[MEMBER])
    return web.json_response({"events": [entry_json(e) for e in entries]})


@routes.post("/api/v1/admin/members/{id}/reset-keys")
async def reset_keys(request: web.Request) -> web.Response:
    """New keys after a fresh authorization (administrator or the country's NCB head)."""
    body = await read_json(request)
    reason = body.get("reason")
    if not isinstance(reason, str):
        raise InvalidInput("Give a reason; it is kept in the audit log.", field="reason")
    context = request.config_dict[CONTEXT]
    member = await admin.reset_keys(
        context.store,
        context.clock,
        context.config.server_key,
        request[MEMBER],
        MemberId.parse(request.match_info["id"], field="id"),
        reason=reason,
        base_url=context.config.public_url,
        authority=context.authority,
    )
    return web.json_response({"member": member_json(member)})

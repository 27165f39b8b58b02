"""JSON API for membership applications (``/api/v1/applications``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from isecom.access import public
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.services import applications
from isecom.services.ports import Application, Member
from isecom.types import MemberId
from webmail.api import member_json, read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()


def _application_json(member: Member, application: Application) -> dict[str, Any]:
    return {
        **member_json(member),
        "phone": application.phone,
        "position": application.position,
        "languages": list(application.languages),
        "nominator_email": str(application.nominator_email),
        "submitted_at": application.submitted_at.isoformat(),
    }


def _decision(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", field=name)
    return value


def _statement(body: dict[str, Any]) -> bytes | None:
    raw = body.get("statement")
    if raw is None:
        return None
    try:
        return b64d(raw)
    except CryptoError:
        raise InvalidInput("statement must be base64url (PROTOCOL.md §1).", field="statement") from None


def _reason(body: dict[str, Any]) -> str | None:
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("reason must be text.", field="reason")
    return reason


@routes.post("/api/v1/applications")
@public
async def submit(request: web.Request) -> web.Response:
    """Always the same answer, whoever applies (the form does not reveal members)."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    form = applications.ApplicationForm.parse(body)
    await applications.apply(
        context.store, context.clock, context.config.server_key, form, base_url=context.config.public_url
    )
    return web.json_response({"status": "check_your_mail"}, status=202)


@routes.post("/api/v1/applications/confirm")
@public
async def confirm(request: web.Request) -> web.Response:
    body = await read_json(request)
    token = body.get("token")
    if not isinstance(token, str):
        raise InvalidInput("A token is required.", field="token")
    context = request.config_dict[CONTEXT]
    member = await applications.confirm(
        context.store, context.clock, context.config.server_key, token, base_url=context.config.public_url
    )
    return web.json_response({"status": member.status.value})


@routes.get("/api/v1/applications/pending")
async def pending(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found = await applications.pending(context.store, request[MEMBER])
    return web.json_response({kind: [_application_json(m, a) for m, a in items] for kind, items in found.items()})


@routes.post("/api/v1/applications/{id}/nomination")
async def nominate(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    await applications.nominate(
        context.store,
        context.clock,
        context.config.server_key,
        request[MEMBER],
        MemberId.parse(request.match_info["id"], field="id"),
        endorse=_decision(body, "endorse"),
        reason=_reason(body),
        base_url=context.config.public_url,
        authority=context.authority,
        statement=_statement(body),
    )
    return web.Response(status=204)


@routes.post("/api/v1/applications/{id}/authorization")
async def authorize(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    term_days = body.get("term_days", applications.DEFAULT_TERM.days)
    if not isinstance(term_days, int) or isinstance(term_days, bool):
        raise InvalidInput("term_days must be a whole number of days.", field="term_days")
    await applications.authorize(
        context.store,
        context.clock,
        context.config.server_key,
        request[MEMBER],
        MemberId.parse(request.match_info["id"], field="id"),
        approve=_decision(body, "approve"),
        reason=_reason(body),
        term=timedelta(days=term_days),
        base_url=context.config.public_url,
        authority=context.authority,
        statement=_statement(body),
    )
    return web.Response(status=204)


@routes.get("/api/v1/applications/{id}/signing")
async def signing(request: web.Request) -> web.Response:
    """What the approver's browser signs with (PROTOCOL.md §9.3): certificate and nomination."""
    step = request.query.get("step", "")
    if step not in ("nomination", "authorization"):
        raise InvalidInput("step must be nomination or authorization.", field="step")
    context = request.config_dict[CONTEXT]
    info = await applications.signing_info(
        context.store, context.authority, request[MEMBER], MemberId.parse(request.match_info["id"], field="id"), step
    )
    return web.json_response(
        {
            "member": member_json(info.member),
            "must_sign": info.must_sign,
            "certificate": None
            if info.certificate_index is None or info.certificate_hash is None
            else {"index": info.certificate_index, "hash": b64e(info.certificate_hash)},
            "nomination": b64e(info.nomination) if info.nomination else None,
            "now": int(context.clock.now().timestamp()),
        }
    )


@routes.post("/api/v1/applications/{id}/renewal")
async def renew(request: web.Request) -> web.Response:
    body = await read_json(request)
    term_days = body.get("term_days", applications.DEFAULT_TERM.days)
    if not isinstance(term_days, int) or isinstance(term_days, bool):
        raise InvalidInput("term_days must be a whole number of days.", field="term_days")
    context = request.config_dict[CONTEXT]
    ends = await applications.renew(
        context.store,
        context.clock,
        context.config.server_key,
        request[MEMBER],
        MemberId.parse(request.match_info["id"], field="id"),
        term=timedelta(days=term_days),
    )
    return web.json_response({"membership_expires_at": ends.isoformat()})


@routes.get("/api/v1/memberships/renewals")
async def renewals(request: web.Request) -> web.Response:
    """Memberships of the reviewer's country (every country for administrators) ending soon."""
    raw = request.query.get("within_days", str(applications.RENEWAL_WINDOW.days))
    if not raw.isdigit() or len(raw) > 4:
        raise InvalidInput("within_days must be a whole number of days.", field="within_days")
    context = request.config_dict[CONTEXT]
    due = await applications.renewals_due(
        context.store, context.clock, request[MEMBER], within=timedelta(days=int(raw))
    )
    return web.json_response(
        {
            "within_days": int(raw),
            "memberships": [
                {**member_json(m), "membership_expires_at": a.membership_expires_at.isoformat()}
                for m, a in due
                if a.membership_expires_at is not None
            ],
        }
    )

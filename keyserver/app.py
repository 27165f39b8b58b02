"""The keyserver sub-application, mounted at ``/keys`` (docs/PROTOCOL.md §9, keyserver/openapi.json).

Member key histories with inclusion proofs, the directory by country, signed
checkpoints, consistency proofs and raw leaves for self-audit and monitors.
Every route but ``/keys/`` and the OpenAPI document needs a session (the
webmail's deny-by-default middleware runs for this sub-application too). The
server is not trusted: every answer carries what a client needs to check it
against the pinned root key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web

from isecom.access import public
from isecom.context import Context
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.http_keys import MEMBER
from isecom.services import inbound, keylookup, keysigned, revocations
from isecom.types import Country, Email, MemberId

routes = web.RouteTableDef()
PROTOCOL_VERSION = 1
CONTEXT = web.AppKey("keyserver_context", Context)
OPENAPI = Path(__file__).with_name("openapi.json")


def _context(request: web.Request) -> Context:
    return request.app[CONTEXT]


def _int(request: web.Request, name: str) -> int:
    raw = request.query.get(name, "")
    if not raw.isdigit() or len(raw) > 15:
        raise InvalidInput(f"{name} must be a non-negative integer.", field=name)
    return int(raw)


def _history_json(found: keylookup.History) -> dict[str, Any]:
    m = found.member
    return {
        "member": {
            "id": m.id.value,
            "email": str(m.email),
            "name": m.name,
            "country": m.country.code,
            "agency": m.agency,
            "status": m.status.value,
        },
        "log_key": b64e(found.log_key),
        "checkpoint": b64e(found.checkpoint),
        "entries": [
            {"index": leaf.index, "leaf": b64e(leaf.data), "proof": [b64e(p) for p in leaf.proof]}
            for leaf in found.leaves
        ],
        "pending": found.pending,
    }


@routes.get("/")
@public
async def about(request: web.Request) -> web.Response:
    config = _context(request).config
    return web.json_response(
        {
            "service": "isecom-keyserver",
            "protocol": PROTOCOL_VERSION,
            "origin": config.public_url,
            "root_key": b64e(config.root_pk),
            "openapi": "/keys/openapi.json",
        }
    )


@routes.get("/openapi.json")
@public
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(json.loads(OPENAPI.read_text(encoding="utf-8")))


@routes.get("/v1/members/{member_id}")
async def member_keys(request: web.Request) -> web.Response:
    context = _context(request)
    member_id = MemberId.parse(request.match_info["member_id"])
    return web.json_response(_history_json(await keylookup.history(context.store, member_id)))


@routes.get("/v1/gateway")
async def gateway_key(request: web.Request) -> web.Response:
    """The SMTP gateway's signing key: certified by the log key, whose certificate the root signed (§6.6)."""
    context = _context(request)
    found = await inbound.gateway_key(
        context.store, context.config.public_url, context.authority.log_keys[1], context.gateway
    )
    return web.json_response(
        {"origin": found.origin, "log_key": b64e(found.log_key), "certificate": b64e(found.certificate)}
    )


@routes.get("/v1/lookup")
async def lookup(request: web.Request) -> web.Response:
    context = _context(request)
    email = Email.parse(request.query.get("email", ""))
    return web.json_response(_history_json(await keylookup.history_by_email(context.store, email)))


@routes.get("/v1/directory")
async def directory(request: web.Request) -> web.Response:
    context = _context(request)
    country = Country.parse(request.query.get("country", ""))
    found = await keylookup.directory(context.store, country)
    return web.json_response(
        {
            "country": country.code,
            "members": [
                {"id": m.id.value, "email": str(m.email), "name": m.name, "agency": m.agency, "country": m.country.code}
                for m, _ in found
            ],
        }
    )


@routes.get("/v1/checkpoint")
async def checkpoint(request: web.Request) -> web.Response:
    context = _context(request)
    latest, proof = await keylookup.consistency(context.store, _int(request, "from") if "from" in request.query else 0)
    return web.json_response({"checkpoint": b64e(latest), "consistency": [b64e(p) for p in proof]})


@routes.get("/v1/leaves")
async def leaves(request: web.Request) -> web.Response:
    context = _context(request)
    found = await keylookup.leaves(context.store, _int(request, "start"), _int(request, "end"))
    return web.json_response({"leaves": [b64e(d) for d in found]})


@routes.get("/v1/revocations/plan")
async def revocation_plan(request: web.Request) -> web.Response:
    """What the browser signs to revoke a member's keys: its own, or as their country's NCB head."""
    context = _context(request)
    member_id = MemberId.parse(request.query.get("member", ""), field="member")
    plan = await keysigned.plan_revocation(context.store, context.authority, request[MEMBER], member_id)
    return web.json_response(
        {
            "member": {"id": plan.member.id.value, "email": str(plan.member.email), "name": plan.member.name},
            "by": "self" if plan.by is keytrans.RevokedBy.SELF else "ncb_head",
            "key_statement": b64e(plan.ks_hash),
            "certificate": None
            if plan.certificate is None
            else {"index": plan.certificate.index, "hash": b64e(plan.certificate.certificate.hash)},
            "now": int(context.clock.now().timestamp()),
        }
    )


@routes.post("/v1/revocations")
async def revoke(request: web.Request) -> web.Response:
    """Log a revocation signed in the browser (PROTOCOL.md §9.5); clients refuse the keys from then on."""
    body = await request.json() if request.content_type == "application/json" else None
    if not isinstance(body, dict):
        raise InvalidInput("Send JSON (Content-Type: application/json).")
    context = _context(request)
    member_id = MemberId.parse(body.get("member_id", ""), field="member_id")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text.", field="reason")
    try:
        statement = b64d(body.get("statement"))
    except CryptoError:
        raise InvalidInput("statement must be base64url (PROTOCOL.md §1).", field="statement") from None
    member = await revocations.revoke(
        context.store, context.clock, context.authority, request[MEMBER], member_id, statement, reason=reason
    )
    return web.json_response(
        {"member": {"id": member.id.value, "email": str(member.email)}, "revoked": True}, status=201
    )


def create_app(context: Context) -> web.Application:
    app = web.Application()
    app[CONTEXT] = context
    app.add_routes(routes)
    return app

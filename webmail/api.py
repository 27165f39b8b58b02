"""JSON API (``/api/v1``). Each handler calls one service and renders its result."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from isecom.access import public
from isecom.errors import InvalidInput, TokenInvalid
from isecom.services import health, tokens
from isecom.services.ports import Member
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id.value,
        "email": str(member.email),
        "name": member.name,
        "country": member.country.code,
        "agency": member.agency,
        "roles": sorted(role.value for role in member.roles),
        "status": member.status.value,
        "language": member.language.value,
    }


async def read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise InvalidInput("Send JSON (Content-Type: application/json).")
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


@routes.get("/healthz")
@public
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
@public
async def readyz(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    checks = await health.readiness(context.store, context.blobs)
    return web.json_response({"status": "ready", "checks": checks})


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(member_json(request[MEMBER]))


@routes.post("/api/v1/activation/check")
@public
async def activation_check(request: web.Request) -> web.Response:
    """Tell the activation page whom a link is for, without consuming it."""
    body = await read_json(request)
    token = body.get("token")
    if not isinstance(token, str):
        raise InvalidInput("A token is required.", field="token")
    context = request.config_dict[CONTEXT]
    async with context.store.transaction() as tx:
        found = await tokens.check(tx, context.clock, context.config.server_key, purpose=tokens.ACTIVATION, token=token)
        member = await tx.members.get(found.member_id)
    if member is None:
        raise TokenInvalid()
    return web.json_response(
        {"name": member.name, "email": str(member.email), "expires_at": found.expires_at.isoformat()}
    )

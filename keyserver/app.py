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
from isecom.crypto.encoding import b64e
from isecom.errors import InvalidInput
from isecom.services import keydir
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


def _history_json(found: keydir.History) -> dict[str, Any]:
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
    return web.json_response(_history_json(await keydir.history(context.store, member_id)))


@routes.get("/v1/lookup")
async def lookup(request: web.Request) -> web.Response:
    context = _context(request)
    email = Email.parse(request.query.get("email", ""))
    return web.json_response(_history_json(await keydir.history_by_email(context.store, email)))


@routes.get("/v1/directory")
async def directory(request: web.Request) -> web.Response:
    context = _context(request)
    country = Country.parse(request.query.get("country", ""))
    found = await keydir.directory(context.store, country)
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
    latest, proof = await keydir.consistency(context.store, _int(request, "from") if "from" in request.query else 0)
    return web.json_response({"checkpoint": b64e(latest), "consistency": [b64e(p) for p in proof]})


@routes.get("/v1/leaves")
async def leaves(request: web.Request) -> web.Response:
    context = _context(request)
    found = await keydir.leaves(context.store, _int(request, "start"), _int(request, "end"))
    return web.json_response({"leaves": [b64e(d) for d in found]})


def create_app(context: Context) -> web.Application:
    app = web.Application()
    app[CONTEXT] = context
    app.add_routes(routes)
    return app

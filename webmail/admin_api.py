"""JSON API for administrators (``/api/v1/admin``): membership actions."""

from __future__ import annotations

from aiohttp import web

from isecom.errors import InvalidInput
from isecom.services import admin
from isecom.types import MemberId
from webmail.api import member_json, read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()


@routes.post("/api/v1/admin/members/{id}/{action}")
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
    )
    return web.json_response({"member": member_json(member)})

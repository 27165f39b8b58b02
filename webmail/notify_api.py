"""New-mail notices (``/account/notifications``, ``/api/v1/notifications``) and the outbox health
administrators see (``/api/v1/admin/outbox``). Every route needs a session."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from isecom.errors import InvalidInput
from isecom.services import admin, notify
from isecom.services.notify_ports import NotifySettings
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.render import render

routes = web.RouteTableDef()


def settings_json(request: web.Request, found: NotifySettings) -> dict[str, Any]:
    config = request.config_dict[CONTEXT].config
    return {
        "mode": found.mode,
        "address": str(found.address) if found.address else None,
        "pending_address": str(found.pending_address) if found.pending_address else None,
        "interval_minutes": int(config.notify_interval.total_seconds() // 60),
        "digest_hour": config.notify_digest_hour,
    }


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string.", field=name)
    return value


@routes.get("/account/notifications", name="notifications")
async def page(request: web.Request) -> web.Response:
    """The member's notice settings; a confirmation link lands here with its token in the fragment."""
    return render(request, "notifications.html", member=request[MEMBER])


@routes.get("/api/v1/notifications")
async def get_settings(request: web.Request) -> web.Response:
    found = await notify.settings(request.config_dict[CONTEXT].store, request[MEMBER])
    return web.json_response(settings_json(request, found))


@routes.post("/api/v1/notifications/address")
async def request_address(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    found = await notify.request_address(
        context.store,
        context.clock,
        context.config.server_key,
        request[MEMBER],
        _text(body, "address"),
        own_domains=context.config.mail_domains,
        base_url=context.config.public_url,
    )
    return web.json_response(settings_json(request, found), status=202)


@routes.delete("/api/v1/notifications/address")
async def remove_address(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found = await notify.remove_address(context.store, context.clock, request[MEMBER])
    return web.json_response(settings_json(request, found))


@routes.post("/api/v1/notifications/confirm")
async def confirm(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    found = await notify.confirm(
        context.store, context.clock, context.config.server_key, request[MEMBER], _text(body, "token")
    )
    return web.json_response(settings_json(request, found))


@routes.post("/api/v1/notifications/mode")
async def set_mode(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    found = await notify.set_mode(context.store, context.clock, request[MEMBER], _text(body, "mode"))
    return web.json_response(settings_json(request, found))


@routes.get("/api/v1/admin/outbox")
async def outbox_health(request: web.Request) -> web.Response:
    """Mail that failed to leave: counts and the newest entries, without addresses or content."""
    health = await admin.outbox_health(request.config_dict[CONTEXT].store, request[MEMBER])
    return web.json_response(
        {
            "retrying": health.retrying,
            "given_up": health.given_up,
            "recent": [
                {
                    "id": p.id,
                    "template": p.template,
                    "attempts": p.attempts,
                    "error": p.error_class,
                    "created_at": p.created_at.isoformat(),
                    "next_attempt_at": p.next_attempt_at.isoformat() if p.next_attempt_at else None,
                }
                for p in health.recent
            ],
        }
    )

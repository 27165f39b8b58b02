"""The keyserver sub-application (mounted at ``/keys`` by the composition root).

Its directory, certification and transparency-log routes arrive with the
keyserver issue; today it answers what it is, so clients can discover it.
"""

from __future__ import annotations

from aiohttp import web

from isecom.access import public

routes = web.RouteTableDef()
PROTOCOL_VERSION = 1


@routes.get("/")
@public
async def about(request: web.Request) -> web.Response:
    return web.json_response({"service": "isecom-keyserver", "protocol": PROTOCOL_VERSION})


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    return app

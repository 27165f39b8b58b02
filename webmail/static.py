"""Serve the content-hashed static files from memory."""

from __future__ import annotations

from aiohttp import web

from isecom.access import public
from webmail.keys import ASSETS

routes = web.RouteTableDef()


@routes.get("/favicon.ico")
@public
async def favicon(request: web.Request) -> web.Response:
    """Browsers ask every origin for /favicon.ico; point them at the hashed icon."""
    raise web.HTTPMovedPermanently(request.config_dict[ASSETS].url("img/icon.svg"))


@routes.get("/static/{build}/{name:.+}")
@public
async def static_file(request: web.Request) -> web.Response:
    assets = request.config_dict[ASSETS]
    asset = assets.files.get(request.match_info["name"])
    if asset is None or request.match_info["build"] != assets.build:
        raise web.HTTPNotFound()
    return web.Response(
        body=asset.body,
        content_type=asset.content_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )

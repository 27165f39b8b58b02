"""The aiohttp application factory for the webmail (the keyserver is mounted by the caller)."""

from __future__ import annotations

from aiohttp import web

from isecom.context import Context
from webmail import (
    admin_api,
    api,
    auth_api,
    checklists_api,
    files_api,
    library_api,
    library_pages,
    mail_api,
    membership_api,
    notices_api,
    notify_api,
    openapi,
    pages,
    profile_pages,
    profiles_api,
    static,
)
from webmail.assets import Assets
from webmail.i18n import Catalogs
from webmail.keys import ASSETS, CATALOGS, CONTEXT, JINJA
from webmail.middleware import auth_middleware, error_middleware, origin_middleware, security_headers
from webmail.proxy import proxy_middleware
from webmail.render import make_environment


def create_app(context: Context, assets: Assets | None = None) -> web.Application:
    app = web.Application(
        middlewares=[proxy_middleware, error_middleware, origin_middleware, auth_middleware],
        client_max_size=context.config.max_request_bytes,
    )
    app[CONTEXT] = context
    app[ASSETS] = assets or Assets.load()
    app[CATALOGS] = Catalogs.load(context.config.default_language)
    app[JINJA] = make_environment()
    app.add_routes(pages.routes)
    app.add_routes(profile_pages.routes)
    app.add_routes(profiles_api.routes)
    app.add_routes(api.routes)
    app.add_routes(auth_api.routes)
    app.add_routes(membership_api.routes)
    app.add_routes(admin_api.routes)
    app.add_routes(mail_api.routes)
    app.add_routes(files_api.routes)
    app.add_routes(checklists_api.routes)
    app.add_routes(notify_api.routes)
    app.add_routes(library_api.routes)
    app.add_routes(notices_api.routes)
    app.add_routes(library_pages.routes)
    app.add_routes(openapi.routes)
    app.add_routes(static.routes)
    app.on_response_prepare.append(security_headers)
    return app

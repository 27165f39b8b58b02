"""HTML pages: landing, sign-in, activation, the signed-in home page, language switch."""

from __future__ import annotations

from aiohttp import web

from isecom.access import public
from isecom.types import Language
from webmail import i18n
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.render import language, render

routes = web.RouteTableDef()
LANG_COOKIE_AGE = 365 * 24 * 3600


@routes.get("/", name="landing")
@public
async def landing(request: web.Request) -> web.Response:
    return render(request, "landing.html")


@routes.get("/signin", name="signin")
@public
async def signin(request: web.Request) -> web.Response:
    return render(request, "signin.html")


@routes.get("/activate", name="activate")
@public
async def activate(request: web.Request) -> web.Response:
    # The token travels in the URL fragment, which browsers never send: it
    # cannot reach access logs, proxies or Referer headers. activate.js reads it.
    return render(request, "activate.html")


@routes.get("/home", name="home")
async def home(request: web.Request) -> web.Response:
    # Not @public: without a session the auth middleware sends the browser to /signin.
    member = request[MEMBER]
    return render(
        request, "home.html", member=member, country=i18n.country_name(member.country.code, language(request))
    )


@routes.get("/lang/{code}", name="language")
@public
async def switch_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    if code not in {lang.value for lang in Language}:
        raise web.HTTPNotFound()
    target = request.query.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    redirect = web.HTTPSeeOther(target)
    redirect.set_cookie(
        i18n.COOKIE,
        code,
        max_age=LANG_COOKIE_AGE,
        path="/",
        samesite="Lax",
        httponly=True,
        secure=request.config_dict[CONTEXT].config.uses_tls,
    )
    raise redirect

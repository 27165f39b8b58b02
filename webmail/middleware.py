"""Security headers, error rendering, same-origin checks and deny-by-default authentication.

Every route needs a session unless its handler is wrapped with ``@public``
(the explicit allowlist, ``isecom/access.py``). The member found by the auth middleware is stored
on the request under ``MEMBER``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from isecom import http_keys
from isecom.access import is_public
from isecom.errors import Forbidden, IsecomError, NotFound, TooLarge, Unauthenticated
from isecom.services import sessions
from webmail import errors
from webmail.keys import CONTEXT
from webmail.render import render

log = logging.getLogger("isecom.web")

CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SESSION_COOKIE = "isecom_session"
SESSION_COOKIE_TLS = "__Host-isecom_session"
MEMBER = http_keys.MEMBER  # shared with the keyserver, which may not import the webmail
CURRENT = web.RequestKey("current", sessions.Current)
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def wants_json(request: web.Request) -> bool:
    path = request.path
    return (
        path.startswith(("/api/", "/keys"))
        or path in ("/healthz", "/readyz")
        or "application/json" in request.headers.get("Accept", "")
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors and static files included."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if request.config_dict[CONTEXT].config.uses_tls:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    if "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"


def error_response(request: web.Request, error: IsecomError, status: int | None = None) -> web.Response:
    status = status or errors.status_for(error)
    if wants_json(request):
        return web.json_response(errors.json_body(error), status=status)
    return render(request, "error.html", status=status, message=error.message, status_code=status)


_HTTP_ERRORS: dict[int, IsecomError] = {
    404: NotFound(),
    405: IsecomError("This method is not allowed here."),
    413: TooLarge(),
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except IsecomError as exc:
        if exc.code in ("internal", "unavailable", "config.invalid"):
            log.warning("request failed", extra={"code": exc.code, "debug": exc.debug, "path": request.path})
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        known = _HTTP_ERRORS.get(exc.status)
        if known is None:
            known = IsecomError(exc.reason)
        return error_response(request, known, status=exc.status)
    except Exception as exc:
        log.exception("unhandled error", extra={"path": request.path, "error": type(exc).__name__})
        return error_response(request, IsecomError(), status=500)


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """State-changing requests must come from our own origin (CSRF defence)."""
    if request.method in _UNSAFE_METHODS:
        expected = _origin(request.config_dict[CONTEXT].config.public_url)
        origin = request.headers.get("Origin")
        if origin is None or _origin(origin) != expected:
            raise Forbidden("Cross-origin requests are refused.")
    return await handler(request)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Deny by default: anything not marked @public needs a live session."""
    route_error = request.match_info.http_exception
    if route_error is not None or is_public(request.match_info.handler):
        return await handler(request)
    context = request.config_dict[CONTEXT]
    try:
        current = await sessions.authenticate(
            context.store,
            context.clock,
            context.config.server_key,
            request.cookies.get(session_cookie_name(context.config.uses_tls)),
            sessions.Limits(idle=context.config.session_idle, absolute=context.config.session_absolute),
        )
    except Unauthenticated:
        if wants_json(request):
            raise
        raise web.HTTPSeeOther("/signin") from None
    if request.method in _UNSAFE_METHODS and not sessions.check_csrf(
        context.config.server_key, current.session.digest, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden("The request is missing its CSRF token; reload the page and try again.")
    request[CURRENT] = current
    request[MEMBER] = current.member
    return await handler(request)


def session_cookie_name(tls: bool) -> str:
    return SESSION_COOKIE_TLS if tls else SESSION_COOKIE

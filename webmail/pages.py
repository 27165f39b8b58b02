"""HTML pages: landing, applying, sign-in, recovery, activation, home, password change, key renewal, reviewing
applications, administration, the key directory and contacts, the mailbox, language."""

from __future__ import annotations

from aiohttp import web

from isecom.access import public
from isecom.errors import InvalidInput
from isecom.services.applications import LANGUAGES as WORKING_LANGUAGES
from isecom.types import Language, MemberId, Role
from webmail import i18n, profile_pages
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.render import language, render

routes = web.RouteTableDef()
LANG_COOKIE_AGE = 365 * 24 * 3600
REVIEWERS = frozenset({Role.AGENCY_HEAD, Role.NCB_HEAD, Role.ADMIN})


@routes.get("/", name="landing")
@public
async def landing(request: web.Request) -> web.Response:
    return render(request, "landing.html")


@routes.get("/signin", name="signin")
@public
async def signin(request: web.Request) -> web.Response:
    return render(request, "signin.html")


@routes.get("/recover", name="recover")
@public
async def recover(request: web.Request) -> web.Response:
    """Forgot the password: a new one with the recovery code, and what to do without it."""
    return render(request, "recover.html")


@routes.get("/account/password", name="password")
async def password(request: web.Request) -> web.Response:
    # Not @public: changing the password needs a session (and the current password).
    member = request[MEMBER]
    return render(request, "password.html", member=member)


@routes.get("/account/keys", name="account-keys")
async def account_keys(request: web.Request) -> web.Response:
    """Renew the encryption key (PROTOCOL.md §4.2); not @public, like the password page."""
    return render(request, "keys.html", member=request[MEMBER])


@routes.get("/activate", name="activate")
@public
async def activate(request: web.Request) -> web.Response:
    # The token travels in the URL fragment, which browsers never send: it
    # cannot reach access logs, proxies or Referer headers. activate.js reads it.
    return render(request, "activate.html")


@routes.get("/apply", name="apply")
@public
async def apply(request: web.Request) -> web.Response:
    lang = language(request)
    working = sorted(
        ((code, i18n.language_label(code, lang)) for code in WORKING_LANGUAGES), key=lambda item: i18n.sort_key(item[1])
    )
    return render(request, "apply.html", countries=i18n.countries(lang), working_languages=working)


@routes.get("/apply/confirm", name="apply-confirm")
@public
async def apply_confirm(request: web.Request) -> web.Response:
    # The token is in the fragment, as on /activate; apply-confirm.js reads it.
    return render(request, "apply-confirm.html")


@routes.get("/home", name="home")
async def home(request: web.Request) -> web.Response:
    # Not @public: without a session the auth middleware sends the browser to /signin.
    member = request[MEMBER]
    return render(
        request,
        "home.html",
        member=member,
        country=i18n.country_name(member.country.code, language(request)),
        reviewer=bool(member.roles & REVIEWERS),
        admin=Role.ADMIN in member.roles,
    )


@routes.get("/review", name="review")
async def review(request: web.Request) -> web.Response:
    """Pending nominations and authorizations; the API decides what each member may see."""
    roles = request[MEMBER].roles
    return render(
        request,
        "review.html",
        nominations=bool(roles & {Role.AGENCY_HEAD, Role.ADMIN}),
        authorizations=bool(roles & {Role.NCB_HEAD, Role.ADMIN}),
        renewals=bool(roles & {Role.NCB_HEAD, Role.ADMIN}),
    )


@routes.get("/admin", name="admin")
async def admin(request: web.Request) -> web.Response:
    # Every member may load the page; the admin API answers 403 to non-administrators and
    # admin.js says so. The page holds no data of its own (the country names are public).
    return render(request, "admin.html", countries=i18n.countries(language(request)))


@routes.get("/directory", name="directory")
async def directory(request: web.Request) -> web.Response:
    """Members of a country, from the key directory; each opens its contact page."""
    member = request[MEMBER]
    return render(
        request,
        "directory.html",
        member=member,
        countries=i18n.countries(language(request)),
        **profile_pages.directory_values(request),
    )


@routes.get("/contacts/{member_id}", name="contact")
async def contact(request: web.Request) -> web.Response:
    """One member's verified keys, the safety number with its QR code and "mark as verified".

    The page holds no data of its own: contact.js fetches the keys from /keys/v1 and checks them.
    """
    raw = request.match_info["member_id"]
    try:
        contact_id = MemberId.parse(raw)
    except InvalidInput:
        raise web.HTTPNotFound() from None
    return render(request, "contact.html", member=request[MEMBER], contact_id=contact_id.value)


@routes.get("/mail", name="mail")
async def mail(request: web.Request) -> web.Response:
    """The mailbox, one page: mail.js unlocks the keys with the password, keeps them in memory
    and opens, writes and seals every message in the browser; the server sends ciphertext only."""
    member = request[MEMBER]
    return render(request, "mail.html", member=member, countries=i18n.countries(language(request)))


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

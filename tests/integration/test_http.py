"""The assembled aiohttp application, in process, on a real SQLite instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from isecom import app as composition
from isecom.config import Config
from isecom.services import sessions
from isecom.services.members import NewMember, create_member
from isecom.services.ports import Member
from isecom.types import MemberStatus
from tests.conftest import FakeClock
from webmail.middleware import CSP, SESSION_COOKIE

ORIGIN = "http://127.0.0.1:8080"


@pytest.fixture
async def client(cfg: Config) -> AsyncIterator[TestClient[object, object]]:
    await composition.check_database(cfg, upgrade=True)
    async with composition.open_context(cfg) as context:
        server = TestServer(composition.build_web_app(context), host="127.0.0.1")
        async with TestClient(server) as test_client:
            test_client.context = context  # type: ignore[attr-defined]
            yield test_client


async def active_member(client: TestClient[object, object], clock: FakeClock) -> tuple[Member, str]:
    context = client.context  # type: ignore[attr-defined]
    new = NewMember.parse(email="mei.tan@isecom.example", name="Mei Tan", country="SG", agency="Demo FIB", roles=[])
    invitation = await create_member(context.store, clock, context.config.server_key, new, actor=None)
    async with context.store.transaction() as tx:
        await tx.members.set_status(invitation.member.id, MemberStatus.ACTIVE)
    cookie, _ = await sessions.open_session(
        context.store, context.clock, context.config.server_key, invitation.member.id
    )
    return invitation.member, cookie


async def test_landing_page_has_security_headers(client: TestClient[object, object]) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Security-Policy"] == CSP
    # blob: only where the attachment preview needs it (docs/threat-model.md F14)
    blob = sorted(d.split()[0] for d in CSP.split("; ") if "blob:" in d)
    assert blob == ["frame-src", "img-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # no TLS in this instance
    assert response.headers["Cache-Control"] == "no-store"
    text = await response.text()
    assert '<html lang="en" dir="ltr">' in text


async def test_hsts_when_served_over_tls(cfg: Config) -> None:
    tls = replace(cfg, public_url="https://isecom.example")
    async with composition.open_context(tls) as context:
        await composition.check_database(tls, upgrade=True)
        async with TestClient(TestServer(composition.build_web_app(context), host="127.0.0.1")) as client:
            response = await client.get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize(
    ("header", "lang", "direction"),
    [("fr-CA,fr;q=0.9", "fr", "ltr"), ("es", "es", "ltr"), ("ar,en;q=0.5", "ar", "rtl"), ("de", "en", "ltr")],
)
async def test_language_from_accept_language(
    client: TestClient[object, object], header: str, lang: str, direction: str
) -> None:
    response = await client.get("/", headers={"Accept-Language": header})
    assert f'<html lang="{lang}" dir="{direction}">' in await response.text()
    assert response.headers["Content-Language"] == lang


async def test_language_switch_sets_a_cookie_and_stays_local(client: TestClient[object, object]) -> None:
    response = await client.get("/lang/ar?next=/signin", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/signin"
    assert response.cookies["lang"].value == "ar"
    page = await client.get("/signin", headers={"Accept-Language": "fr"})
    assert '<html lang="ar" dir="rtl">' in await page.text()
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await client.get("/lang/fr", params={"next": evil}, allow_redirects=False)
        assert response.headers["Location"] == "/"
    assert (await client.get("/lang/de", allow_redirects=False)).status == 404


async def test_static_files_are_hashed_immutable_and_have_sri(client: TestClient[object, object]) -> None:
    from webmail.keys import ASSETS

    page = await (await client.get("/signin")).text()
    assets = client.server.app[ASSETS]
    for name in ("css/app.css", "js/signin.js", "vendor/libsodium-wrappers.mjs", "vendor/libsodium-sumo.mjs"):
        url, integrity = assets.url(name), assets.integrity(name)
        assert url in page and integrity in page
        response = await client.get(url)
        assert response.status == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert await response.read() == assets.files[name].body
    wrappers = assets.files["vendor/libsodium-wrappers.mjs"].body
    assert b'from"./libsodium-sumo.mjs"' in wrappers and b'from"libsodium-sumo"' not in wrappers
    assert (await client.get("/static/0000000000000000/css/app.css")).status == 404
    assert (await client.get(f"/static/{assets.build}/../pyproject.toml")).status == 404


async def test_health_and_readiness(client: TestClient[object, object], cfg: Config) -> None:
    assert await (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"] == {"database": "ok", "blobs": "ok"}


async def test_readiness_fails_when_blobs_are_not_writable(client: TestClient[object, object], cfg: Config) -> None:
    import shutil

    shutil.rmtree(cfg.blob_dir)
    cfg.blob_dir.write_text("not a folder")
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "unavailable"


async def test_deny_by_default(client: TestClient[object, object], clock: FakeClock) -> None:
    response = await client.get("/api/v1/me")
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "auth.required"
    _member, cookie = await active_member(client, clock)
    response = await client.get("/api/v1/me", cookies={SESSION_COOKIE: cookie})
    assert response.status == 200
    assert (await response.json())["email"] == "mei.tan@isecom.example"
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    assert (await client.get("/api/v1/me", cookies={SESSION_COOKIE: forged})).status == 401


async def test_home_needs_a_session_and_shows_the_member(client: TestClient[object, object], clock: FakeClock) -> None:
    from webmail.keys import ASSETS

    response = await client.get("/home", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/signin"
    _member, cookie = await active_member(client, clock)
    response = await client.get("/home", cookies={SESSION_COOKIE: cookie}, headers={"Accept-Language": "fr"})
    assert response.status == 200
    page = await response.text()
    for shown in ("Mei Tan", "mei.tan@isecom.example", "Singapour", "Demo FIB", "Se déconnecter"):
        assert shown in page
    # Every module the page script imports is preloaded with its digest.
    assets = client.server.app[ASSETS]
    for name in assets.module_graph("js/home.js"):
        assert f'<link rel="modulepreload" href="{assets.url(name)}" integrity="{assets.integrity(name)}">' in page


async def test_every_route_is_public_by_decision_only(client: TestClient[object, object]) -> None:
    """The allowlist is explicit: adding a public route must change this list."""
    from isecom.access import is_public

    public = sorted(
        {
            route.resource.canonical
            for route in client.server.app.router.routes()
            if route.resource is not None and is_public(route.handler)
        }
    )
    assert public == [
        "/",
        "/activate",
        "/api/docs",
        "/api/openapi.json",
        "/api/v1/activation/check",
        "/api/v1/activation/complete",
        "/api/v1/activation/start",
        "/api/v1/applications",
        "/api/v1/applications/confirm",
        "/api/v1/auth/login",
        "/api/v1/auth/prelogin",
        "/api/v1/recovery/complete",
        "/api/v1/recovery/start",
        "/apply",
        "/apply/confirm",
        "/favicon.ico",
        "/healthz",
        "/keys/",
        "/keys/openapi.json",
        "/lang/{code}",
        "/readyz",
        "/recover",
        "/signin",
        "/static/{build}/{name}",
    ]


async def test_keyserver_is_mounted(client: TestClient[object, object]) -> None:
    response = await client.get("/keys/")
    assert response.status == 200 and (await response.json())["service"] == "isecom-keyserver"


async def test_errors_render_as_json_for_the_api_and_a_page_for_people(client: TestClient[object, object]) -> None:
    api = await client.get("/api/v1/nothing-here")
    assert api.status == 404 and (await api.json())["error"]["code"] == "not_found"
    page = await client.get("/nothing-here", headers={"Accept-Language": "fr"})
    assert page.status == 404 and page.content_type == "text/html"
    assert "Introuvable" in await page.text() or "introuvable" in await page.text()
    assert page.headers["Content-Security-Policy"] == CSP


async def test_cross_origin_posts_are_refused(client: TestClient[object, object]) -> None:
    body = {"token": "x" * 43}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        response = await client.post("/api/v1/activation/check", json=body, headers=headers)
        assert response.status == 403
    same = await client.post("/api/v1/activation/check", json=body, headers={"Origin": ORIGIN})
    assert same.status == 410


async def test_activation_check_does_not_consume(client: TestClient[object, object], clock: FakeClock) -> None:
    context = client.context  # type: ignore[attr-defined]
    new = NewMember.parse(email="erik.lund@isecom.example", name="Erik Lund", country="CA", agency="Demo", roles=[])
    invitation = await create_member(context.store, context.clock, context.config.server_key, new, actor=None)
    for _ in range(2):
        response = await client.post(
            "/api/v1/activation/check", json={"token": invitation.activation_token}, headers={"Origin": ORIGIN}
        )
        assert response.status == 200
        assert (await response.json())["name"] == "Erik Lund"


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"token=abc", "application/x-www-form-urlencoded", 400),
        (b'{"token": 5}', "application/json", 400),
    ],
)
async def test_bad_input_gets_a_clear_error(
    client: TestClient[object, object], data: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/api/v1/activation/check", data=data, headers={"Origin": ORIGIN, "Content-Type": content_type}
    )
    assert response.status == status
    assert (await response.json())["error"]["code"] == "input.invalid"


async def test_oversized_requests_get_413(client: TestClient[object, object], cfg: Config) -> None:
    import io

    big = io.BytesIO(b'{"token": "' + b"x" * (cfg.max_request_bytes + 10) + b'"}')
    response = await client.post(
        "/api/v1/activation/check", data=big, headers={"Origin": ORIGIN, "Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "input.too_large"

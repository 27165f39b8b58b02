"""The public pages in a real browser: languages, CSP, libsodium, keyboard use, activation links, SRI."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response

from isecom.types import Language
from tests.browser.conftest import Watcher, expected_refusals, watch
from tests.conftest import LiveServer
from webmail.i18n import Catalogs

pytestmark = pytest.mark.browser

CATALOGS = Catalogs.load(Language.EN)
LANDING_H1 = "Secure mail for asset-recovery Focal Points"
# mei.tan is never activated (test_membership_flow activates lina.moreau, paul.girard, camille.roux and
# ada.admin; test_signin_flow its own members): any sign-in gets the one answer for every failure.
# Activation links are only checked here, never consumed.
SIGNIN_FAILED = "Sign-in failed. Check your email address, password and authentication code."
ACTIVATION_MISSING = "This page needs the full activation link from your invitation."
ACTIVATION_INVALID = "This link is not valid: it may have expired or already been used."
ACTIVATION_VALID = "This activation link is valid for %(name)s (%(email)s) until %(date)s."
DEMO_LINE = re.compile(r"^\s+(?P<email>\S+@\S+): (?P<url>https?://\S+/activate)#(?P<token>\S+)$", re.MULTILINE)


def translated(lang: str, message: str) -> str:
    return CATALOGS.get(Language(lang)).gettext(message)


def html_lang(page: Page) -> tuple[str | None, str | None]:
    return page.get_attribute("html", "lang"), page.get_attribute("html", "dir")


def demo_token(server: LiveServer, email: str) -> str:
    links = {match["email"]: match["token"] for match in DEMO_LINE.finditer(server.demo_output)}
    assert email in links, f"no activation link for {email} in the demo output:\n{server.demo_output}"
    return links[email]


# --- 1. Landing page in every language ----------------------------------------------------------


def test_landing_page_in_every_language_through_the_switcher(
    watched: tuple[Page, Watcher], context: BrowserContext, demo_server: LiveServer
) -> None:
    page, watcher = watched
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert html_lang(page) == ("en", "ltr")
    assert page.text_content("h1") == LANDING_H1
    watcher.assert_clean(page)

    def landing_document(response: Response) -> bool:
        return response.url == f"{demo_server.url}/" and response.request.resource_type == "document"

    for lang in ("fr", "es", "ar", "en"):
        link = page.locator(f'nav.languages a[hreflang="{lang}"]')
        assert link.get_attribute("href") == f"/lang/{lang}?next=/"
        with page.expect_response(
            lambda r: r.url == f"{demo_server.url}/" and r.request.resource_type == "document"
        ) as info:
            link.click()
        response = info.value
        page.wait_for_load_state("load")
        assert response.status == 200, lang
        assert response.headers.get("content-language") == lang
        switch = response.request.redirected_from
        assert switch is not None and urlsplit(switch.url).path == f"/lang/{lang}", "the link did not go through /lang"
        assert {c["name"]: c["value"] for c in context.cookies()}.get("lang") == lang

        assert html_lang(page) == (lang, "rtl" if lang == "ar" else "ltr")
        h1 = page.text_content("h1")
        assert h1 == translated(lang, LANDING_H1)
        if lang != "en":
            assert h1 != LANDING_H1, f"the {lang} landing page is not translated"
        current = page.locator('nav.languages a[aria-current="true"]')
        assert current.count() == 1 and current.get_attribute("hreflang") == lang
        watcher.assert_clean(page)


@pytest.mark.parametrize(
    ("options", "lang"),
    [
        ({"extra_http_headers": {"Accept-Language": "fr-CA,fr;q=0.9"}}, "fr"),
        ({"extra_http_headers": {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}}, "es"),
        ({"extra_http_headers": {"Accept-Language": "ar-JO,ar;q=0.9"}}, "ar"),
        ({"extra_http_headers": {"Accept-Language": "de-DE,de;q=0.9,fr;q=0.8"}}, "fr"),
        ({"extra_http_headers": {"Accept-Language": "de-DE,de;q=0.9"}}, "en"),
        ({"locale": "fr-CA"}, "fr"),
        ({"locale": "ar-EG"}, "ar"),
    ],
    ids=["fr-CA", "es-MX", "ar-JO", "de-then-fr", "de-only", "locale-fr-CA", "locale-ar-EG"],
)
def test_landing_page_follows_accept_language(
    new_context: Callable[..., BrowserContext], options: dict[str, Any], lang: str
) -> None:
    page, watcher = watch(new_context(**options))
    response = page.goto("/")
    assert response is not None and response.status == 200
    sent = options.get("extra_http_headers", {}).get("Accept-Language") or options["locale"]
    assert response.request.headers.get("accept-language") == sent
    assert response.headers.get("content-language") == lang
    assert html_lang(page) == (lang, "rtl" if lang == "ar" else "ltr")
    assert page.text_content("h1") == translated(lang, LANDING_H1)
    if lang != "en":
        assert page.text_content("h1") != LANDING_H1
    watcher.assert_clean(page)


# --- 2. Sign-in page ----------------------------------------------------------------------------


def test_signin_loads_libsodium_under_the_csp_and_reports_on_submit(
    watched: tuple[Page, Watcher], demo_server: LiveServer
) -> None:
    page, watcher = watched
    vendor: list[str] = []
    page.on("response", lambda r: vendor.append(urlsplit(r.url).path) if "/vendor/" in r.url and r.ok else None)
    response = page.goto("/signin")
    assert response is not None and response.status == 200
    assert "script-src 'self' 'wasm-unsafe-eval'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")
    assert page.evaluate("() => document.documentElement.dataset.sodium") == "ready"
    assert sorted(path.rsplit("/", 1)[-1] for path in vendor) == ["libsodium-sumo.mjs", "libsodium-wrappers.mjs"]
    status = page.locator("#signin-status")
    assert status.text_content() == ""

    page.fill("#username", "mei.tan@isecom.example")
    page.fill("#password", "correct horse battery staple")
    page.fill("#totp", "123456")
    with page.expect_response("**/api/v1/auth/login") as login:
        page.click("#signin-form button[type=submit]")
    assert login.value.status == 401
    status.filter(has_text=SIGNIN_FAILED).wait_for()
    assert status.get_attribute("class") == "status error"
    assert page.url.endswith("/signin"), "the form navigated instead of being handled by signin.js"
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {"/api/v1/auth/login": 401}))


def test_signin_form_works_with_the_keyboard(watched: tuple[Page, Watcher], demo_server: LiveServer) -> None:
    page, watcher = watched
    page.goto("/signin")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")

    def focused() -> str:
        return page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || `${e.tagName.toLowerCase()}[type=${e.getAttribute('type')}]`; }"
        )

    page.focus("#username")
    page.keyboard.type("mei.tan@isecom.example")
    assert focused() == "username"
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Tab")
    assert focused() == "totp"
    page.keyboard.type("123456")
    page.keyboard.press("Tab")
    assert focused() == "button[type=submit]"
    assert page.evaluate("() => document.activeElement.form && document.activeElement.form.id") == "signin-form"
    page.keyboard.press("Enter")
    status = page.locator("#signin-status")
    status.filter(has_text=SIGNIN_FAILED).wait_for()
    assert status.get_attribute("class") == "status error"

    # The typed values went where the focus said they would.
    assert page.input_value("#username") == "mei.tan@isecom.example"
    assert page.input_value("#password") == "correct horse battery staple"
    assert page.input_value("#totp") == "123456"
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {"/api/v1/auth/login": 401}))


# --- 3. Activation page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "email", "name"),
    [("en", "mei.tan@isecom.example", "Mei Tan"), ("ar", "rania.haddad@isecom.example", "Rania Haddad")],
)
def test_activation_with_a_valid_demo_token_names_the_member(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, lang: str, email: str, name: str
) -> None:
    token = demo_token(demo_server, email)
    page, watcher = watch(new_context(extra_http_headers={"Accept-Language": lang}))
    with page.expect_response("**/api/v1/activation/check") as check:
        page.goto(f"/activate#{token}")
    assert check.value.status == 200
    status = page.locator("#activation-status")
    status.and_(page.locator(".ok")).wait_for()
    assert status.get_attribute("class") == "status ok"
    text = status.text_content() or ""
    assert name in text and email in text
    before, _, _ = translated(lang, ACTIVATION_VALID).partition("%(name)s")
    assert text.startswith(before), f"not the {lang} message: {text!r}"
    page.locator("#step-password").wait_for()  # the first step of the activation follows
    assert html_lang(page) == (lang, "rtl" if lang == "ar" else "ltr")
    watcher.assert_clean(page)


def test_activation_with_a_garbage_token_shows_an_error(watched: tuple[Page, Watcher], demo_server: LiveServer) -> None:
    page, watcher = watched
    with page.expect_response("**/api/v1/activation/check") as check:
        page.goto("/activate#not-a-real-token")
    assert 400 <= check.value.status < 500, check.value.status
    status = page.locator("#activation-status")
    status.and_(page.locator(".error")).wait_for()
    assert status.text_content() == ACTIVATION_INVALID
    assert status.get_attribute("class") == "status error"
    assert page.is_hidden("#activation-steps")

    def refused_check(message: ConsoleMessage) -> bool:
        # Chromium logs every 4xx response as a console error; this one is the answer the page expects.
        return (
            message.type == "error"
            and message.location.get("url") == f"{demo_server.url}/api/v1/activation/check"
            and message.text.startswith(
                f"Failed to load resource: the server responded with a status of {check.value.status}"
            )
        )

    watcher.assert_clean(page, allow_console=refused_check)


def test_activation_without_a_fragment_asks_for_the_full_link(watched: tuple[Page, Watcher]) -> None:
    page, watcher = watched
    checks: list[str] = []
    page.on("request", lambda r: checks.append(r.url) if "/api/" in r.url else None)
    response = page.goto("/activate")
    assert response is not None and response.status == 200
    status = page.locator("#activation-status")
    status.and_(page.locator(".error")).wait_for()
    assert status.text_content() == ACTIVATION_MISSING
    assert status.get_attribute("class") == "status error"
    assert page.is_hidden("#activation-steps")
    assert checks == [], "no token, so nothing should be sent"
    watcher.assert_clean(page)


# --- 4. Subresource integrity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "scripts"), [("/", 0), ("/signin", 1), ("/activate", 1), ("/apply", 1), ("/apply/confirm", 1)]
)
def test_scripts_and_stylesheets_are_same_origin_with_sri(
    watched: tuple[Page, Watcher], context: BrowserContext, demo_server: LiveServer, path: str, scripts: int
) -> None:
    page, watcher = watched
    page.goto(path)
    page.wait_for_load_state("networkidle")
    resources = page.evaluate(
        """() => [
          ...[...document.querySelectorAll("script")].map((e) => ({
            tag: "script", url: e.getAttribute("src") && e.src, integrity: e.getAttribute("integrity") })),
          ...[...document.querySelectorAll("link[rel~=stylesheet], link[rel=modulepreload], link[rel=preload]")]
            .map((e) => ({ tag: `link rel=${e.rel}`, url: e.getAttribute("href") && e.href,
                           integrity: e.getAttribute("integrity") })),
        ]"""
    )
    assert sum(r["tag"] == "script" for r in resources) >= scripts
    assert sum(r["tag"] == "link rel=stylesheet" for r in resources) >= 1
    origin = urlsplit(demo_server.url)
    for resource in resources:
        assert resource["url"], f"inline {resource['tag']} on {path}"
        url = urlsplit(resource["url"])
        assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), resource
        assert url.path.startswith("/static/"), resource
        integrity = resource["integrity"] or ""
        assert integrity.startswith("sha384-"), resource
        body = context.request.get(resource["url"]).body()
        digest = base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
        assert integrity == f"sha384-{digest}", f"integrity does not match the served file: {resource}"
    watcher.assert_clean(page)

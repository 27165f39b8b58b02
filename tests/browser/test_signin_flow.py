"""Activation, sign-in, sessions and sign-out in a real browser, against the live demo server.

The demo server is shared by every browser test and activation consumes a link, so these tests
use demo members nobody else activates: otieno.mwangi (activated here in the browser),
sofia.almeida (a wrong code first, then activated), diego.fuentes (activated by the Python
client, signed in by the browser) and erik.lund (weak passwords only, never activated).

TOTP: the server accepts one step of drift either way and refuses a step not newer than the last
one it accepted, so every sign-in uses ``next_code`` (a step it has not seen; it waits for the
clock when there is none left), and the browser activation uses the step before now so that its
two sign-ins need no wait. Failed sign-ins here and in test_pages.py stay well under the
per-address throttle of isecom.services.throttle (20 in 15 minutes).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page

from isecom.crypto import keys, keytrans
from isecom.crypto.encoding import b64d
from tests.browser.conftest import expected_refusals, watch
from tests.browser.test_pages import demo_token
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser

PASSWORD = "violet canoe harbour trumpet 42"  # fictional
SIGNIN_FAILED = "Sign-in failed. Check your email address, password and authentication code."
THROTTLED = "Too many attempts. Please wait and try again."
WEAK = "Choose a stronger password: it needs at least 12 characters and a strength of at least “strong”."
MISMATCH = "The two passwords do not match."
TOTP_WRONG = "The authentication code is not correct; check the time on your phone."
ACK = "Confirm that you have stored your recovery code."
REVOKED = "The session was revoked."
RECOVERY_CODE = re.compile(r"^[A-Z2-7]{4}(?:-[A-Z2-7]{4}){5}-[A-Z2-7]{2}$")
KEYS_TIMEOUT_MS = 30_000  # libsodium in a worker plus Argon2id with 64 MiB
STEP = 30


def next_code(secret: str, last_step: int) -> tuple[str, int]:
    """A TOTP code the server takes now: a step after ``last_step``, within one of the clock."""
    while True:
        now = int(time.time()) // STEP
        if last_step <= now:
            step = max(last_step + 1, now)
            return pyotp.TOTP(secret).at(step * STEP), step
        time.sleep((now + 1) * STEP - time.time() + 0.2)


def plain(text: str | None) -> str:
    """Text as read, without the Unicode isolates (FSI, PDI) around the values the page fills in."""
    return (text or "").replace("\u2068", "").replace("\u2069", "")


def drifted_code(secret: str) -> tuple[str, int]:
    """The code of the step before now, which the server still takes (one step of drift): it
    leaves two steps for sign-ins without waiting. Waits out the last seconds of a step first."""
    if STEP - time.time() % STEP < 15:
        time.sleep(STEP - time.time() % STEP + 0.2)
    step = int(time.time()) // STEP - 1
    return pyotp.TOTP(secret).at(step * STEP), step


def api_paths(page: Page) -> list[str]:
    """Record the path of every API request the page makes from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url.split("/", 3)[-1]) if "/api/" in r.url else None)
    return seen


def activate_in_browser(page: Page, token: str, password: str = PASSWORD) -> str:
    """Open the link, choose the password and wait for the TOTP step; returns the TOTP secret."""
    page.goto(f"/activate#{token}")
    page.locator("#step-password").wait_for()
    page.fill("#new-password", password)
    page.fill("#confirm-password", password)
    page.click("#step-password button[type=submit]")
    page.locator("#step-totp").wait_for(timeout=KEYS_TIMEOUT_MS)
    assert (page.get_attribute("#totp-qr", "src") or "").startswith("data:image/svg+xml")
    return (page.text_content("#totp-secret") or "").replace(" ", "")


def sign_in(page: Page, email: str, password: str, code: str) -> None:
    if urlsplit(page.url).path != "/signin":
        # Not again when a link just led here: a second load would abort the first one's icon request.
        page.goto("/signin")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")
    page.fill("#username", email)
    page.fill("#password", password)
    page.fill("#totp", code)
    page.click("#signin-form button[type=submit]")


def signed_in(page: Page, name: str) -> None:
    page.wait_for_url("**/home", timeout=KEYS_TIMEOUT_MS)
    assert page.text_content("h1") == name
    page.locator("#sessions-list tr").first.wait_for()


def session_rows(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#sessions-list tr").all_inner_texts()]


# --- activation: what the page refuses before any request --------------------------------------


def test_weak_or_unconfirmed_passwords_are_refused_before_any_request(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    page, watcher = watch(new_context())
    page.goto(f"/activate#{demo_token(demo_server, 'erik.lund@isecom.example')}")
    page.locator("#step-password").wait_for()
    sent = api_paths(page)
    error = page.locator("#password-error")

    # Keyboard only: type, Tab to the confirmation, Enter submits.
    page.focus("#new-password")
    for weak, warning in [
        ("password1234", "similar to a commonly used password"),
        ("abcdefghijkl", "Sequences such as"),
        ("Zq#8vN!2xLp", ""),  # strong, but 11 characters
    ]:
        page.fill("#new-password", "")
        page.keyboard.type(weak)
        if warning:
            assert page.text_content("#strength-label") in ("Very weak", "Weak", "Fair")
            assert warning in (page.text_content("#strength-warning") or "")
        page.keyboard.press("Tab")
        page.keyboard.type(weak)
        page.keyboard.press("Enter")
        error.filter(has_text=WEAK).wait_for()
        assert page.get_attribute("#new-password", "aria-invalid") == "true"
        assert page.evaluate("() => document.activeElement.id") == "new-password"
        page.fill("#confirm-password", "")

    page.fill("#new-password", PASSWORD)
    assert page.text_content("#strength-label") in ("Strong", "Very strong")
    assert page.locator("#password-rules li.met").count() == 2
    page.fill("#confirm-password", PASSWORD + "!")
    page.click("#step-password button[type=submit]")
    error.filter(has_text=MISMATCH).wait_for()
    assert page.get_attribute("#confirm-password", "aria-invalid") == "true"

    assert page.is_visible("#step-password") and page.is_hidden("#step-keys")
    assert sent == [], f"the page sent {sent} for a password it refuses"
    watcher.assert_clean(page)


def test_a_wrong_code_at_activation_is_a_field_error_and_the_link_still_works(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    page, watcher = watch(new_context())
    token = demo_token(demo_server, "sofia.almeida@isecom.example")
    secret = activate_in_browser(page, token)
    valid = {pyotp.TOTP(secret).at(time.time() + drift * STEP) for drift in (-1, 0, 1, 2)}
    wrong = next(code for code in (f"{n:06d}" for n in range(123456, 999999, 111111)) if code not in valid)

    page.fill("#totp-code", "12345")
    page.click("#step-totp button[type=submit]")
    page.locator("#totp-error").filter(has_text="six-digit code").wait_for()
    page.fill("#totp-code", wrong)
    page.click("#step-totp button[type=submit]")
    page.locator("#step-recovery").wait_for()
    page.check("#recovery-stored")
    with page.expect_response("**/api/v1/activation/complete") as refused:
        page.click("#step-recovery button[type=submit]")
    assert refused.value.status == 400
    assert refused.value.json()["error"]["field"] == "totp_code"

    page.locator("#totp-error").filter(has_text=TOTP_WRONG).wait_for()
    assert page.is_visible("#step-totp") and page.is_hidden("#step-recovery")
    assert page.get_attribute("#totp-code", "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "totp-code"

    # Nothing was consumed: the right code now finishes (the recovery code was confirmed already).
    with page.expect_response("**/api/v1/activation/complete") as done:
        page.fill("#totp-code", pyotp.TOTP(secret).now())
        page.press("#totp-code", "Enter")
    assert done.value.status == 201
    page.locator("#step-done").wait_for()
    assert plain(page.text_content("#done-title")) == "Your account is active, Sofia Almeida."
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {"/api/v1/activation/complete": 400}))


# --- the whole way through ------------------------------------------------------------------------


def test_activate_sign_in_revoke_a_session_and_sign_out(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    email, name = "otieno.mwangi@isecom.example", "Otieno Mwangi"
    first, first_watch = watch(new_context())
    sent = api_paths(first)

    # Activation in the browser.
    secret = activate_in_browser(first, demo_token(demo_server, email))
    code, activation_step = drifted_code(secret)
    first.fill("#totp-code", code)
    first.click("#step-totp button[type=submit]")
    first.locator("#step-recovery").wait_for()
    recovery_code = first.text_content("#recovery-code") or ""
    assert RECOVERY_CODE.match(recovery_code), recovery_code
    first.click("#step-recovery button[type=submit]")
    first.locator("#recovery-error").filter(has_text=ACK).wait_for()
    assert "activation/complete" not in " ".join(sent), "finished without the recovery code confirmed"
    first.check("#recovery-stored")
    with first.expect_response("**/api/v1/activation/complete") as completing:
        first.click("#step-recovery button[type=submit]")
    assert completing.value.status == 201
    first.locator("#step-done").wait_for()
    assert plain(first.text_content("#done-title")) == f"Your account is active, {name}."
    assert first.text_content("#recovery-code") == "", "the recovery code stays on the page"
    material: dict[str, Any] = completing.value.request.post_data_json
    assert PASSWORD not in json.dumps(material)
    check_material(material, bytes.fromhex(completing.value.json()["member"]["id"]), recovery_code)

    # A wrong password gets the one answer for every failure.
    first.click("#step-done a")
    first.wait_for_url("**/signin")
    code, _ = next_code(secret, activation_step)
    sign_in(first, "Otieno.Mwangi@isecom.example", "violet canoe harbour trumpet 43", code)
    first.locator("#signin-status").filter(has_text=SIGNIN_FAILED).wait_for(timeout=KEYS_TIMEOUT_MS)
    assert first.get_attribute("#signin-status", "class") == "status error"
    assert first.url.endswith("/signin")

    # The right one, in mixed case: lower-cased in the transcript, and the keys open.
    code, step = next_code(secret, activation_step)
    with first.expect_response("**/api/v1/auth/login") as login:
        sign_in(first, "Otieno.Mwangi@isecom.example", PASSWORD, code)
    assert login.value.status == 200
    signed_in(first, name)  # the page opened the wrapped bundle before it went on to /home
    home = first.locator("#home")
    for fact in (email, "Kenya", "Demo Ethics Commission"):
        assert fact in (home.text_content() or "")
    rows = session_rows(first)
    assert len(rows) == 1 and "This session" in rows[0], rows
    assert first.is_hidden("#revoke-others")

    # A second browser signs in (the next time step), the first revokes it.
    second, second_watch = watch(new_context())
    code, step = next_code(secret, step)
    sign_in(second, email, PASSWORD, code)
    signed_in(second, name)
    assert len(session_rows(second)) == 2

    first.reload()
    first.locator("#sessions-list tr").nth(1).wait_for()
    other = first.locator("#sessions-list tr", has=first.locator("button"))
    assert other.count() == 1 and first.locator("#sessions-list tr.current").count() == 1
    assert "Chrome on Linux" in plain(other.text_content())
    with first.expect_response(lambda r: r.request.method == "DELETE") as revoke:
        other.locator("button").click()
    assert revoke.value.status == 204
    first.locator("#sessions-status").filter(has_text=REVOKED).wait_for()
    assert len(session_rows(first)) == 1

    second.reload()
    second.wait_for_url("**/signin")

    # Sign out: the session is gone, /home sends the browser to sign in.
    first.click("#sign-out")
    first.wait_for_url("**/signin")
    first.wait_for_load_state("networkidle")  # the icon is fetched after "load"; leaving now would abort it
    first.goto("/home")
    assert first.url.endswith("/signin")

    first_watch.assert_clean(first, allow_console=expected_refusals(demo_server.url, {"/api/v1/auth/login": 401}))
    second_watch.assert_clean(second)


def check_material(material: dict[str, Any], uid: bytes, recovery_code: str) -> None:
    """The browser's keys, checked by the Python implementation: the recovery code shown opens the
    recovery wrap, the password opens the password wrap, both hold the identity whose public keys
    were sent, and the login key is the one the password derives."""
    assert set(material) == {
        "token",
        *("salt", "params", "auth_pk", "wrapped_password", "wrapped_recovery", "sig_pk", "enc_pk", "totp_code"),
        "key_statement",
    }
    assert material["params"] == keys.DEFAULT_PARAMS
    # The browser's key statement, opened by the Python implementation (PROTOCOL.md §9.2).
    statement = keytrans.parse_key_statement(b64d(material["key_statement"]))
    assert (statement.uid, statement.seqno, statement.prev) == (uid, 0, keytrans.ZERO32)
    assert statement.sig_pk == b64d(material["sig_pk"]) and statement.enc_pk == b64d(material["enc_pk"])
    by_code, version = keys.unwrap_bundle(
        b64d(material["wrapped_recovery"]), keys.recovery_key(recovery_code), uid=uid, kind=keys.WRAP_RECOVERY
    )
    assert version == 1
    assert by_code.sig_pk == b64d(material["sig_pk"]) and by_code.current.pk == b64d(material["enc_pk"])
    derived = keys.derive_password_keys(PASSWORD, b64d(material["salt"], size=16), material["params"])
    assert derived.auth_pk == b64d(material["auth_pk"])
    by_password, version = keys.unwrap_bundle(
        b64d(material["wrapped_password"]), derived.kek, uid=uid, kind=keys.WRAP_PASSWORD
    )
    assert version == 1 and by_password == by_code


# --- the Python client and the browser, and throttling ------------------------------------------


def test_the_browser_signs_in_where_the_python_client_activated_and_signs_out_the_others(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, tmp_path: Path
) -> None:
    email, name = "diego.fuentes@isecom.example", "Diego Fuentes"
    (tmp_path / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    link = f"{demo_server.url}/activate#{demo_token(demo_server, email)}"
    files = ["--totp-secret-out", str(tmp_path / "totp"), "--recovery-code-out", str(tmp_path / "recovery")]
    done = run_cli("client", "activate", link, "--password-file", str(tmp_path / "password"), *files)
    activation_step = int(time.time()) // STEP  # the CLI used the code of this step or the one before
    assert done.returncode == 0, done.stderr
    secret = (tmp_path / "totp").read_text(encoding="utf-8").strip()

    # English in one browser, Arabic (right to left) in another.
    first, first_watch = watch(new_context())
    code, step = next_code(secret, activation_step)
    sign_in(first, email, PASSWORD, code)
    signed_in(first, name)
    second, second_watch = watch(new_context(extra_http_headers={"Accept-Language": "ar"}))
    code, step = next_code(secret, step)
    sign_in(second, email, PASSWORD, code)
    signed_in(second, name)
    assert (second.get_attribute("html", "lang"), second.get_attribute("html", "dir")) == ("ar", "rtl")
    assert "تشيلي" in (second.text_content("#home") or "")  # Chile, in Arabic

    first.reload()
    first.locator("#sessions-list tr").nth(1).wait_for()
    with first.expect_response("**/api/v1/sessions/revoke-others") as revoked:
        first.click("#revoke-others")
    assert revoked.value.json() == {"revoked": 1}
    first.locator("#sessions-status.ok").wait_for()
    assert plain(first.text_content("#sessions-status")) == "Other sessions signed out: 1."
    assert len(session_rows(first)) == 1 and first.is_hidden("#revoke-others")
    second.reload()
    second.wait_for_url("**/signin")

    first.click("#sign-out")
    first.wait_for_url("**/signin")
    first_watch.assert_clean(first)
    second_watch.assert_clean(second)


def test_a_throttled_sign_in_shows_the_servers_answer(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    """Six failures block the account (isecom.services.throttle); the page then says so."""
    username = "nobody.here@isecom.example"
    for _ in range(6):
        body = {"username": username, "challenge_id": "A" * 22, "totp_code": "000000", "proof": "A" * 86}
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{demo_server.url}/api/v1/auth/login",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Origin": demo_server.url},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback
        assert refused.value.code == 401
    page, watcher = watch(new_context())
    with page.expect_response("**/api/v1/auth/login") as login:
        sign_in(page, username, PASSWORD, "123456")
    assert login.value.status == 429
    page.locator("#signin-status").filter(has_text=THROTTLED).wait_for()
    assert page.get_attribute("#signin-status", "class") == "status error"
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {"/api/v1/auth/login": 429}))

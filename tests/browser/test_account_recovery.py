"""Password change and recovery in a real browser, checked with the Python client (isecom.client).

The members here are made for these tests with ``isecom admin create-member`` (no demo member is
used): ines.duarte changes her password on /account/password, tomas.herrera recovers his account
on /recover, and a third member (lea.novak) is never activated. Both checks go across
implementations: what the browser wraps and signs (PROTOCOL.md §4.1) the Python client opens,
and the reverse.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from playwright.sync_api import BrowserContext

from isecom.client import Client, ClientError
from isecom.client.session import Activated
from tests.browser.conftest import expected_refusals, watch
from tests.browser.test_membership_flow import translated
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, STEP, next_code, plain, sign_in, signed_in
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser

NEW_PASSWORD = "marble lantern orchard velvet 57"  # fictional
THIRD_PASSWORD = "copper meadow falcon ribbon 83"  # fictional
LINK = re.compile(r"/activate#(?P<token>\S+)$", re.MULTILINE)
T = TypeVar("T")


def create_member(server: LiveServer, email: str, name: str, country: str, agency: str) -> str:
    """A pre-approved member made by the CLI; returns the activation token."""
    made = run_cli(
        "admin", "create-member", "--email", email, "--name", name, "--country", country, "--agency", agency,
        data=server.data,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    match = LINK.search(made.stdout)
    assert match, made.stdout
    return match["token"]


def in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run the async Python client beside Playwright's sync loop (which owns this thread)."""

    def run() -> T:
        async def main() -> T:
            return await make()

        return asyncio.run(main())

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=120)


def activate_with_client(server: LiveServer, token: str) -> tuple[Activated, int]:
    """Activation by the Python client with the code of the step before now (one step of drift)."""
    if STEP - time.time() % STEP < 15:
        time.sleep(STEP - time.time() % STEP + 0.2)
    step = int(time.time()) // STEP - 1

    async def activate() -> Activated:
        async with Client(server.url) as client:
            from datetime import UTC, datetime

            return await client.activate(token, PASSWORD, now=datetime.fromtimestamp(step * STEP, UTC))

    return in_thread(activate), step


def client_sign_in(server: LiveServer, email: str, password: str, code: str) -> object:
    async def go() -> object:
        async with Client(server.url) as client:
            return await client.sign_in(email, password, code)

    return in_thread(go)


def test_change_the_password_in_the_browser_then_sign_in_with_the_python_client(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    email, name = "ines.duarte@isecom.example", "Inês Duarte"
    token = create_member(demo_server, email, name, "PT", "Demo Asset Recovery Office PT")
    activated, step = activate_with_client(demo_server, token)
    secret = activated.totp_secret

    page, watcher = watch(new_context())
    code, step = next_code(secret, step)
    sign_in(page, email, PASSWORD, code)
    signed_in(page, name)
    page.click("a[href='/account/password']")
    page.wait_for_url("**/account/password")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")
    assert "signs you out of every other browser" in (page.text_content("#password-signout") or "")

    # Refused in the page before any request: a weak new password.
    page.fill("#current-password", PASSWORD)
    page.fill("#new-password", "password1234")
    page.fill("#confirm-password", "password1234")
    page.fill("#totp", "123456")
    page.click("#password-form button[type=submit]")
    page.locator("#password-error").filter(has_text="Choose a stronger password").wait_for()

    # A wrong current password is caught in this browser: the keys do not open.
    page.fill("#current-password", "not my password at all 99")
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#password-form button[type=submit]")
    page.locator("#current-error").filter(has_text="current password or the authentication code").wait_for(
        timeout=KEYS_TIMEOUT_MS
    )

    page.fill("#current-password", PASSWORD)
    code, step = next_code(secret, step)
    page.fill("#totp", code)
    with page.expect_response("**/api/v1/account/password", timeout=KEYS_TIMEOUT_MS) as changed:
        page.click("#password-form button[type=submit]")
    assert changed.value.status == 204
    page.locator("#password-done").wait_for()
    assert "Every other session has been signed out" in (page.text_content("#password-done") or "")
    watcher.assert_clean(page)

    # Cross-implementation: the Python client signs in with the new password and opens the
    # browser's wrap (bundle version 2, the same identity); the old password is refused.
    code, step = next_code(secret, step)
    with pytest.raises(ClientError) as refused:
        client_sign_in(demo_server, email, PASSWORD, code)
    assert refused.value.status == 401
    signed = client_sign_in(demo_server, email, NEW_PASSWORD, code)
    assert signed.identity == activated.identity  # type: ignore[attr-defined]
    assert signed.bundle_version == 2  # type: ignore[attr-defined]


def test_recover_with_the_recovery_code_in_the_browser(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    email, name = "tomas.herrera@isecom.example", "Tomás Herrera"
    token = create_member(demo_server, email, name, "MX", "Demo Financial Intelligence Unit MX")
    activated, step = activate_with_client(demo_server, token)
    secret = activated.totp_secret

    page, watcher = watch(new_context())
    page.goto("/signin")
    page.click("#forgot-password")
    page.wait_for_url("**/recover")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")

    # A wrong code fails in this browser, like an unknown address would; nothing is completed.
    page.fill("#recovery-email", email)
    page.fill("#recovery-code-input", "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA")
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#recovery-form button[type=submit]")
    page.locator("#recovery-code-error").filter(has_text="does not open the keys").wait_for(timeout=KEYS_TIMEOUT_MS)

    page.fill("#recovery-code-input", activated.recovery_code.lower().replace("-", " "))
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#recovery-form button[type=submit]")
    page.locator("#recovery-finish").wait_for(timeout=KEYS_TIMEOUT_MS)
    new_code = page.text_content("#recovery-new-code") or ""
    assert re.fullmatch(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){5}-[A-Z2-7]{2}", new_code)
    assert new_code != activated.recovery_code

    page.click("#recovery-finish button[type=submit]")  # not confirmed yet
    page.locator("#recovery-stored-error").filter(has_text="stored your new recovery code").wait_for()
    page.check("#recovery-stored")
    code, step = next_code(secret, step)
    page.fill("#recovery-totp", code)
    with page.expect_response("**/api/v1/recovery/complete") as completed:
        page.click("#recovery-finish button[type=submit]")
    assert completed.value.status == 200
    page.locator("#recovery-done").wait_for()
    assert page.text_content("#recovery-new-code") == ""

    # The new password signs in, in the browser.
    page.click("#recovery-done a[href='/signin']")
    code, step = next_code(secret, step)
    sign_in(page, email, NEW_PASSWORD, code)
    signed_in(page, name)
    watcher.assert_clean(page)

    # Cross-implementation: the Python client opens the browser's new recovery wrap with the new
    # code; the old code no longer opens anything.
    async def recover(with_code: str) -> Activated:
        async with Client(demo_server.url) as client:
            return await client.recover(email, with_code, THIRD_PASSWORD, next_code(secret, step)[0])

    with pytest.raises(ClientError) as refused:
        in_thread(lambda: recover(activated.recovery_code))
    assert refused.value.code == "recovery.code"
    recovered = in_thread(lambda: recover(new_code))
    assert recovered.identity == activated.identity


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_the_recovery_page_says_plainly_what_losing_everything_means(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, lang: str
) -> None:
    page, watcher = watch(new_context(extra_http_headers={"Accept-Language": lang}))
    page.goto("/recover")
    assert page.get_attribute("html", "lang") == lang
    lost = plain(page.text_content("#lost-everything"))
    for sentence in (
        "Then your keys cannot be recovered. Nobody can open them: not you, not the administrators "
        "and not the server. That is what end-to-end encryption means.",
        "Mail encrypted to your old keys stays unreadable for good, also after you get new keys. "
        "Senders have to send it again.",
    ):
        assert translated(lang, sentence) in lost
    page.wait_for_load_state("networkidle")
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {}))

"""Renewing the encryption key in a real browser (PROTOCOL.md §4.2), checked with the Python client.

The member (valentina.rojas, Chile, a country no other browser test uses) is made for this test
with ``isecom admin create-member`` and activated by the Python client. She renews her key on
/account/keys; then the Python client signs in and opens the browser's new password wrap (both
keys, the old one first), the Python key ring sees key statement 1 with the new key in the log,
and the home page's self-audit recognises the new key as her own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Response

from isecom.client import Client
from isecom.client.keyring import KeyProblem, KeyRing
from isecom.client.session import SignedIn
from isecom.crypto import khistory
from tests.browser.conftest import watch
from tests.browser.test_account_recovery import activate_with_client, create_member, in_thread
from tests.browser.test_keylog import fresh_member_404
from tests.browser.test_membership_flow import translated, wait_for_mail
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, next_code, plain, sign_in, signed_in
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

WAIT_MS = 40_000  # the new statement waits for the next checkpoint (5 s), then libsodium
WRONG_CODE = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA"


def rotation_posted(response: Response) -> bool:
    return response.url.endswith("/api/v1/account/rotate") and response.request.method == "POST"


def signed_in_with_keyring(server: LiveServer, email: str, code: str) -> tuple[SignedIn, khistory.Verified]:
    """The Python client signs in, then its key ring fetches the member's keys once checkpointed."""
    ring = KeyRing(root_pk=bytes.fromhex((server.data / "root.pub").read_text().strip()), origin=server.url)

    async def go() -> tuple[SignedIn, khistory.Verified]:
        async with Client(server.url) as client:
            signed = await client.sign_in(email, PASSWORD, code)
            deadline = time.monotonic() + 30
            while True:
                try:
                    return signed, await ring.fetch(client, member_id=signed.member["id"])
                except KeyProblem as problem:
                    if problem.check != "pending" or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(1)

    return in_thread(go)


def test_renew_the_encryption_key_in_the_browser(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    email, name = "valentina.rojas@isecom.example", "Valentina Rojas"
    token = create_member(demo_server, email, name, "CL", "Demo Fiscalía CL")
    activated, step = activate_with_client(demo_server, token)
    secret = activated.totp_secret

    page, watcher = watch(new_context())
    code, step = next_code(secret, step)
    sign_in(page, email, PASSWORD, code)
    signed_in(page, name)
    page.goto("/account/keys")
    page.wait_for_selector('html[data-sodium="ready"]', state="attached")
    about = plain(page.text_content("#rotate-about"))
    assert "still opens" in about and "safety number stay the same" in about
    assert "recovery code can still restore everything" in about

    # Refused in the page before any request: a recovery code of the wrong shape.
    page.fill("#rotate-password", PASSWORD)
    page.fill("#rotate-recovery", "ABCD")
    page.fill("#rotate-totp", "123456")
    page.click("#rotate-form button[type=submit]")
    page.locator("#rotate-recovery-error").filter(has_text="26 letters and digits").wait_for()

    # A wrong password and a wrong recovery code are caught in this browser; nothing is sent.
    page.fill("#rotate-password", "not my password at all 99")
    page.fill("#rotate-recovery", activated.recovery_code)
    page.click("#rotate-form button[type=submit]")
    page.locator("#rotate-password-error").filter(has_text="does not open your keys").wait_for(timeout=KEYS_TIMEOUT_MS)
    page.fill("#rotate-password", PASSWORD)
    page.fill("#rotate-recovery", WRONG_CODE)
    page.click("#rotate-form button[type=submit]")
    page.locator("#rotate-recovery-error").filter(has_text="recovery code does not open").wait_for(
        timeout=KEYS_TIMEOUT_MS
    )

    page.fill("#rotate-recovery", activated.recovery_code.lower().replace("-", " "))
    code, step = next_code(secret, step)
    page.fill("#rotate-totp", code)
    with page.expect_response(rotation_posted, timeout=KEYS_TIMEOUT_MS) as rotated:
        page.click("#rotate-form button[type=submit]")
    assert rotated.value.status == 200
    page.locator("#rotate-done").wait_for()
    assert page.evaluate("document.activeElement.id") == "rotate-done-title"
    detail = plain(page.text_content("#rotate-done-detail"))
    assert "key statement number 2" in detail and "holds 2 encryption keys" in detail
    wait_for_mail(demo_server, email, "Your isecom encryption key was renewed", "safety number are unchanged")

    # Cross-implementation: the Python client opens the browser's wrap (both keys, the old one
    # first, the same signing key) and its key ring sees statement 1 with the new key.
    code, step = next_code(secret, step)
    signed, verified = signed_in_with_keyring(demo_server, email, code)
    assert signed.bundle_version == 2
    assert signed.identity.sig_seed == activated.identity.sig_seed
    assert signed.identity.enc_keys[:1] == activated.identity.enc_keys and len(signed.identity.enc_keys) == 2
    assert verified.keys.seqno == 1 and verified.keys.enc_pk == signed.identity.current.pk
    assert verified.keys.sig_pk == activated.identity.sig_pk

    # The home page's self-audit knows the new key as this member's own.
    page.goto("/home")
    page.locator("#key-audit[data-state]").wait_for(timeout=WAIT_MS)
    assert page.get_attribute("#key-audit", "data-state") == "ok", page.text_content("#key-audit-status")
    watcher.assert_clean(page, allow_console=fresh_member_404(demo_server, activated))

    # The page in every language; Arabic right to left.
    for lang in ("fr", "es", "ar"):
        page.goto(f"/lang/{lang}?next=/account/keys")
        page.wait_for_url("**/account/keys")
        assert page.get_attribute("html", "lang") == lang
        assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
        assert plain(page.text_content("h1")) == translated(lang, "Renew my encryption key")

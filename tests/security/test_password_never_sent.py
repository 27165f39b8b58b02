"""Invariant 2: the password never leaves the browser — not even when JavaScript is off."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_native_form_submit_sends_no_credentials(demo_server: LiveServer) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            context = browser.new_context(java_script_enabled=False)
            page = context.new_page()
            sent: list[str] = []
            page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data or ''}"))
            page.goto(f"{demo_server.url}/signin")
            page.fill("#username", "camille.roux@isecom.example")
            page.fill("#password", "a-password-that-must-stay-here")
            page.fill("#totp", "123456")
            page.click("button[type=submit]")
            page.wait_for_load_state()
        finally:
            browser.close()
    assert sent, "the page made no request at all"
    assert not any("a-password-that-must-stay-here" in line or "123456" in line for line in sent), sent

"""The new-mail notices page (/account/notifications) in a real browser.

A new member asks for notices at an outside address; the demo server's mailer writes the
confirmation mail to its sink folder (DATA/mail-sink); the member opens the link there, signed
in, and the address is confirmed; then switches to the daily digest with the keyboard.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import plain
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
OUTSIDE = "rosa.blanc.private@mail.example.org"


def sink_mail(server: LiveServer, to: str) -> EmailMessage:
    """The mail to ``to`` that the server's mailer wrote to its sink (it runs every 2 seconds)."""
    deadline = time.monotonic() + 30
    while True:
        for path in (server.data / "mail-sink").glob("*.eml"):
            found = email.message_from_bytes(path.read_bytes(), policy=default)
            if found["To"] == to:
                return found  # type: ignore[return-value]
        assert time.monotonic() < deadline, "no mail in the sink"
        time.sleep(0.5)


def test_a_notice_address_is_confirmed_by_its_link_then_the_digest_chosen(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    rosa, step = activated(demo_server, "rosa.blanc@isecom.example", "Rosa Blanc", "FR", "Demo OCRGDF")
    page, watcher = browser_of(new_context, rosa, step)
    page.click("a[href='/account/notifications']")
    page.wait_for_url("**/account/notifications")
    page.locator("#notify-current", has_text="No notice address yet.").wait_for()
    assert page.is_disabled("input[name=mode][value=digest]")

    page.fill("#notify-address", "rosa.blanc@isecom.example")
    page.click("#address-form button[type=submit]")
    page.locator("#notify-address-error", has_text="outside isecom").wait_for()
    assert page.get_attribute("#notify-address", "aria-invalid") == "true"

    page.fill("#notify-address", OUTSIDE)
    page.press("#notify-address", "Enter")
    page.locator("#notify-current", has_text="A confirmation link was sent").wait_for()
    assert OUTSIDE in plain(page.text_content("#notify-current"))

    confirm = sink_mail(demo_server, OUTSIDE)
    link = re.search(r"https?://\S+/account/notifications#\S+", confirm.get_content())
    assert link is not None
    assert "Rosa" not in confirm.as_string()
    page.goto(link.group(0))
    page.locator("#notify-status", has_text="The address is confirmed").wait_for()
    assert "#" not in page.url  # the single-use token left the address bar
    assert OUTSIDE in plain(page.text_content("#notify-current"))
    assert page.is_checked("input[name=mode][value=immediate]")

    page.focus("input[name=mode][value=immediate]")
    page.keyboard.press("ArrowDown")  # radio group: the arrow key selects the daily digest
    assert page.is_checked("input[name=mode][value=digest]")
    page.click("#mode-form button[type=submit]")
    page.locator("#notify-status", has_text="Saved.").wait_for()
    page.reload()
    page.locator("#notify-current", has_text=OUTSIDE).wait_for()
    assert page.is_checked("input[name=mode][value=digest]")

    watcher.assert_clean(page, allowed(demo_server, {**fresh(rosa), "/api/v1/notifications/address": 400}))


def test_administrators_see_the_outbox_state_on_the_admin_page(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    odile, step = activated(demo_server, "odile.marchand@isecom.example", "Odile Marchand", "FR", "Demo Ops", "admin")
    page, watcher = browser_of(new_context, odile, step)
    page.goto("/admin")
    page.locator("#admin-tools").wait_for()
    # The demo server writes mail to its sink folder, which never fails.
    page.locator("#outbox-summary", has_text="Every mail has left").wait_for()
    assert page.is_hidden("#outbox-table")
    watcher.assert_clean(page, allowed(demo_server, fresh(odile)))

"""The knowledge library and notices in a real browser.

An administrator (Luxembourg, LU) designates a member (Malta, MT) as library editor on
/library/editors; the editor uploads a PDF from the upload page (progress bar), finds it on
/library by a word that is only in the PDF's text, and opens it. Then, writing a message, the
notice numbers typed in the body are recognised and shown with their status (the demo's notices:
CN-2026-00001 valid, AF-2025-00007 expired, CN-2026-00003 cancelled) — and only the reference
numbers, never the body, are sent to the server.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Request

from isecom.services.demo_library import tiny_pdf
from tests.browser.test_mail import open_mailbox
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_an_editor_uploads_a_pdf_found_by_its_text_and_notices_are_recognised_in_compose(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    tag = secrets.token_hex(4)
    admin, a_step = activated(demo_server, f"lib.admin.{tag}@isecom.example", "Lea Admin", "LU", "Demo Ops", "admin")
    editor, e_step = activated(demo_server, f"lib.editor.{tag}@isecom.example", "Marco Editor", "MT", "Demo ARO")

    boss, boss_watch = browser_of(new_context, admin, a_step)
    boss.goto("/library")
    boss.click("text=Library editors")
    boss.wait_for_url("**/library/editors")
    boss.fill("#editors-email", editor.member["email"])
    boss.press("#editors-email", "Enter")
    boss.locator("#editors-status", has_text="can now add documents").wait_for()
    boss.locator("#editors-list li", has_text="Marco Editor").wait_for()
    boss_watch.assert_clean(boss)

    page, watcher = browser_of(new_context, editor, e_step)
    page.goto("/library")
    page.click("text=Add a document")
    page.wait_for_url("**/library/upload")
    word = f"zorblax{tag}"  # only in the PDF's text
    pdf = tiny_pdf(f"Tracing the proceeds of {word} through fictional shell companies.")
    page.set_input_files("#upload-file", files=[{"name": "tracing.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    assert page.input_value("#upload-title") == "tracing"  # suggested from the file name
    page.fill("#upload-title", f"Tracing guide {tag}")
    page.fill("#upload-summary", "A fictional guide.")
    page.select_option("#upload-kind", "best_practice")
    page.fill("#upload-tags", "tracing, shell companies")
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r"/library/[0-9a-f]{32}$"))
    assert page.text_content("h1") == f"Tracing guide {tag}"
    assert "application/pdf" in (page.text_content(".detail") or "")

    page.goto("/library")
    page.fill("#library-q", word[:-2])  # the beginning of a word is enough
    page.press("#library-q", "Enter")
    page.wait_for_url("**/library?*")
    result = page.locator(".library-results li", has_text=f"Tracing guide {tag}")
    result.wait_for()
    assert word in (result.locator("mark").first.text_content() or "")
    page.select_option("#library-kind", "guideline")
    page.click("#library-form button[type=submit]")
    page.locator("#library-count", has_text="No document matches").wait_for()

    # Compose: notice numbers in the body get status chips; the body never goes to the server.
    lookups: list[str] = []

    def record(request: Request) -> None:
        if "/api/v1/notices/lookup" in request.url:
            lookups.append(request.url)

    page.on("request", record)
    open_mailbox(page)
    page.click("#compose-button")
    page.locator("#compose-view").wait_for()
    page.fill("#compose-subject", f"Freeze {tag}-subject")
    page.fill("#compose-body", f"Please check CN-2026-00001, af-2025-00007 and CN-2026-00003. {tag}-body")
    chips = page.locator("#compose-notices .notice-chip")
    chips.nth(2).wait_for()
    assert chips.count() == 3
    assert "Valid" in (page.text_content("#compose-notices [data-ref=CN-2026-00001]") or "")
    assert "Example Holdings Ltd" in (page.text_content("#compose-notices [data-ref=CN-2026-00001]") or "")
    assert "Expired" in (page.text_content("#compose-notices [data-ref=AF-2025-00007]") or "")
    assert "Cancelled" in (page.text_content("#compose-notices [data-ref=CN-2026-00003]") or "")
    assert lookups and all(f"{tag}-body" not in url and f"{tag}-subject" not in url for url in lookups)
    page.fill("#compose-body", "No notice any more.")
    page.locator("#compose-notices").wait_for(state="hidden")
    watcher.assert_clean(page, allowed(demo_server, fresh(editor)))

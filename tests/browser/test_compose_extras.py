"""Recipient suggestions in the composer and the preview of image and PDF attachments (issue 6).

Members are made here in countries no other browser test uses: Uruguay (UY) writes; the To and
Cc fields suggest Costa Rica (CR) by name and Senegal (SN) by agency and by country name, picked
with the keyboard only. Then Uruguay sends Costa Rica a PNG, a PDF, a file named .png that is no
image, and a plain binary file; Costa Rica previews the PNG (decoded, blob URL revoked on Escape,
focus back on the button) and the PDF, is refused a preview of the fake PNG after its integrity
check, and is offered no preview for the binary file. No page reports a CSP violation.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.test_accessibility import axe_violations
from tests.browser.test_mail import WAIT_MS, compose, open_mailbox, row
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([30, 90, 160]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pdf(text: str) -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R >>",
    ]
    stream = f"BT /F1 18 Tf 20 70 Td ({text}) Tj ET".encode()
    objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def pick_with_keyboard(page: Page, field: str, typed: str, email: str, key: str) -> None:
    """Type into To or Cc, wait for the member's option, choose it with ArrowDown and ``key``."""
    page.locator(field).press_sequentially(typed)
    options = page.locator(f"{field}-options")
    options.locator(f"[role=option][data-email='{email}']").wait_for(timeout=WAIT_MS)
    assert page.get_attribute(field, "aria-expanded") == "true"
    position = options.locator("[role=option]").evaluate_all(
        "(all, email) => all.findIndex((o) => o.dataset.email === email)", email
    )
    assert position >= 0
    for _ in range(position + 1):
        page.press(field, "ArrowDown")
    active = page.get_attribute(field, "aria-activedescendant")
    assert active and page.get_attribute(f"#{active}", "data-email") == email
    assert page.get_attribute(f"#{active}", "aria-selected") == "true"
    page.press(field, key)
    assert options.is_hidden()
    assert page.get_attribute(field, "aria-expanded") == "false"


def test_recipients_suggested_by_name_agency_and_country(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    mateo, m_step = activated(demo_server, "mateo.quiroga@isecom.example", "Mateo Quiroga", "UY", "Demo SENACLAFT")
    ximena, _ = activated(demo_server, "ximena.valverde@isecom.example", "Ximena Valverde", "CR", "Demo ICD")
    ousmane, _ = activated(demo_server, "ousmane.ndiaye@isecom.example", "Ousmane Ndiaye", "SN", "Demo CENTIF-Zebu")
    page, watch = browser_of(new_context, mateo, m_step)
    open_mailbox(page)
    page.click("#compose-button")
    page.locator("#compose-view").wait_for()
    assert page.get_attribute("#compose-to", "role") == "combobox"
    assert page.get_attribute("#compose-to-options", "role") == "listbox"
    assert page.get_attribute("#compose-to-options", "aria-label")

    # By name; Enter picks and does not send.
    pick_with_keyboard(page, "#compose-to", "Ximena Val", ximena.member["email"], "Enter")
    assert page.input_value("#compose-to") == f"{ximena.member['email']}, "
    assert page.locator("#compose-status").text_content() == ""

    # By agency, in Cc; Tab picks.
    page.focus("#compose-cc")
    pick_with_keyboard(page, "#compose-cc", "centif-ze", ousmane.member["email"], "Tab")
    assert page.input_value("#compose-cc") == f"{ousmane.member['email']}, "

    # By country name, as a second recipient of To; Escape closes the list without picking.
    page.focus("#compose-to")
    page.press("#compose-to", "End")
    page.locator("#compose-to").press_sequentially("Seneg")
    page.locator(f"#compose-to-options [data-email='{ousmane.member['email']}']").wait_for(timeout=WAIT_MS)
    assert axe_violations(page) == []  # the open combobox
    page.press("#compose-to", "Escape")
    assert page.locator("#compose-to-options").is_hidden()
    page.press("#compose-to", "Backspace")  # typing again offers it again
    pick_with_keyboard(page, "#compose-to", "", ousmane.member["email"], "Enter")
    assert page.input_value("#compose-to") == f"{ximena.member['email']}, {ousmane.member['email']}, "
    watch.assert_clean(page, allowed(demo_server, fresh(mateo, ximena, ousmane)))


def test_preview_of_images_and_pdfs_only(new_context: Callable[..., BrowserContext], demo_server: LiveServer) -> None:
    lucia, l_step = activated(demo_server, "lucia.ferreira@isecom.example", "Lucia Ferreira", "UY", "Demo UIAF")
    andres, a_step = activated(demo_server, "andres.solano@isecom.example", "Andres Solano", "CR", "Demo ICD")
    tag = secrets.token_hex(4)
    files = [
        {"name": f"seized-{tag}.png", "mimeType": "image/png", "buffer": png(40, 24)},
        {"name": f"order-{tag}.pdf", "mimeType": "application/pdf", "buffer": pdf(f"Freezing order {tag}")},
        {"name": f"fake-{tag}.png", "mimeType": "image/png", "buffer": b"<html>not an image</html>" * 8},
        {"name": f"ledger-{tag}.bin", "mimeType": "application/octet-stream", "buffer": secrets.token_bytes(3000)},
    ]
    sender, s_watch = browser_of(new_context, lucia, l_step)
    reader, r_watch = browser_of(new_context, andres, a_step)
    open_mailbox(sender)
    open_mailbox(reader)
    subject = f"Evidence {tag}"
    compose(sender, andres.member["email"], subject, "Attached.")
    sender.set_input_files("#compose-files", files=files)  # type: ignore[arg-type]
    for f in files:
        upload = sender.locator("#compose-uploads li.upload", has_text=str(f["name"]))
        upload.locator("xpath=self::*[@data-state='committed']").wait_for(timeout=WAIT_MS)
    sender.click("#compose-form button[type=submit]")
    sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)

    row(reader, subject)
    reader.locator("#message-list .message-row", has_text=subject).first.locator("a").click()
    reader.locator("#read-details").wait_for()
    rows = {str(f["name"]): reader.locator("#read-attachments li.attachment", has_text=str(f["name"])) for f in files}
    image, document, fake, ledger = (rows[str(f["name"])] for f in files)
    assert ledger.locator(".preview-button").count() == 0  # not an image or PDF: no Preview
    assert ledger.locator("button").count() == 1

    # The image: verified, decoded from a blob: URL, closed with Escape, URL revoked, focus back.
    reader.evaluate(
        "() => { window.revoked = []; const revoke = URL.revokeObjectURL.bind(URL);"
        " URL.revokeObjectURL = (u) => { window.revoked.push(u); revoke(u); }; }"
    )
    image.locator(".preview-button").click()
    dialog = reader.locator("#preview-dialog")
    picture = dialog.locator("img.preview-image")
    picture.wait_for(timeout=WAIT_MS)
    assert image.get_attribute("data-integrity") == "verified"
    assert image.get_attribute("data-preview") == "image/png"
    reader.wait_for_function("() => document.querySelector('#preview-dialog img')?.naturalWidth > 0")
    assert picture.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [40, 24]
    url = picture.get_attribute("src") or ""
    assert url.startswith("blob:")
    assert dialog.get_attribute("open") is not None
    assert axe_violations(reader) == []  # the open preview dialog
    reader.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert reader.locator("#preview-body img").count() == 0
    assert reader.evaluate("() => document.activeElement.classList.contains('preview-button')")
    assert reader.evaluate("() => document.activeElement.closest('li').textContent").find(f"seized-{tag}") >= 0
    assert reader.evaluate("() => window.revoked") == [url]

    # The PDF: in the browser's viewer, in a frame.
    document.locator(".preview-button").click()
    frame = dialog.locator("iframe.preview-pdf")
    frame.wait_for(timeout=WAIT_MS)
    assert document.get_attribute("data-preview") == "application/pdf"
    assert (frame.get_attribute("src") or "").startswith("blob:")
    # The frame holds the browser's PDF viewer (a sandboxed frame would show "blocked" instead).
    reader.wait_for_function(
        "() => document.querySelector('iframe.preview-pdf')?.contentDocument?.contentType === 'application/pdf'",
        timeout=WAIT_MS,
    )
    reader.click("#preview-close")
    dialog.wait_for(state="hidden")

    # Named .png but not one: verified, then no preview (the type comes from the bytes).
    fake.locator(".preview-button").click()
    reader.locator(f"#read-attachments li.attachment[data-preview=refused]:has-text('fake-{tag}')").wait_for(
        timeout=WAIT_MS
    )
    assert fake.get_attribute("data-integrity") == "verified"
    assert "No preview" in (fake.locator(".integrity").text_content() or "")
    assert dialog.is_hidden()

    refusals = fresh(lucia, andres)
    s_watch.assert_clean(sender, allowed(demo_server, refusals))
    r_watch.assert_clean(reader, allowed(demo_server, refusals))

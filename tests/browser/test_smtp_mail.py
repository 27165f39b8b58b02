"""Mail that arrived over SMTP, read in the browser (PROTOCOL.md §6.6).

A real ``smtplib`` client delivers a MIME message (text, HTML with a script and a remote
image, an attachment) to the demo server's gateway for a new French member (the demo config
admits agency-relay.example from 127.0.0.1 for FR). The mailbox shows it flagged "Arrived by
SMTP — not end-to-end encrypted" with the envelope sender; the HTML part is sanitized and
shown in a sandboxed frame where the script does not run and the remote image is never
fetched (a local HTTP server counts requests); the attachment and the original .eml download
byte for byte.
"""

from __future__ import annotations

import base64
import http.server
import secrets
import smtplib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.test_mail import WAIT_MS, open_mailbox, row
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import plain
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
ENVELOPE_SENDER = "officer@agency-relay.example"
ATTACHMENT = b"account;amount\r\nFR76-FICTIONAL-0001;125000\r\n"


class Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - one list per test run, read by the test

    def do_GET(self) -> None:
        Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def remote() -> Iterator[str]:
    """An "outside" image server on 127.0.0.1: any request to it means remote content loaded."""
    Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _message(to: str, tag: str, remote: str) -> bytes:
    html = (
        f"<html><body><h1>HTML part {tag}</h1>"
        "<script>window.top.__smtpScriptRan = true; document.title = 'ran';</script>"
        f'<img id="tracker" src="{remote}/pixel-{tag}.png" alt="tracker">'
        f'<p onclick="window.top.__smtpScriptRan = true">Click {tag}</p>'
        f'<a href="{remote}/link-{tag}">a link</a></body></html>'
    )
    lines = [
        "From: Officer Durand <officer@agency-relay.example>",
        f"To: {to}",
        f"Subject: Gel des avoirs {tag}",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="outer"',
        "",
        "--outer",
        'Content-Type: multipart/alternative; boundary="inner"',
        "",
        "--inner",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        f"Text part {tag}, été.",
        "--inner",
        "Content-Type: text/html; charset=utf-8",
        "",
        html,
        "--inner--",
        "--outer",
        'Content-Type: text/csv; name="evidence.csv"',
        'Content-Disposition: attachment; filename="evidence.csv"',
        "Content-Transfer-Encoding: base64",
        "",
        base64.b64encode(ATTACHMENT).decode(),
        "--outer--",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_smtp_mail_is_flagged_and_its_html_inert_with_attachment_and_eml_downloads(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, remote: str, tmp_path: Path
) -> None:
    jeanne, step = activated(demo_server, "jeanne.leroy@isecom.example", "Jeanne Leroy", "FR", "Demo OCRGDF")
    tag = secrets.token_hex(4)
    page, watcher = browser_of(new_context, jeanne, step)
    open_mailbox(page)

    original = _message(jeanne.member["email"], tag, remote)
    with smtplib.SMTP("127.0.0.1", demo_server.smtp_port, timeout=30) as smtp:
        smtp.ehlo("agency-relay.example")
        assert smtp.mail(ENVELOPE_SENDER, ["BODY=8BITMIME"])[0] == 250
        assert smtp.rcpt(jeanne.member["email"])[0] == 250
        assert smtp.data(original)[0] == 250

    subject = f"Gel des avoirs {tag}"
    row(page, subject)  # arrives live
    page.locator("#message-list .message-row", has_text=subject).first.locator("a").click()
    page.locator("#read-details").wait_for(timeout=WAIT_MS)
    assert page.text_content("#read-subject") == subject
    assert page.get_attribute("#mail", "data-reading") == "smtp"
    flag = page.locator("#read-smtp")
    assert flag.is_visible()
    assert "Arrived by SMTP — not end-to-end encrypted" in (flag.text_content() or "")
    assert plain(page.text_content("#read-smtp-sender")) == ENVELOPE_SENDER
    assert page.get_attribute("#read-badge", "data-state") == "smtp"
    assert "verified" not in (page.text_content("#read-signature") or "").lower()
    assert f"Text part {tag}, été." in plain(page.text_content("#read-body"))

    # The HTML part: sandboxed (no allow-* at all), sanitized, inert.
    assert page.get_attribute("#read-smtp-html", "sandbox") == ""
    frame = page.frame_locator("#read-smtp-html")
    frame.locator("h1", has_text=f"HTML part {tag}").wait_for()
    assert frame.locator("script").count() == 0
    assert frame.locator("img").count() == 1 and frame.locator("img").get_attribute("src") is None
    assert frame.locator("[onclick]").count() == 0 and frame.locator("a[href]").count() == 0
    frame.locator("p", has_text=f"Click {tag}").click()
    srcdoc = page.get_attribute("#read-smtp-html", "srcdoc") or ""
    assert "img-src data:" in srcdoc and "default-src 'none'" in srcdoc
    assert page.evaluate("() => window.__smtpScriptRan === undefined")

    # The attachment and the original message download byte for byte.
    with page.expect_download() as attachment_download:
        page.locator("#read-smtp-files li", has_text="evidence.csv").locator("button").click()
    assert attachment_download.value.suggested_filename == "evidence.csv"
    saved = tmp_path / "evidence.csv"
    attachment_download.value.save_as(saved)
    assert saved.read_bytes() == ATTACHMENT
    with page.expect_download() as eml_download:
        page.click("#read-smtp-eml")
    assert eml_download.value.suggested_filename.endswith(".eml")
    eml = tmp_path / "original.eml"
    eml_download.value.save_as(eml)
    assert eml.read_bytes() == original
    assert Counter.hits == []  # the remote image and link were never fetched

    # DOMPurify parses the message's HTML with DOMParser, under this page's CSP: Chrome reports the
    # onclick attribute it meets there as a blocked inline handler. That report, and only it, is
    # expected (and shows the page's CSP would have stopped the handler anyway).
    problems = watcher.problems(page, allowed(demo_server, fresh(jeanne)))
    blocked = problems.pop("CSP violation events", [])
    assert all(e["directive"] == "script-src-attr" and e["source"].endswith("/vendor/dompurify.mjs") for e in blocked)
    assert all("inline event handler" in text for text in problems.pop("CSP console reports", []))
    assert not problems

"""A 50 MB evidence file across three countries in real browsers (issue 6, PROTOCOL.md §8).

Members are made here in countries no other browser test uses, each in its own browser context:
Tanzania (TZ) attaches a 50 MB file (deterministic pseudo-random bytes, written to disk first:
Playwright refuses in-memory buffers that large) and sends it to Peru (PE); Peru downloads it, the
saved bytes have the original's SHA-256 and the page shows it verified; Peru replies to all and
Tanzania sees the reply; Peru forwards the original to Sri Lanka (LK): the forward re-wraps the
file key in the new envelope and uploads nothing (no file is declared, no chunk is sent), and Sri
Lanka downloads the file with the same SHA-256 and sees it was forwarded, and from whom (the signed
chain's original sender, as the key directory certifies them). Afterwards the demo
server's data directory holds none of the plaintext markers.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route

from tests.browser.test_mail import WAIT_MS, compose, not_in_data, open_mailbox, row
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import plain
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
SIZE = 50 * MIB + 4_321  # 13 chunks of the default 4 MiB, the last one short
CHUNKS = math.ceil(SIZE / (4 * MIB))
SEED = 6  # the bytes are the same on every run, only the marker at their head changes
BIG_MS = 180_000  # 50 MB encrypted, uploaded, downloaded and checked on a busy 2-core machine


def evidence_file(path: Path, tag: str) -> str:
    """Write SIZE pseudo-random bytes with a marker at their head; their SHA-256 in hex."""
    head = f"{tag}-content ".encode() * 64
    data = head + random.Random(SEED).randbytes(SIZE - len(head))
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def file_requests(page: Page) -> list[tuple[str, str]]:
    """Every request the page makes to the files API from now on, as (method, path)."""
    seen: list[tuple[str, str]] = []

    def record(route: Route) -> None:
        request = route.request
        seen.append((request.method, request.url.split("/api/v1/files", 1)[1]))
        route.continue_()

    page.route(lambda url: "/api/v1/files" in url, record)
    return seen


def download_verified(page: Page, attachment: Locator, name: str, digest: str, saved: Path) -> None:
    """Click Download; the file saved is the original (same SHA-256) and the page says so."""
    with page.expect_download(timeout=BIG_MS) as info:
        attachment.locator("button").click()
    download = info.value
    assert download.suggested_filename == name
    download.save_as(saved)
    assert saved.stat().st_size == SIZE
    sha = hashlib.sha256()
    with saved.open("rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            sha.update(block)
    assert sha.hexdigest() == digest
    assert attachment.get_attribute("data-integrity") == "verified"
    assert attachment.get_attribute("data-sha256") == digest
    status = attachment.locator(".integrity").text_content() or ""
    assert "SHA-256 verified" in status and digest in status


def open_row(page: Page, subject: str) -> None:
    row(page, subject)
    page.locator("#message-list .message-row", has_text=subject).first.locator("a").click()
    page.locator("#read-details").wait_for()
    assert page.text_content("#read-subject") == subject


def no_chain(page: Page) -> bool:
    """No forwarding chain is shown for a message that forwards nothing."""
    return page.locator("#read-forwarded-box").is_hidden() and page.locator("#read-forwarded li").count() == 0


def test_fifty_megabytes_sent_read_replied_and_forwarded_without_upload(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, tmp_path: Path
) -> None:
    neema, n_step = activated(demo_server, "neema.mushi@isecom.example", "Neema Mushi", "TZ", "Demo PCCB")
    valeria, v_step = activated(demo_server, "valeria.huaman@isecom.example", "Valeria Huaman", "PE", "Demo PNP")
    nimal, l_step = activated(demo_server, "nimal.perera@isecom.example", "Nimal Perera", "LK", "Demo CID")
    tag = secrets.token_hex(4)
    name = f"ledger-{tag}-name.bin"
    original = tmp_path / name
    digest = evidence_file(original, tag)
    subject = f"Seized ledger {tag}-subj"
    body = f"Ledger attached {tag}-body"
    reply_body = f"Received {tag}-reply"

    sender, s_watch = browser_of(new_context, neema, n_step)
    reader, r_watch = browser_of(new_context, valeria, v_step, accept_downloads=True)
    open_mailbox(sender)
    open_mailbox(reader)

    # Tanzania attaches 50 MB: every chunk goes up once, then Send.
    uploaded = file_requests(sender)
    compose(sender, valeria.member["email"], subject, body, handling="H2")
    sender.set_input_files("#compose-files", files=[original])
    upload = sender.locator("#compose-uploads li.upload", has_text=name)
    upload.wait_for()
    upload.locator("xpath=self::*[@data-state='committed']").wait_for(timeout=BIG_MS)
    assert upload.get_attribute("data-percent") == "100"
    chunk_puts = {path.rsplit("/", 1)[1] for method, path in uploaded if method == "PUT" and "/chunks/" in path}
    assert chunk_puts == {str(i) for i in range(CHUNKS)}
    assert sender.is_enabled("#compose-form button[type=submit]")
    sender.click("#compose-form button[type=submit]")
    sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    row(sender, subject)

    # Peru reads it, downloads it verified, replies to all.
    open_row(reader, subject)
    assert "Neema Mushi" in (reader.text_content("#read-from") or "")
    assert no_chain(reader)
    assert reader.get_attribute("#mail", "data-reading") == "verified"
    attachment = reader.locator("#read-attachments li.attachment")
    assert attachment.count() == 1
    assert attachment.locator(".attachment-name").text_content() == name
    assert "52.4 MB" in (attachment.text_content() or "")
    download_verified(reader, attachment, name, digest, tmp_path / "peru.bin")

    reader.click("[data-action=reply-all]")
    reader.locator("#compose-view").wait_for()
    assert reader.input_value("#compose-to") == neema.member["email"]
    assert reader.input_value("#compose-cc") == ""
    assert reader.input_value("#compose-subject") == f"Re: {subject}"
    reader.fill("#compose-body", reply_body + reader.input_value("#compose-body"))
    reader.click("#compose-form button[type=submit]")
    reader.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)

    sender.click(".folders a[data-folder=inbox]")
    open_row(sender, f"Re: {subject}")
    assert plain(sender.text_content("#read-body")).startswith(reply_body)
    assert "Valeria Huaman" in (sender.text_content("#read-from") or "")
    assert sender.get_attribute("#mail", "data-reading") == "verified"

    # Peru forwards the original to Sri Lanka: the file key is re-wrapped, nothing is uploaded.
    reader.click(".folders a[data-folder=inbox]")
    open_row(reader, subject)
    forwarding = file_requests(reader)
    reader.click("[data-action=forward]")
    reader.locator("#compose-view").wait_for()
    assert reader.input_value("#compose-subject") == f"Fwd: {subject}"
    assert reader.is_visible("#compose-attachments-box")
    assert name in (reader.text_content("#compose-attachments") or "")
    reader.fill("#compose-to", nimal.member["email"])
    reader.click("#compose-form button[type=submit]")
    reader.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    row(reader, f"Fwd: {subject}")
    assert reader.locator("#compose-uploads li.upload").count() == 0
    writes = [(method, path) for method, path in forwarding if method != "GET"]
    assert writes == [], f"the forward uploaded again: {writes}"

    # Sri Lanka sees the forward and downloads the same bytes.
    third, t_watch = browser_of(new_context, nimal, l_step, accept_downloads=True)
    open_mailbox(third)
    open_row(third, f"Fwd: {subject}")
    assert "Valeria Huaman" in (third.text_content("#read-from") or "")
    assert third.get_attribute("#mail", "data-reading") == "verified"
    assert third.get_attribute("#read-handling", "data-code") == "H2"
    # The signed chain names the original sender by member id; the page shows who that is, as the
    # key directory certifies them (name, agency, country), checked by the key ring.
    hop = third.locator("#read-forwarded li[data-state=verified]")
    hop.wait_for(timeout=WAIT_MS)
    assert third.is_visible("#read-forwarded-box")
    assert hop.get_attribute("data-member") == neema.member["id"]
    assert all(part in plain(hop.text_content()) for part in ("Neema Mushi", "Demo PCCB", "Tanzania"))
    forwarded_body = plain(third.text_content("#read-body"))
    assert "Forwarded message from Neema Mushi" in forwarded_body and f"subject: {subject}" in forwarded_body
    assert f"> {body}" in forwarded_body
    attachment = third.locator("#read-attachments li.attachment")
    assert attachment.count() == 1
    assert attachment.locator(".attachment-name").text_content() == name
    download_verified(third, attachment, name, digest, tmp_path / "sri-lanka.bin")

    refusals = fresh(neema, valeria, nimal)
    s_watch.assert_clean(sender, allowed(demo_server, refusals))
    r_watch.assert_clean(reader, allowed(demo_server, refusals))
    t_watch.assert_clean(third, allowed(demo_server, refusals))
    not_in_data(demo_server.data, [f"{tag}-name", f"{tag}-content", f"{tag}-subj", f"{tag}-body", f"{tag}-reply"])

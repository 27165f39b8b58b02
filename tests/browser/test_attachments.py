"""Evidence attachments on /mail in a real browser (PROTOCOL.md §8, issue 6).

Members are made here in countries no other browser test uses: Kenya (KE) attaches a file of a
few MB with the file picker (two chunks of the default 4 MiB), watches its progress reach 100 %
and sends; Morocco (MA) downloads it, and the bytes saved are the original's, with the signed
SHA-256 shown as verified. A second upload is cancelled and the server no longer knows its id.
The demo server's data directory holds neither the file's name nor its contents afterwards.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Request, Route

from tests.browser.test_mail import WAIT_MS, compose, not_in_data, open_mailbox, row
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
SIZE = 5 * 1024 * 1024 + 12_345  # two chunks, the last one short


def evidence(tag: str, size: int) -> bytes:
    marker = f"{tag}-content ".encode()
    head = marker * 64
    return head + secrets.token_bytes(size - len(head) - len(marker)) + marker


def test_attach_upload_send_and_download_verified(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, tmp_path: Path
) -> None:
    akinyi, a_step = activated(demo_server, "akinyi.otieno@isecom.example", "Akinyi Otieno", "KE", "Demo ARA")
    salma, m_step = activated(demo_server, "salma.bennani@isecom.example", "Salma Bennani", "MA", "Demo BNPJ")
    tag = secrets.token_hex(4)
    name = f"statement-{tag}-name.bin"
    data = evidence(tag, SIZE)
    subject = f"Bank statement {tag}-subj"

    sender, s_watch = browser_of(new_context, akinyi, a_step)
    reader, r_watch = browser_of(new_context, salma, m_step, accept_downloads=True)
    open_mailbox(sender)
    open_mailbox(reader)

    compose(sender, salma.member["email"], subject, f"Attached {tag}-body")
    picked = {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    sender.set_input_files("#compose-files", files=[picked])
    upload = sender.locator("#compose-uploads li.upload", has_text=name)
    upload.wait_for()
    upload.locator("xpath=self::*[@data-state='committed']").wait_for(timeout=WAIT_MS)
    assert upload.get_attribute("data-percent") == "100"
    assert sender.locator("#compose-uploads li.upload progress").evaluate("p => p.value") == 100
    assert "100" in (upload.locator(".upload-status").text_content() or "")
    assert sender.is_enabled("#compose-form button[type=submit]")

    # A second file, cancelled while its chunks are on their way (held here): the server forgets it.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    sender.route("**/api/v1/files/*/chunks/*", hold)
    deleted: list[str] = []
    sender.on("request", lambda r: deleted.append(r.url.rsplit("/", 1)[1]) if r.method == "DELETE" else None)
    other = f"other-{tag}-name.bin"
    sender.set_input_files("#compose-files", files=[{"name": other, "mimeType": "text/plain", "buffer": data}])
    second = sender.locator("#compose-uploads li.upload", has_text=other)
    second.locator("xpath=self::*[@data-state='uploading']").wait_for(timeout=WAIT_MS)
    assert not sender.is_enabled("#compose-form button[type=submit]")  # Send waits for every upload
    for _ in range(200):
        if held:
            break
        sender.wait_for_timeout(50)
    assert held
    with sender.expect_response(lambda r: r.request.method == "DELETE") as cancelled:
        second.locator("button").click()
    assert cancelled.value.status == 204
    second.wait_for(state="detached")
    sender.unroute("**/api/v1/files/*/chunks/*")
    assert len(deleted) == 1
    assert sender.request.get(f"/api/v1/files/{deleted[0]}").status == 404
    assert sender.locator("#compose-uploads li.upload").count() == 1
    assert sender.is_enabled("#compose-form button[type=submit]")

    sender.click("#compose-form button[type=submit]")
    sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)

    row(reader, subject)
    reader.locator("#message-list .message-row", has_text=subject).first.locator("a").click()
    reader.locator("#read-details").wait_for()
    attachment = reader.locator("#read-attachments li.attachment")
    assert attachment.count() == 1
    assert attachment.locator(".attachment-name").text_content() == name
    assert "5.3 MB" in (attachment.text_content() or "")
    with reader.expect_download(timeout=WAIT_MS) as info:
        attachment.locator("button").click()
    download = info.value
    assert download.suggested_filename == name
    saved = tmp_path / "saved.bin"
    download.save_as(saved)
    assert saved.read_bytes() == data
    digest = hashlib.sha256(data).hexdigest()
    assert attachment.get_attribute("data-integrity") == "verified"
    assert attachment.get_attribute("data-sha256") == digest
    status = attachment.locator(".integrity").text_content() or ""
    assert "SHA-256 verified" in status and digest in status

    refusals = fresh(akinyi, salma)
    # The held chunk PUTs of the cancelled file were aborted by the page, as cancelling should.
    aborted = f"PUT {demo_server.url}/api/v1/files/{deleted[0]}/"
    s_watch.failed_requests = [f for f in s_watch.failed_requests if not f.startswith(aborted)]
    s_watch.assert_clean(sender, allowed(demo_server, refusals))
    r_watch.assert_clean(reader, allowed(demo_server, refusals))
    not_in_data(demo_server.data, [f"{tag}-name", f"{tag}-content", f"{tag}-subj", f"{tag}-body"])


# Counts, in the page, the chunks sent to the chunk workers to be encrypted.
COUNT_ENCRYPTS = """
  window.__encrypted = [];
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, transfer) {
    if (message && message.op === "encrypt") window.__encrypted.push(message.args.index);
    return post.call(this, message, transfer);
  };
"""


def test_a_one_pass_upload_encrypts_and_puts_each_chunk_once(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, tmp_path: Path
) -> None:
    """A one-pass upload (PROTOCOL.md §8.2): every chunk of a 17-chunk file is encrypted once and
    PUT once with its hash, and the declaration carries no chunk hashes. Then the file comes back
    down through the download service worker, as in a browser without a save picker."""
    tag = secrets.token_hex(4)
    wanjiru, w_step = activated(demo_server, f"otieno.{tag}@isecom.example", "Otieno Kamau", "KE", "Demo ARA")
    name = f"ledger-{tag}-name.bin"
    data = evidence(tag, 16 * 4 * 1024 * 1024 + 12_345)  # 17 chunks of the default 4 MiB
    sender, s_watch = browser_of(new_context, wanjiru, w_step, accept_downloads=True)
    sender.add_init_script(COUNT_ENCRYPTS)
    open_mailbox(sender)
    puts: list[str] = []
    hashed: list[str] = []
    declared: list[dict[str, object]] = []

    def seen(r: Request) -> None:
        if r.method == "PUT" and "/chunks/" in r.url:
            puts.append(r.url.rsplit("/", 1)[1])
            hashed.append(r.headers.get("x-chunk-hash", ""))
        elif r.method == "POST" and r.url.endswith("/api/v1/files"):
            declared.append(json.loads(r.post_data or "{}"))

    sender.on("request", seen)
    compose(sender, wanjiru.member["email"], f"Ledger {tag}-subj", f"Attached {tag}-body")
    picked = tmp_path / name  # over Playwright's 50 MB limit for a buffer: a file on disk
    picked.write_bytes(data)
    sender.set_input_files("#compose-files", str(picked))
    upload = sender.locator("#compose-uploads li.upload", has_text=name)
    upload.locator("xpath=self::*[@data-state='committed']").wait_for(timeout=WAIT_MS)
    assert sorted(sender.evaluate("() => window.__encrypted")) == list(range(17))
    assert sorted(int(i) for i in puts) == list(range(17))
    assert all(len(h) == 43 for h in hashed)  # 32 bytes, base64url
    assert len(declared) == 1 and "chunk_hashes" not in declared[0] and declared[0]["n_chunks"] == 17

    # Sent (to oneself), read from Sent and downloaded as a browser without a save picker would (Firefox, Safari):
    # over 64 MiB, the file streams to the downloads folder through the service worker.
    sender.click("#compose-form button[type=submit]")
    sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    row(sender, f"Ledger {tag}-subj")  # one's own copy, in Sent
    sender.locator("#message-list .message-row", has_text=f"Ledger {tag}-subj").first.locator("a").click()
    attachment = sender.locator("#read-attachments li.attachment")
    attachment.wait_for()
    sender.evaluate("() => { delete window.showSaveFilePicker; }")
    with sender.expect_download(timeout=WAIT_MS) as info:
        attachment.locator("button").click()
    sender.locator("#read-attachments li.attachment[data-integrity='verified']").wait_for(timeout=WAIT_MS)
    assert "/js/dl/" in info.value.url and info.value.suggested_filename == name
    saved = tmp_path / "saved.bin"
    info.value.save_as(saved)
    assert saved.read_bytes() == data
    assert attachment.locator(".save-link").count() == 0  # nothing kept in the page
    s_watch.assert_clean(sender, allowed(demo_server, fresh(wanjiru, wanjiru)))

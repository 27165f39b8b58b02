"""An evidence upload resumes after the server restarts mid-way and the page is reloaded (§8.6).

A server of its own (it is restarted): Paraguay (PY) attaches a five-chunk file; two chunk PUTs
reach the server, the others are held in the browser; the server process is stopped and started
again on the same ports, the page reloaded and the keys unlocked again. The composer lists the
unfinished upload by its name (read from the resume record sealed to the member's own key);
picking another file is refused, and so is a file whose already-stored chunk changed; picking the
same file sends exactly the three missing chunks, each once.
The message is sent and Bolivia (BO) downloads the file, its SHA-256 verified. The data directory
never holds the file's name or contents in plaintext.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from isecom.client.session import Activated
from tests.browser.conftest import CSP_LISTENER, TIMEOUT_MS, Watcher, watch
from tests.browser.test_attachments import evidence
from tests.browser.test_mail import WAIT_MS, compose, not_in_data, open_mailbox, row
from tests.browser.test_revocation import activated, allowed, fresh
from tests.browser.test_signin_flow import PASSWORD, next_code, sign_in, signed_in
from tests.conftest import LiveServer, run_cli, start_server, stop_server

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
SIZE = 4 * 4 * MIB + 54_321  # five chunks of the default 4 MiB, the last one short
PASSED = 2  # chunk PUTs let through before the restart


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[list[LiveServer]]:
    """A demo instance of this test's own, in a list so the test can replace it by its restart."""
    data = tmp_path / "data"
    assert run_cli("init", data=data).returncode == 0
    made = run_cli("demo", data=data)
    assert made.returncode == 0, made.stderr
    servers = [start_server(data)]
    yield servers
    stop_server(servers[-1])


def _page(browser: Browser, server: LiveServer, **options: object) -> tuple[BrowserContext, Page, Watcher]:
    context = browser.new_context(base_url=server.url, locale="en-US", **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page, watcher = watch(context)
    return context, page, watcher


def _signed_in(
    browser: Browser, server: LiveServer, who: Activated, step: int, **options: object
) -> tuple[BrowserContext, Page, Watcher]:
    context, page, watcher = _page(browser, server, **options)
    code, _ = next_code(who.totp_secret, step)
    sign_in(page, who.member["email"], PASSWORD, code)
    signed_in(page, who.member["name"])
    return context, page, watcher


def test_an_upload_resumes_after_a_server_restart_and_a_reload(
    browser: Browser, own_server: list[LiveServer], tmp_path: Path
) -> None:
    server = own_server[0]
    ana, a_step = activated(server, "ana.benitez@isecom.example", "Ana Benítez", "PY", "Demo UIAF")
    luis, l_step = activated(server, "luis.quispe@isecom.example", "Luis Quispe", "BO", "Demo UIF")
    tag = secrets.token_hex(4)
    name = f"ledger-{tag}-name.bin"
    data = evidence(tag, SIZE)
    picked = {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    contexts = []
    try:
        s_context, sender, s_watch = _signed_in(browser, server, ana, a_step)
        contexts.append(s_context)
        open_mailbox(sender)
        compose(sender, luis.member["email"], f"Ledger {tag}-subj", f"Attached {tag}-body")

        passed: list[str] = []
        held: list[Route] = []

        def gate(route: Route) -> None:
            if route.request.method == "PUT" and len(passed) < PASSED:
                passed.append(route.request.url)
                route.continue_()
            else:
                held.append(route)

        sender.route("**/api/v1/files/*/chunks/*", gate)
        sender.set_input_files("#compose-files", files=[picked])
        upload = sender.locator("#compose-uploads li.upload", has_text=name)
        upload.locator("xpath=self::*[@data-state='uploading']").wait_for(timeout=WAIT_MS)
        file_id = upload.get_attribute("data-file-id")
        assert file_id
        for _ in range(600):
            status = sender.request.get(f"/api/v1/files/{file_id}")
            if len(held) >= 1 and len(status.json()["missing"]) == 5 - PASSED:
                break
            sender.wait_for_timeout(50)
        assert len(status.json()["missing"]) == 5 - PASSED

        # The server process stops mid-upload and starts again on the same ports.
        stop_server(server)
        server = start_server(server.data, ports=(server.http_port, server.smtp_port))
        own_server.append(server)
        for route in held:
            route.abort()  # the PUTs the restart cut off
        sender.unroute("**/api/v1/files/*/chunks/*")
        puts: list[str] = []
        sender.on("request", lambda r: puts.append(r.url) if r.method == "PUT" and "/chunks/" in r.url else None)
        open_mailbox(sender)  # a reload: the file key was only in the old page's memory
        sender.click("#compose-button")
        waiting = sender.locator(f"#compose-resume-list li[data-file-id='{file_id}']")
        waiting.wait_for(timeout=WAIT_MS)
        assert name in (waiting.text_content() or "")

        other = {"name": name, "mimeType": "application/octet-stream", "buffer": evidence(tag + "x", SIZE)}
        sender.set_input_files(f"#resume-{file_id}", files=[other])  # same name and size, other bytes
        waiting.locator(".upload-status", has_text="not the same file").wait_for()
        assert puts == []

        # Same name, size and first chunk, but a chunk the server already holds differs: the resumed
        # pass encrypts that chunk again with its stored nonce, gets another hash, and fails; the
        # changed chunk is never sent (under that nonce or any other). Missing chunks the pass had
        # already sent stay, and the refreshed list knows them.
        stored_before = sorted(int(url.rsplit("/", 1)[1]) for url in passed)
        changed_at = max(stored_before)
        assert changed_at > 0
        edited = bytearray(data)
        edited[changed_at * 4 * MIB + 17] ^= 0x01
        sender.set_input_files(f"#resume-{file_id}", files=[{**picked, "buffer": bytes(edited)}])
        refused = sender.locator(f"#compose-uploads li.upload[data-file-id='{file_id}']")
        refused.locator("xpath=self::*[@data-state='failed']").wait_for(timeout=WAIT_MS)
        assert "the file changed" in (refused.locator(".upload-status").text_content() or "")
        assert all(int(url.rsplit("/", 1)[1]) not in stored_before for url in puts)
        waiting.wait_for(timeout=WAIT_MS)  # listed again, to be picked once more

        sender.set_input_files(f"#resume-{file_id}", files=[picked])
        resumed = sender.locator(f"#compose-uploads li.upload[data-file-id='{file_id}']")
        resumed.locator("xpath=self::*[@data-state='committed']").wait_for(timeout=WAIT_MS)
        sent_indices = sorted(int(url.rsplit("/", 1)[1]) for url in puts)
        assert len(puts) == 5 - PASSED  # only the missing chunks went up, each once
        assert sorted(sent_indices + stored_before) == [0, 1, 2, 3, 4]
        assert sender.locator("#compose-resume-list li").count() == 0

        compose_again = sender.locator("#compose-to")
        compose_again.fill(luis.member["email"])
        sender.fill("#compose-subject", f"Ledger {tag}-subj")
        sender.fill("#compose-body", f"Attached {tag}-body")
        sender.click("#compose-form button[type=submit]")
        sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)

        r_context, reader, r_watch = _signed_in(browser, server, luis, l_step, accept_downloads=True)
        contexts.append(r_context)
        open_mailbox(reader)
        row(reader, f"Ledger {tag}-subj")
        reader.locator("#message-list .message-row", has_text=f"Ledger {tag}-subj").first.locator("a").click()
        attachment = reader.locator("#read-attachments li.attachment")
        attachment.wait_for()
        with reader.expect_download(timeout=WAIT_MS) as info:
            attachment.locator("button").click()
        saved = tmp_path / "saved.bin"
        info.value.save_as(saved)
        assert saved.read_bytes() == data
        assert attachment.get_attribute("data-integrity") == "verified"
        assert attachment.get_attribute("data-sha256") == hashlib.sha256(data).hexdigest()

        # The held PUTs died with the old page; nothing else may have gone wrong.
        # The live-update stream of the old page tried to reconnect while the server was down.
        down = f"GET {server.url}/api/v1/events: net::ERR_CONNECTION_REFUSED"
        s_watch.failed_requests = [
            f for f in s_watch.failed_requests if f"/api/v1/files/{file_id}/chunks/" not in f and f != down
        ]
        refusals = fresh(ana, luis)
        expected = allowed(server, refusals)
        cut_off = f"{server.url}/api/v1/files/{file_id}/chunks/"

        def aborted(message: ConsoleMessage) -> bool:
            url = message.location.get("url", "")
            return (
                expected(message)
                or (url.startswith(cut_off) and "net::ERR_FAILED" in message.text)
                or (url == f"{server.url}/api/v1/events" and "net::ERR_CONNECTION_REFUSED" in message.text)
            )

        s_watch.assert_clean(sender, aborted)
        r_watch.assert_clean(reader, allowed(server, refusals))
        not_in_data(server.data, [f"{tag}-name", f"{tag}-content", f"{tag}-subj", f"{tag}-body"])
    finally:
        for context in contexts:
            context.close()

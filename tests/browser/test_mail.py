"""The mailbox page (/mail) in real browsers, checked against the Python client.

Members are made here in countries no other browser test uses: Ghana (GH) writes from the
browser to Estonia (EE) with New Zealand (NZ) in Cc, who reads with the Python client; Estonia
reads it live, replies to all from the browser; the Python client sends to Estonia and the browser
opens it. Drafts are saved sealed and reopened; Archive, Trash and emptying it; a recipient whose
membership (and so keys) was revoked blocks sending with the reason. After the test, the demo
server's data directory holds none of the plaintext markers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from isecom.client import Client
from isecom.client import mail as client_mail
from isecom.client.keyring import KeyRing
from isecom.config import load as load_config
from tests.browser.test_account_recovery import in_thread
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, next_code, plain
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser
WAIT_MS = 40_000  # a checkpoint (5 s), key look-ups asked again, Argon2id


def open_mailbox(page: Page) -> None:
    page.goto("/mail")
    page.locator("#mail[data-ready]").wait_for()
    page.fill("#unlock-password", PASSWORD)
    page.press("#unlock-password", "Enter")
    page.locator("#mail[data-state=unlocked]").wait_for(timeout=KEYS_TIMEOUT_MS)


def compose(page: Page, to: str, subject: str, body: str, cc: str = "", handling: str = "H1") -> None:
    page.click("#compose-button")
    page.locator("#compose-view").wait_for()
    page.fill("#compose-to", to)
    page.fill("#compose-cc", cc)
    page.fill("#compose-subject", subject)
    page.select_option("#compose-handling", handling)
    page.fill("#compose-body", body)


def row(page: Page, subject: str) -> None:
    page.locator("#message-list .message-row", has_text=subject).first.wait_for(timeout=WAIT_MS)


def not_in_data(data: Path, markers: list[str]) -> None:
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for marker in markers:
                assert marker.encode() not in content, f"{marker} found in {path}"


def test_send_read_live_reply_all_and_the_python_client_both_ways(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    ama, a_step = activated(demo_server, "ama.mensah@isecom.example", "Ama Mensah", "GH", "Demo EOCO")
    kadri, k_step = activated(demo_server, "kadri.tamm@isecom.example", "Kadri Tamm", "EE", "Demo KKP")
    aroha, r_step = activated(demo_server, "aroha.ngata@isecom.example", "Aroha Ngata", "NZ", "Demo SFO")
    tag = secrets.token_hex(4)
    subject, body = f"Freeze request {tag}-subj", f"Account at bank X {tag}-body https://example.org/case?x=1"
    reply_body = f"Confirmed {tag}-reply"

    sender, s_watch = browser_of(new_context, ama, a_step)
    reader, r_watch = browser_of(new_context, kadri, k_step)
    open_mailbox(sender)
    open_mailbox(reader)
    assert reader.title().startswith("Mailbox")

    compose(sender, kadri.member["email"], subject, body, cc=aroha.member["email"], handling="H2")
    sender.click("#compose-form button[type=submit]")
    sender.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    row(sender, subject)

    # Live: the reader's inbox and title change without a reload.
    row(reader, subject)
    assert reader.title().startswith("(1)")
    reader.locator("#message-list .message-row", has_text=subject).first.locator("a").click()
    reader.locator("#read-details").wait_for()
    assert reader.text_content("#read-subject") == subject
    assert reader.get_attribute("#read-handling", "data-code") == "H2"
    assert plain(reader.text_content("#read-body")) == body
    assert reader.get_attribute("#read-body a", "href") == "https://example.org/case?x=1"
    assert "Ama Mensah" in (reader.text_content("#read-from") or "")
    assert reader.text_content("#read-agency") == "Demo EOCO"
    assert reader.get_attribute("#mail", "data-reading") == "verified"
    assert reader.get_attribute("#read-badge", "data-state") == "unverified"
    reader.wait_for_function("() => !document.title.startsWith('(')")

    # Reply to all: the sender in To, the Cc kept.
    reader.click("[data-action=reply-all]")
    reader.locator("#compose-view").wait_for()
    assert reader.input_value("#compose-to") == ama.member["email"]
    assert reader.input_value("#compose-cc") == aroha.member["email"]
    assert reader.input_value("#compose-subject") == f"Re: {subject}"
    assert reader.input_value("#compose-handling") == "H2"
    reader.fill("#compose-body", reply_body + reader.input_value("#compose-body"))
    reader.click("#compose-form button[type=submit]")
    reader.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    sender.click(".folders a[data-folder=inbox]")
    row(sender, f"Re: {subject}")

    # The Python client, as the third member: reads the browser's reply, answers from Python.
    cfg = load_config(demo_server.data, {**os.environ, "ISECOM_SERVER_PUBLIC_URL": demo_server.url})
    code, _ = next_code(aroha.totp_secret, r_step)
    python_subject = f"From Python {tag}-py"

    async def python_side() -> tuple[list[dict[str, object]], str]:
        async with Client(demo_server.url) as client:
            await client.sign_in(aroha.member["email"], PASSWORD, code)
            ring = KeyRing(root_pk=cfg.root_pk, origin=demo_server.url)
            inbox = await client_mail.folder(client, "inbox")
            read = [(await client_mail.read(client, ring, m["id"])).payload for m in inbox["messages"]]
            draft = client_mail.Draft(to=[kadri.member["email"]], subject=python_subject, body=f"{tag}-pybody")
            sent = await client_mail.send(client, ring, draft)
            return read, sent

    payloads, _ = in_thread(python_side)
    by_subject = {p["subject"]: p for p in payloads}
    assert by_subject[subject]["body"] == body and by_subject[subject]["handling"] == "H2"
    reply = by_subject[f"Re: {subject}"]
    assert reply["body"].startswith(reply_body)
    assert reply["in_reply_to"] is not None and reply["references"] == [reply["in_reply_to"]]
    assert {p["email"] for p in reply["to"] + reply["cc"]} == {ama.member["email"], aroha.member["email"]}

    reader.click(".folders a[data-folder=inbox]")
    row(reader, python_subject)
    reader.locator("#message-list .message-row", has_text=python_subject).first.locator("a").click()
    reader.locator("#read-details").wait_for()
    assert plain(reader.text_content("#read-body")) == f"{tag}-pybody"
    assert reader.get_attribute("#mail", "data-reading") == "verified"

    s_watch.assert_clean(sender, allowed(demo_server, fresh(ama, kadri, aroha)))
    r_watch.assert_clean(reader, allowed(demo_server, fresh(ama, kadri, aroha)))
    not_in_data(demo_server.data, [f"{tag}-subj", f"{tag}-body", f"{tag}-reply", f"{tag}-py"])


def test_drafts_folders_trash_and_a_revoked_recipient(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    tane, t_step = activated(demo_server, "tane.walker@isecom.example", "Tane Walker", "NZ", "Demo SFO")
    gone, _ = activated(demo_server, "kwame.boateng@isecom.example", "Kwame Boateng", "GH", "Demo EOCO")
    tag = secrets.token_hex(4)
    page, watcher = browser_of(new_context, tane, t_step)
    open_mailbox(page)

    # A draft saved sealed a few seconds after typing stops, reopened from Drafts.
    compose(page, gone.member["email"], f"Draft {tag}-draft", f"Notes {tag}-dbody", handling="H3")
    page.locator("#draft-status", has_text="Draft saved").wait_for(timeout=WAIT_MS)
    page.click(".folders a[data-folder=drafts]")
    row(page, f"Draft {tag}-draft")
    page.locator("#message-list .message-row", has_text=f"{tag}-draft").locator("a").click()
    page.locator("#compose-view").wait_for()
    assert page.input_value("#compose-body") == f"Notes {tag}-dbody"
    assert page.input_value("#compose-handling") == "H3"
    assert page.input_value("#compose-to") == gone.member["email"]

    # A recipient whose membership, and so whose keys, were revoked: sending is refused with the reason.
    made = run_cli("admin", "revoke", "--email", gone.member["email"], "--reason", "left", data=demo_server.data)
    assert made.returncode == 0, made.stderr
    page.fill("#compose-to", f"{gone.member['email']}, nobody-{tag}@isecom.example, not-an-address")
    page.click("#compose-form button[type=submit]")
    page.locator("#compose-to-error", has_text="Not an email address").wait_for()
    page.fill("#compose-to", f"{gone.member['email']}, nobody-{tag}@isecom.example")
    page.click("#compose-form button[type=submit]")
    refused = page.locator(f"#compose-recipients li[data-email='{gone.member['email']}']")
    refused.wait_for(timeout=WAIT_MS)
    assert refused.get_attribute("data-reason") == "revoked"
    assert "revoked" in (refused.text_content() or "")
    missing = page.locator(f"#compose-recipients li[data-email='nobody-{tag}@isecom.example']")
    assert missing.get_attribute("data-reason") == "notfound"
    assert "Sending is blocked" in (page.text_content("#compose-status") or "")

    # Sent to oneself instead: Sent, Archive, Trash, deleted for good by emptying Trash.
    page.fill("#compose-to", tane.member["email"])
    page.click("#compose-form button[type=submit]")
    page.locator("#list-title", has_text="Sent").wait_for(timeout=WAIT_MS)
    page.click(".folders a[data-folder=drafts]")
    page.locator("#list-status", has_text="No messages here.").wait_for()  # the draft went with the send
    page.click(".folders a[data-folder=sent]")  # one copy of a message to oneself: in Sent
    row(page, f"{tag}-draft")
    page.locator("#message-list .message-row", has_text=f"{tag}-draft").locator("a").click()
    page.locator("#read-details").wait_for()
    page.click("[data-action=star]")
    page.locator("#read-star", has_text="Remove the star").wait_for()
    page.click("[data-action=archive]")
    page.locator("#list-status", has_text="Moved to Archive.").wait_for()
    page.click(".folders a[data-folder=archive]")
    row(page, f"{tag}-draft")
    page.locator("#message-list .message-row", has_text=f"{tag}-draft").locator("a").click()
    page.locator("#read-details").wait_for()
    page.click("[data-action=delete]")
    page.locator("#list-status", has_text="Moved to Trash.").wait_for()
    page.click(".folders a[data-folder=trash]")
    row(page, f"{tag}-draft")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#empty-trash")
    page.locator("#list-status", has_text="Trash emptied").wait_for()
    assert page.locator("#message-list .message-row").count() == 0

    watcher.assert_clean(
        page, allowed(demo_server, {**fresh(tane, gone), f"/keys/v1/lookup?email=nobody-{tag}%40isecom.example": 404})
    )
    not_in_data(demo_server.data, [f"{tag}-draft", f"{tag}-dbody"])

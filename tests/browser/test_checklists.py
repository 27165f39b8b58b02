"""The 24-hour checklist in real browsers: two members in their own browsers share a case copy.

Mongolia (MN) starts a case three hours ago (so the first items are overdue), ticks with the
keyboard, shares the case with Iceland (IS) and writes an encrypted note; Iceland opens the
case, sees the tick and reads the note, whose signature checks against the author's key from
the key log. Python opens the label and the note the browsers made, and seals a note the
browser opens, live. Afterwards the demo server's data directory holds neither the label nor the note.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from isecom.crypto import casefile
from isecom.crypto.encoding import b64d, b64e
from tests.browser.test_mail import not_in_data
from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, plain
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
WAIT_MS = 40_000  # a checkpoint (5 s), key look-ups asked again, Argon2id


def unlock(page: Page, root: str) -> None:
    page.locator(f"#{root}[data-ready]").wait_for()
    page.fill("#unlock-password", PASSWORD)
    page.press("#unlock-password", "Enter")
    page.locator(f"#{root}[data-state=unlocked]").wait_for(timeout=KEYS_TIMEOUT_MS)


def test_two_members_share_a_case_tick_and_read_each_others_encrypted_notes(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    bat, b_step = activated(demo_server, "bat.erdene@isecom.example", "Bat Erdene", "MN", "Demo ACA")
    sigrun, s_step = activated(demo_server, "hekla.arnadottir@isecom.example", "Hekla Arnadottir", "IS", "Demo DPO")
    tag = secrets.token_hex(4)
    label, note = f"Operation Fictional {tag}-label", f"Bank account frozen at noon {tag}-note"

    starter, st_watch = browser_of(new_context, bat, b_step)
    starter.goto("/checklists")
    unlock(starter, "checklists")
    starter.locator("#cases-status", has_text="no case yet").wait_for()
    starter.fill("#case-label", label)
    # Three hours ago, in the browser's own time zone: the 1- and 2-hour items are overdue.
    starter.evaluate(
        """() => {
          const t = new Date(Date.now() - 3 * 3600 * 1000);
          t.setSeconds(0, 0);
          document.getElementById("case-start").value =
            new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
        }"""
    )
    starter.click("#start-form button[type=submit]")
    starter.wait_for_url("**/checklists/*")
    unlock(starter, "checklist")
    assert starter.text_content("#case-title") == label
    total = len(starter.request.get("/api/v1/checklist/template").json()["items"])
    assert starter.locator("#items input[type=checkbox]").count() == total
    assert "overdue" in (starter.get_attribute("#item-0-due", "class") or "")
    assert "overdue" in (starter.get_attribute("#item-1-due", "class") or "")
    assert "overdue" not in (starter.get_attribute("#item-2-due", "class") or "")
    assert "Overdue items: 2" in plain(starter.text_content("#case-progress"))

    # Tick with the keyboard: the first action has the focus after unlocking.
    starter.locator("#item-0").focus()
    starter.keyboard.press("Space")
    starter.locator("#item-0-tick", has_text="Bat Erdene").wait_for()
    assert starter.is_checked("#item-0")
    assert "overdue" not in (starter.get_attribute("#item-0-due", "class") or "")
    assert f"1 of {total} done" in plain(starter.text_content("#case-progress"))

    # Share with Iceland (keys checked in the key log), then write a note.
    starter.fill("#share-email", sigrun.member["email"])
    starter.click("#share-form button[type=submit]")
    starter.locator("#share-status", has_text="can now open this case").wait_for(timeout=WAIT_MS)
    starter.locator("#participants li", has_text="Hekla Arnadottir").wait_for()
    starter.fill("#note-text", note)
    starter.click("#note-form button[type=submit]")
    starter.locator("#notes .case-note", has_text=note).wait_for(timeout=WAIT_MS)

    # Iceland finds the case in the list (label decrypted), opens it and reads the note.
    reader, r_watch = browser_of(new_context, sigrun, s_step)
    reader.goto("/checklists")
    unlock(reader, "checklists")
    reader.locator("#case-list .case-row", has_text=label).locator("a").click()
    reader.wait_for_url("**/checklists/*")
    unlock(reader, "checklist")
    assert reader.text_content("#case-title") == label
    assert reader.is_checked("#item-0") and not reader.is_checked("#item-1")
    assert "Done by Bat Erdene" in plain(reader.text_content("#item-0-tick"))
    found = reader.locator("#notes .case-note", has_text=note)
    found.wait_for(timeout=WAIT_MS)
    assert "Signed by Bat Erdene (verified)" in plain(found.text_content())
    assert reader.evaluate("document.activeElement.id") == "item-0"  # the first action, after unlocking
    reader.keyboard.press("Tab")  # on to the next action, by keyboard
    assert reader.evaluate("document.activeElement.id") == "item-1"
    reader.keyboard.press("Space")
    reader.locator("#item-1-tick", has_text="Hekla Arnadottir").wait_for()
    # Live: the starter's open page shows the other participant's tick without a reload.
    starter.locator("#item-1-tick", has_text="Hekla Arnadottir").wait_for(timeout=WAIT_MS)
    assert starter.is_checked("#item-1")

    # Cross-language: Python opens what the browsers made, and the browser opens a note Python sealed.
    case_id = reader.url.rsplit("/", 1)[1]
    seen = reader.request.get(f"/api/v1/checklists/{case_id}").json()
    own = next(p for p in seen["participants"] if p["member"] == sigrun.member["id"])
    key = casefile.unwrap(
        sigrun.identity,
        b64d(own["enc_kid"]),
        b64d(own["wrap"]),
        bytes.fromhex(case_id),
        b64d(seen["case"]["key_commit"]),
    )
    assert casefile.open_label(key, bytes.fromhex(case_id), b64d(seen["case"]["label"])) == label
    notes = reader.request.get(f"/api/v1/checklists/{case_id}/notes").json()["notes"]
    assert casefile.open_note(key, bytes.fromhex(case_id), b64d(notes[0]["note"]), bat.identity.sig_pk).text == note
    reply = f"Seized as agreed {tag}-python"
    sealed = casefile.seal_note(key, bytes.fromhex(case_id), sigrun.identity, reply, created_ms=int(time.time() * 1000))
    csrf = reader.request.get("/api/v1/session").json()["csrf_token"]
    posted = reader.request.post(
        f"/api/v1/checklists/{case_id}/notes",
        data={"note": b64e(sealed)},
        headers={"X-CSRF-Token": csrf, "Origin": demo_server.url},
    )
    assert posted.status == 201, posted.text()
    found = starter.locator("#notes .case-note", has_text=reply)
    found.wait_for(timeout=WAIT_MS)
    assert "Signed by Hekla Arnadottir (verified)" in plain(found.text_content())

    refusals = fresh(bat, sigrun)
    st_watch.assert_clean(starter, allowed(demo_server, refusals))
    r_watch.assert_clean(reader, allowed(demo_server, refusals))
    not_in_data(demo_server.data, [f"{tag}-label", f"{tag}-note", f"{tag}-python"])


def test_an_administrator_publishes_a_new_template_version_by_keyboard_and_members_cannot(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    tag = secrets.token_hex(4)
    admin, a_step = activated(
        demo_server, f"tiva.admin.{tag}@isecom.example", "Tiva Admin", "FJ", "Demo Ops", role="admin"
    )
    member, m_step = activated(demo_server, f"losa.member.{tag}@isecom.example", "Losa Member", "FJ", "Demo FIU")
    page, watcher = browser_of(new_context, admin, a_step)
    before = page.request.get("/api/v1/checklist/template").json()
    page.goto("/admin/checklist")
    page.locator("#checklist-admin[data-ready]").wait_for()
    assert page.locator("#template-items fieldset").count() == len(before["items"])
    page.click("#add-item")
    page.keyboard.type("Follow-up")  # the new item's first field has the focus
    new = page.locator("#template-items fieldset").last
    new.locator("[data-name=title]").fill(f"Check the freezing order {tag}")
    new.locator("[data-name=due_hours]").fill("30")
    new.get_by_role("button", name="Move up").click()
    page.click("#template-form button[type=submit]")
    page.locator("#template-status", has_text="Saved as version").wait_for()
    after = page.request.get("/api/v1/checklist/template").json()
    assert after["version"] == before["version"] + 1 and len(after["items"]) == len(before["items"]) + 1
    assert after["items"][-2] == {
        "section": "Follow-up",
        "title": f"Check the freezing order {tag}",
        "guidance": "",
        "due_hours": 30,
    }
    old = page.request.get(f"/api/v1/checklist/template/{before['version']}").json()
    assert old["items"] == before["items"]  # the old version stays for the cases that use it
    watcher.assert_clean(page, allowed(demo_server, fresh(admin, member)))

    other, o_watch = browser_of(new_context, member, m_step)
    other.goto("/admin/checklist")
    other.locator("#template-status", has_text="Only platform administrators").wait_for()
    assert other.locator("#template-form").is_hidden()
    o_watch.assert_clean(other, allowed(demo_server, fresh(admin, member)))

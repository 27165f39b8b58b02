"""The Focal Point directory in a real browser: a member edits their profile, an NCB head finds
them with the directory filters, edits the country profile (revisions, history, a conflict that
loses nothing) and writes to them from the country page, where compose shows the recipient's
country in its side panel.

Members are made here in Portugal (PT), a country no other browser test uses.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from tests.browser.test_revocation import activated, allowed, browser_of, fresh
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, plain
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
WAIT_MS = 40_000


def test_profiles_directory_filters_country_profile_history_and_the_compose_panel(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    tiago, t_step = activated(demo_server, "tiago.costa@isecom.example", "Tiago Costa", "PT", "Demo Polícia")
    ines, i_step = activated(
        demo_server, "ines.barros@isecom.example", "Inês Barros", "PT", "Demo NCB Lisboa", "ncb_head"
    )

    # The member edits their own profile, with the keyboard where it matters.
    page, watcher = browser_of(new_context, tiago, t_step)
    page.goto("/account/profile")
    page.fill("#position", "Financial investigator (fictional)")
    page.fill("#phone", "+351 21 000 0000")
    page.check("input[name=languages][value=pt]")
    page.check("input[name=languages][value=en]")
    page.fill("#languages-other", "ro")
    page.check("input[name=availability][value=office]")
    page.fill("#timezone", "Europe/Lisbon")
    page.fill("#hours", "09:00-17:00")
    page.check("input[name=expertise][value=virtual_assets]")
    page.fill("#hours", "9 to 5")
    page.focus("#profile-form button[type=submit]")
    page.keyboard.press("Enter")
    page.locator("#hours[aria-invalid=true]").wait_for()
    assert "HH:MM-HH:MM" in (page.text_content("#hours-error") or "")
    page.fill("#hours", "09:00-17:00")
    page.click("#profile-form button[type=submit]")
    page.locator("#profile-status.ok").wait_for()
    page.reload()
    assert page.input_value("#languages-other") == "ro"
    assert page.is_checked("input[name=expertise][value=virtual_assets]")
    watcher.assert_clean(page, allowed(demo_server, {**fresh(tiago), "/api/v1/profiles/" + tiago.member["id"]: 400}))

    # The NCB head finds them with the directory filters (server-side).
    head, head_watcher = browser_of(new_context, ines, i_step)
    head.goto("/directory")
    head.locator("#directory[data-loaded]").wait_for()
    assert head.input_value("#directory-country") == "PT"
    head.select_option("#directory-language", "pt")
    head.select_option("#directory-expertise", "virtual_assets")
    head.click("#directory-form button[type=submit]")
    head.locator("#directory-list li", has_text="Tiago Costa").wait_for()
    assert head.locator("#directory-list li").count() == 1
    row = head.locator("#directory-list li").first
    assert "Europe/Lisbon" in (row.text_content() or "")
    assert row.locator("a", has_text="Edit profile").count() == 1  # their country's member
    head.select_option("#directory-expertise", "tax_crime")
    head.click("#directory-form button[type=submit]")
    head.locator("#directory-status", has_text="No member matches").wait_for()

    # The NCB head writes the country profile; Markdown is shown safely.
    head.goto("/countries/PT")
    head.click("#edit-country")
    head.wait_for_url("**/countries/PT/edit")
    head.fill("#freezing", "Demo text: a prosecutor may freeze for a short time.")
    head.check("input[name=ncbc][value=partial]")
    head.check("input[name=working_languages][value=pt]")
    head.fill("#section-legislative", "## Demo statute\n\n- one\n- two\n\n<script>window.__pwned = 1</script>")
    head.click("#country-form button[type=submit]")
    head.locator("#country-form[data-state=saved]").wait_for()
    assert "revision 1" in plain(head.text_content("#country-status"))
    head.fill("#freezing", "Demo text: a prosecutor may freeze for 10 days.")
    head.click("#country-form button[type=submit]")
    head.locator("#country-form[data-base='2']").wait_for()

    # Someone saves revision 3 meanwhile: this form (still at 2) gets the conflict and keeps the text.
    csrf = head.request.get("/api/v1/session").json()["csrf_token"]
    other = head.request.put(
        "/api/v1/countries/PT",
        data={"base_revision": 2, "freezing": "Saved elsewhere.", "sections": {}},
        headers={"X-CSRF-Token": csrf, "Origin": demo_server.url},
    )
    assert other.status == 200, other.text()
    head.fill("#mla_route", "Demo text: through the central authority.")
    head.click("#country-form button[type=submit]")
    head.locator("#country-form[data-state=conflict]").wait_for()
    assert "Someone else saved" in plain(head.text_content("#country-status"))
    assert head.input_value("#mla_route") == "Demo text: through the central authority."

    head.goto("/countries/PT")
    assert "Saved elsewhere." in (head.text_content("#country-profile") or "")
    head.click("text=Revision history")
    head.wait_for_url("**/countries/PT/history")
    assert head.locator("#revisions tbody tr").count() == 3
    head.click("a[href='/countries/PT/history/2']")
    head.locator("#old-revision").wait_for()
    profile = head.locator("#country-profile")
    assert "for 10 days" in (profile.text_content() or "")
    assert profile.locator("h2, h3", has_text="Demo statute").count() == 1
    assert "<script>" in (profile.text_content() or "")  # shown as text, never run
    assert head.evaluate("() => window.__pwned") is None

    # "Write to" on the country page opens compose with the recipient, and the side panel shows
    # the recipient's country.
    head.goto("/countries/PT")
    head.click(f"#focal-points li[data-member='{tiago.member['id']}'] a[href^='/mail?to=']")
    head.wait_for_url("**/mail?to=*")
    head.locator("#mail[data-ready]").wait_for()
    head.fill("#unlock-password", PASSWORD)
    head.press("#unlock-password", "Enter")
    head.locator("#mail[data-state=unlocked]").wait_for(timeout=KEYS_TIMEOUT_MS)
    head.locator("#compose-view").wait_for()
    assert head.input_value("#compose-to") == "tiago.costa@isecom.example"
    panel = head.locator("#compose-country-panel[data-countries=PT]")
    panel.wait_for(timeout=WAIT_MS)
    assert "Saved elsewhere." in (panel.text_content() or "")
    assert panel.locator("a[href='/countries/PT']").count() == 1
    head_watcher.assert_clean(head, allowed(demo_server, {**fresh(tiago, ines), "/api/v1/countries/PT": 409}))


def test_an_administrator_creates_edits_and_deletes_an_event(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    admin, step = activated(
        demo_server, "rui.admin@isecom.example", "Rui Admin", "PT", "Demo Platform Operations", "admin"
    )
    page, watcher = browser_of(new_context, admin, step)
    page.goto("/events")
    page.select_option("#event-kind", "working_group")
    page.fill("#event-title", "Working group on asset management (fictional)")
    page.fill("#event-starts", "2030-03-04")
    page.fill("#event-ends", "2030-03-05")
    page.fill("#event-place", "Online")
    page.fill("#event-description", "**Agenda** to follow.")
    page.fill("#event-documents", "Terms of reference | https://conference.example/tor\nno address here")
    page.click("#event-form button[type=submit]")
    page.locator("#event-status.error").wait_for()  # a document line without "|" is refused before sending
    page.fill("#event-documents", "Terms of reference | https://conference.example/tor")
    page.click("#event-form button[type=submit]")
    event = page.locator("#upcoming li.event", has_text="Working group on asset management (fictional)")
    event.wait_for()
    assert event.locator("strong", has_text="Agenda").count() == 1
    assert event.locator("a[href='https://conference.example/tor']").count() == 1

    event.locator("button[data-edit]").click()
    assert page.evaluate("() => document.activeElement.id") == "event-form-title"
    assert page.input_value("#event-place") == "Online"
    page.fill("#event-place", "Harbour hall (fictional)")
    page.click("#event-form button[type=submit]")
    page.locator("#upcoming li.event", has_text="Harbour hall (fictional)").wait_for()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#upcoming li.event", has_text="Harbour hall (fictional)").locator("button[data-delete]").click()
    page.locator("#upcoming li.event", has_text="Harbour hall (fictional)").wait_for(state="detached")
    watcher.assert_clean(page, allowed(demo_server, fresh(admin)))

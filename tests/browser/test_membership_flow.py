"""Membership in a real browser: apply, confirm the address, nomination, authorization; administration.

The demo server is shared by every browser test and activation consumes a link, so these tests use
demo members nobody else activates: paul.girard (head of the Demo Asset Recovery Office, FR) and
lina.moreau (NCB head, FR) review the applications; ada.admin administers; camille.roux (no role)
sees what a member without those roles sees, and is suspended, reinstated and given new keys.
Mail is read from the server's sink folder, where its background mailer delivers every ~2 s.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import urllib.request
from collections.abc import Callable
from datetime import date
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page

from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d
from isecom.types import Language
from tests.browser.conftest import Watcher, expected_refusals, watch
from tests.browser.test_pages import demo_token
from tests.browser.test_signin_flow import (
    PASSWORD,
    activate_in_browser,
    api_paths,
    drifted_code,
    next_code,
    plain,
    sign_in,
    signed_in,
)
from tests.conftest import LiveServer
from webmail.i18n import Catalogs

pytestmark = pytest.mark.browser

CATALOGS = Catalogs.load(Language.EN)
MAIL_TIMEOUT = 20.0
AGENCY = "Demo Asset Recovery Office"
APPLICANT = {  # fictional
    "name": "Noémie Laurent",
    "email": "noemie.laurent@aro-demo.example",
    "phone": "+33 1 23 45 67 89",
    "position": "Financial investigator",
}
AUDIT_FIRST_PAGE = "/api/v1/admin/audit?limit=200"


def translated(lang: str, message: str) -> str:
    return CATALOGS.get(Language(lang)).gettext(message)


# --- mail from the sink folder -------------------------------------------------------------------


def wait_for_mail(server: LiveServer, to: str, subject: str, containing: str = "") -> EmailMessage:
    """The first mail in the sink to ``to`` with ``subject`` whose body contains ``containing``."""
    sink = server.data / "mail-sink"
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        for path in sorted(sink.glob("*.eml")) if sink.is_dir() else []:
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            if message["To"] == to and message["Subject"] == subject and containing in body(message):
                return message
        if time.monotonic() > deadline:
            found = [path.name for path in sink.glob("*.eml")] if sink.is_dir() else []
            pytest.fail(f"no mail to {to} with subject {subject!r} within {MAIL_TIMEOUT} s (sink: {found})")
        time.sleep(0.25)


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, server: LiveServer, path: str) -> str:
    """The link to ``path`` in a mail, as a path with its fragment (the context has the base URL)."""
    match = re.search(rf"{re.escape(server.url)}({re.escape(path)}(?:#\S+)?)", body(message))
    assert match, f"no link to {path} in:\n{body(message)}"
    return match[1]


# --- members ------------------------------------------------------------------------------------


def activated_and_signed_in(
    new_context: Callable[..., BrowserContext], server: LiveServer, email: str, name: str, **options: object
) -> tuple[Page, Watcher]:
    """A demo member activated in this browser and signed in (on /home)."""
    page, watcher = watch(new_context(**options))
    secret = activate_in_browser(page, demo_token(server, email))
    code, step = drifted_code(secret)
    page.fill("#totp-code", code)
    page.click("#step-totp button[type=submit]")
    page.check("#recovery-stored")
    page.click("#step-recovery button[type=submit]")
    page.locator("#step-done").wait_for()
    code, _ = next_code(secret, step)
    sign_in(page, email, PASSWORD, code)
    signed_in(page, name)
    return page, watcher


def post_json(server: LiveServer, path: str, payload: dict[str, object]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{server.url}{path}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Origin": server.url},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        return int(response.status)


def settled(page: Page) -> Page:
    """Wait until the page has fetched everything, its icon too (fetched after "load"): leaving a
    page sooner aborts that request, which the watcher reports."""
    page.wait_for_load_state("networkidle")
    return page


def shows(locator: Locator, text: str, timeout: float = 10.0) -> None:
    """Wait until ``locator`` reads ``text``, without the Unicode isolates the page puts around values."""
    deadline = time.monotonic() + timeout
    while text not in plain(locator.text_content()):
        if time.monotonic() > deadline:
            pytest.fail(f"{locator} never showed {text!r}; it shows {plain(locator.text_content())!r}")
        time.sleep(0.1)


def card(page: Page, kind: str, name: str) -> Locator:
    return page.locator(f"#{kind}-list li.application", has=page.locator("h3", has_text=name))


# --- applying -----------------------------------------------------------------------------------


def test_the_application_form_shows_each_error_next_to_its_field(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    page, watcher = watch(new_context())
    page.goto("/")
    settled(page).click("text=Apply for membership")
    page.wait_for_url("**/apply")
    sent = api_paths(page)

    # Nothing filled in: every field says what it needs, the keyboard is on the first one, nothing is sent.
    page.click("#apply-form button[type=submit]")
    page.locator("#apply-status.error").wait_for()
    for field in ("name", "email", "phone", "agency", "country", "position", "languages", "nominator"):
        assert page.text_content(f"#apply-{field}-error"), field
        assert page.get_attribute(f"#apply-{field}", "aria-invalid") == "true", field
    assert page.evaluate("() => document.activeElement.id") == "apply-name"
    assert sent == []

    # Typing clears a field's error.
    page.fill("#apply-name", APPLICANT["name"])
    assert page.text_content("#apply-name-error") == ""
    assert page.get_attribute("#apply-name", "aria-invalid") is None

    # An error only the server finds is shown next to the field it names.
    page.fill("#apply-email", APPLICANT["email"])
    page.fill("#apply-phone", APPLICANT["phone"])
    page.fill("#apply-agency", AGENCY)
    page.select_option("#apply-country", "FR")
    page.fill("#apply-position", APPLICANT["position"])
    page.check("#apply-languages input[value=fr]")
    page.fill("#apply-nominator", "paul.girard@-not-a-domain-.example")
    with page.expect_response("**/api/v1/applications") as refused:
        page.click("#apply-form button[type=submit]")
    assert refused.value.status == 400
    assert refused.value.json()["error"]["field"] == "nominator_email"
    error = page.locator("#apply-nominator-error")
    error.filter(has_text="head of your agency").wait_for()
    assert page.get_attribute("#apply-nominator", "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "apply-nominator"
    assert page.is_visible("#apply-form") and page.is_hidden("#apply-done")
    watcher.assert_clean(page, allow_console=expected_refusals(demo_server.url, {"/api/v1/applications": 400}))


def test_the_application_form_in_arabic(new_context: Callable[..., BrowserContext]) -> None:
    page, watcher = watch(new_context(extra_http_headers={"Accept-Language": "ar"}))
    page.goto("/apply")
    assert (page.get_attribute("html", "lang"), page.get_attribute("html", "dir")) == ("ar", "rtl")
    assert page.text_content("h1") == translated("ar", "Apply for membership")
    options = page.locator("#apply-country option")
    assert options.count() == 250  # "choose" and the 249 ISO 3166 countries
    assert page.locator("#apply-country option[value=FR]").text_content() == "فرنسا"
    assert page.locator("#apply-country option[value=JO]").text_content() == "الأردن"
    assert "العربية" in (page.text_content("#apply-languages") or "")
    page.click("#apply-form button[type=submit]")
    expected = translated("ar", "Choose at least one working language.")
    assert expected != "Choose at least one working language."
    page.locator("#apply-languages-error").filter(has_text=expected).wait_for()
    watcher.assert_clean(page)


# --- the whole way through ----------------------------------------------------------------------


def test_apply_confirm_nominate_authorize_and_the_activation_mail(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    paul, paul_watch = activated_and_signed_in(new_context, demo_server, "paul.girard@isecom.example", "Paul Girard")
    lina, lina_watch = activated_and_signed_in(new_context, demo_server, "lina.moreau@isecom.example", "Lina Moreau")

    # The applicant fills the form in the browser.
    applicant, applicant_watch = watch(new_context())
    applicant.goto("/apply")
    applicant.fill("#apply-name", APPLICANT["name"])
    applicant.fill("#apply-email", APPLICANT["email"])
    applicant.fill("#apply-phone", APPLICANT["phone"])
    applicant.fill("#apply-agency", AGENCY)
    applicant.select_option("#apply-country", "FR")
    applicant.fill("#apply-position", APPLICANT["position"])
    applicant.check("#apply-languages input[value=en]")
    applicant.check("#apply-languages input[value=fr]")
    applicant.fill("#apply-nominator", "paul.girard@isecom.example")
    with applicant.expect_response("**/api/v1/applications") as submitted:
        applicant.press("#apply-nominator", "Enter")
    assert submitted.value.status == 202
    sent = submitted.value.request.post_data_json
    assert sent["languages"] == ["en", "fr"] and sent["country"] == "FR" and sent["language"] == "en"
    applicant.locator("#apply-done").wait_for()
    assert applicant.is_hidden("#apply-form")
    assert APPLICANT["email"] in plain(applicant.text_content("#apply-done-text"))
    assert applicant.evaluate("() => document.activeElement.id") == "apply-done-title"

    # The confirmation mail, and its link opened in the browser.
    mail = wait_for_mail(demo_server, APPLICANT["email"], "Confirm your application to isecom")
    link = link_in(mail, demo_server, "/apply/confirm")
    with applicant.expect_response("**/api/v1/applications/confirm") as confirmed:
        applicant.goto(link)
    assert confirmed.value.status == 200 and confirmed.value.json() == {"status": "pending_nomination"}
    applicant.locator("#confirm-next").wait_for()
    assert applicant.get_attribute("#confirm-status", "class") == "status ok"
    assert "nominate" in (applicant.text_content("#confirm-next") or "")
    assert "#" not in applicant.url, "the used token stays in the address bar"

    # A second applicant of the same agency, through the API; the agency head will reject them.
    other = {**APPLICANT, "name": "Hugo Bernard", "email": "hugo.bernard@aro-demo.example"}
    payload = {**other, "agency": AGENCY, "country": "FR", "languages": ["fr"], "language": "fr"}
    nominated = {**payload, "nominator_email": "paul.girard@isecom.example"}
    assert post_json(demo_server, "/api/v1/applications", nominated) == 202
    other_mail = wait_for_mail(demo_server, other["email"], translated("fr", "Confirm your application to isecom"))
    token = link_in(other_mail, demo_server, "/apply/confirm").partition("#")[2]
    assert post_json(demo_server, "/api/v1/applications/confirm", {"token": token}) == 200

    # The agency head is told (in French, his language) and reviews from /home.
    wait_for_mail(
        demo_server,
        "paul.girard@isecom.example",
        translated("fr", "An application is waiting for your nomination"),
        APPLICANT["name"],
    )
    paul.reload()
    settled(paul).click("a[href='/review']")
    paul.wait_for_url("**/review")
    noemie, hugo = card(paul, "nomination", APPLICANT["name"]), card(paul, "nomination", other["name"])
    noemie.wait_for()
    details = noemie.text_content() or ""
    for fact in (APPLICANT["email"], APPLICANT["phone"], AGENCY, "France", APPLICANT["position"], "English and French"):
        assert fact in details, fact
    assert paul.is_hidden("#authorization-list"), "an agency head does not authorize"

    # A rejection without a reason is refused: by the page, before any request, and by the server.
    sent_by_paul = api_paths(paul)
    hugo.locator('button[data-decision="no"]').click()
    reason_error = hugo.locator(".field-error").filter(has_text="Give a reason for the rejection")
    reason_error.wait_for()
    assert hugo.locator("textarea").get_attribute("aria-invalid") == "true"
    assert paul.evaluate("() => document.activeElement.tagName") == "TEXTAREA"
    assert sent_by_paul == []
    hugo_id = hugo.locator("code.id").text_content()
    csrf = paul.request.get("/api/v1/session").json()["csrf_token"]
    refused = paul.request.post(
        f"/api/v1/applications/{hugo_id}/nomination",
        data={"endorse": False, "reason": "  "},
        headers={"X-CSRF-Token": csrf, "Origin": demo_server.url},
    )
    assert refused.status == 400 and refused.json()["error"]["field"] == "reason"

    # With a reason, the rejection goes through, the list updates and the applicant is told why.
    hugo.locator("textarea").fill("Not a member of this agency.")
    with paul.expect_response(lambda r: r.url.endswith(f"{hugo_id}/nomination")) as rejected:
        hugo.locator('button[data-decision="no"]').click()
    assert rejected.value.status == 204
    shows(paul.locator("#review-status.ok"), f"You rejected the application of {other['name']}")
    assert hugo.count() == 0 and noemie.count() == 1
    rejection = wait_for_mail(demo_server, other["email"], translated("fr", "Your application to isecom"))
    assert "Not a member of this agency." in body(rejection)

    # The agency head endorses the first applicant: the endorsement is signed with his key, which
    # his password unlocks in the browser; without it, or with a wrong one, nothing is sent.
    sent_by_paul.clear()
    noemie.locator('button[data-decision="yes"]').click()
    paul.locator("#signature-password-error").filter(has_text="Enter your password").wait_for()
    assert paul.evaluate("() => document.activeElement.id") == "signature-password"
    paul.fill("#signature-password", "not the right passphrase")
    noemie.locator('button[data-decision="yes"]').click()
    paul.locator("#signature-password-error").filter(has_text="does not open your key").wait_for()
    assert not any(path.endswith("/nomination") for path in sent_by_paul)
    paul.fill("#signature-password", PASSWORD)
    with paul.expect_response(lambda r: r.url.endswith("/nomination")) as endorsed:
        noemie.locator('button[data-decision="yes"]').click()
    assert endorsed.value.status == 204
    sent = endorsed.value.request.post_data_json
    assert sent["endorse"] is True and set(sent) == {"endorse", "statement"}
    nomination = keytrans.parse_decision(b64d(sent["statement"]))  # the browser's bytes, read by Python
    assert nomination.kind is keytrans.ApprovalKind.NOMINATION
    assert (nomination.email, nomination.name, nomination.country, nomination.agency) == (
        APPLICANT["email"],
        APPLICANT["name"],
        "FR",
        AGENCY,
    )
    paul.locator("#review-status.ok").filter(has_text="You endorsed the application").wait_for()
    paul.locator("#nomination-empty").wait_for()
    assert paul.locator("#nomination-list li").count() == 0

    # The NCB head is told and authorizes, for one year.
    wait_for_mail(
        demo_server,
        "lina.moreau@isecom.example",
        translated("fr", "An application is waiting for your authorization"),
        APPLICANT["name"],
    )
    lina.goto("/review")
    pending = card(lina, "authorization", APPLICANT["name"])
    pending.wait_for()
    assert lina.is_hidden("#nomination-list"), "an NCB head does not nominate"
    term = pending.locator('input[type="number"]')
    assert term.input_value() == "730"
    term.fill("0")
    pending.locator('button[data-decision="yes"]').click()
    pending.locator(".field-error").filter(has_text="between 1 and 1825 days").wait_for()
    term.fill("365")
    lina.fill("#signature-password", PASSWORD)
    with lina.expect_response(lambda r: r.url.endswith("/authorization")) as authorized:
        pending.locator('button[data-decision="yes"]').click()
    assert authorized.value.status == 204
    sent = authorized.value.request.post_data_json
    assert (sent["approve"], sent["term_days"]) == (True, 365)
    signed = keytrans.parse_decision(b64d(sent["statement"]))
    assert signed.kind is keytrans.ApprovalKind.AUTHORIZATION and signed.nomination == nomination.hash
    assert abs(signed.not_after - (time.time() + 365 * 86400)) < 3600
    lina.locator("#review-status.ok").filter(has_text="You authorized the membership").wait_for()
    lina.locator("#authorization-empty").wait_for()

    # The applicant's activation mail arrives, with a link the activation page accepts.
    approved = wait_for_mail(demo_server, APPLICANT["email"], "Your isecom account is ready to activate")
    activation = link_in(approved, demo_server, "/activate")
    with applicant.expect_response("**/api/v1/activation/check") as check:
        applicant.goto(activation)
    assert check.value.status == 200 and check.value.json()["name"] == APPLICANT["name"]
    applicant.locator("#step-password").wait_for()

    applicant_watch.assert_clean(applicant)
    paul_watch.assert_clean(paul)
    lina_watch.assert_clean(lina)


# --- a member without a role, and the administrator ---------------------------------------------


def test_administration_audit_log_csv_and_membership_actions(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer, tmp_path: Path
) -> None:
    camille, camille_watch = activated_and_signed_in(
        new_context, demo_server, "camille.roux@isecom.example", "Camille Roux"
    )
    camille_id = camille.request.get("/api/v1/me").json()["id"]

    # A member without a reviewing role: no links, nothing to review, and no administration.
    assert camille.locator("a[href='/review'], a[href='/admin']").count() == 0
    camille.locator("#events-list li").first.wait_for()
    events = camille.text_content("#events-list") or ""
    assert "Signed in" in events and "Account activated" in events
    settled(camille).goto("/review")
    assert "Nothing is waiting for you here" in (camille.text_content("main") or "")
    assert camille.locator("#nomination-list, #authorization-list").count() == 0
    with camille.expect_response(lambda r: "/api/v1/admin/audit" in r.url) as forbidden:
        settled(camille).goto("/admin")
    assert forbidden.value.status == 403
    camille.locator("#admin-status.error").filter(has_text="for platform administrators only").wait_for()
    assert camille.is_hidden("#admin-tools")
    camille_watch.assert_clean(camille, allow_console=expected_refusals(demo_server.url, {AUDIT_FIRST_PAGE: 403}))

    # The administrator: the audit log, newest first.
    ada, ada_watch = activated_and_signed_in(new_context, demo_server, "ada.admin@isecom.example", "Ada Admin")
    settled(ada).click("a[href='/admin']")
    ada.wait_for_url("**/admin")
    ada.locator("#admin-tools").wait_for()
    assert ada.locator("#audit-rows tr").count() > 0
    assert ada.locator("#audit-rows tr").first.locator("td").nth(1).text_content() == "signin.success"

    # Filtered by action and member.
    ada.fill("#audit-action", "member.activated")
    ada.fill("#audit-subject", camille_id)
    today = date.today().isoformat()
    ada.fill("#audit-since", today)
    ada.fill("#audit-until", today)
    with ada.expect_response(lambda r: "/api/v1/admin/audit?" in r.url) as filtered:
        ada.click("#audit-filters button[type=submit]")
    assert filtered.value.ok
    rows = ada.locator("#audit-rows tr")
    shows(ada.locator("#audit-count"), "Entries shown: 1 ")
    assert rows.count() == 1 and camille_id in (rows.first.text_content() or "")

    # The CSV export downloads the same entries.
    assert "format=csv" in (ada.get_attribute("#audit-csv", "href") or "")
    with ada.expect_download() as download:
        ada.click("#audit-csv")
    assert download.value.suggested_filename == "isecom-audit.csv"
    saved = tmp_path / "audit.csv"
    download.value.save_as(saved)
    exported = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert exported[0] == ["at", "actor", "action", "subject", "detail"]
    assert [(row[2], row[3]) for row in exported[1:]] == [("member.activated", camille_id)]

    # Suspend camille, picking her id from the log; a reason is required.
    rows.first.locator("button").click()
    assert ada.input_value("#membership-id") == camille_id
    assert ada.evaluate("() => document.activeElement.id") == "membership-id"
    ada.select_option("#membership-action", "suspend")
    sent = api_paths(ada)
    ada.click("#membership-form button[type=submit]")
    ada.locator("#membership-reason-error").filter(has_text="Give a reason").wait_for()
    assert sent == []
    ada.fill("#membership-reason", "Demo: laptop reported stolen.")
    with ada.expect_response(lambda r: r.url.endswith(f"/{camille_id}/suspend")) as suspended:
        ada.click("#membership-form button[type=submit]")
    assert suspended.value.status == 200
    shows(ada.locator("#membership-status.ok"), "Camille Roux (camille.roux@isecom.example) is now suspended.")
    settled(camille).goto("/home")
    camille.wait_for_url("**/signin")  # suspension ended her sessions

    # Reinstating works once; a second time is refused for the member's status.
    ada.select_option("#membership-action", "reinstate")
    for expected in ("is now active", "does not fit the member’s current status"):
        ada.fill("#membership-reason", "Demo: laptop found.")
        ada.click("#membership-form button[type=submit]")
        shows(ada.locator("#membership-status"), expected)

    # New keys: the warning must be acknowledged; then the member gets a new activation link.
    assert "becomes unreadable" in (ada.text_content("#keys-warning") or "")
    ada.fill("#keys-id", camille_id)
    ada.fill("#keys-reason", "Demo: lost password and recovery code.")
    ada.click("#keys-form button[type=submit]")
    ada.locator("#keys-understood-error").filter(has_text="old mail").wait_for()
    ada.check("#keys-understood")
    with ada.expect_response(lambda r: r.url.endswith("/reset-keys")) as reset:
        ada.click("#keys-form button[type=submit]")
    assert reset.value.status == 200
    ada.locator("#keys-status.ok").filter(has_text="new activation link").wait_for()
    mail = wait_for_mail(
        demo_server, "camille.roux@isecom.example", translated("fr", "New keys for your isecom account")
    )
    assert link_in(mail, demo_server, "/activate").startswith("/activate#")

    ada_watch.assert_clean(
        ada, allow_console=expected_refusals(demo_server.url, {f"/api/v1/admin/members/{camille_id}/reinstate": 409})
    )

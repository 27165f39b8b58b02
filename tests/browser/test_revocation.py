"""Revoking keys in a real browser, checked across implementations (PROTOCOL.md §9.5, §9.8).

The members are made here with ``isecom admin create-member`` in countries no other browser test
uses: in Norway (NO) ingrid.berg revokes her own keys on /home, and lars.haugen's contact page and
the Python key ring (signed in as kari.dahl) then refuse them as revoked; in Denmark (DK) the NCB
head mette.hansen revokes soren.nielsen's keys from his contact page, while aino.virtanen, the NCB
head of Finland (FI), reading in Arabic, is not offered the form and is refused by the API. Each
signed revocation the browser posted is parsed and checked with the Python code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Response

from isecom.client import Client
from isecom.client.keyring import KeyProblem, KeyRing
from isecom.client.session import Activated
from isecom.config import load as load_config
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e
from tests.browser.conftest import Watcher, expected_refusals, watch
from tests.browser.test_account_recovery import activate_with_client, create_member, in_thread
from tests.browser.test_membership_flow import translated
from tests.browser.test_signin_flow import KEYS_TIMEOUT_MS, PASSWORD, next_code, plain, sign_in, signed_in
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser
WAIT_MS = 40_000  # the next checkpoint (5 s), look-ups asked again, Argon2id for the signature
TOKYO = ZoneInfo("Asia/Tokyo")


def activated(
    server: LiveServer, email: str, name: str, country: str, agency: str, role: str = ""
) -> tuple[Activated, int]:
    if role:
        made = run_cli(
            "admin", "create-member", "--email", email, "--name", name, "--country", country,
            "--agency", agency, "--role", role, data=server.data,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().rsplit("#", 1)[1]
    else:
        token = create_member(server, email, name, country, agency)
    return activate_with_client(server, token)


def browser_of(
    new_context: Callable[..., BrowserContext], who: Activated, step: int, **options: Any
) -> tuple[Page, Watcher]:
    page, watcher = watch(new_context(**options))
    code, _ = next_code(who.totp_secret, step)
    sign_in(page, who.member["email"], PASSWORD, code)
    signed_in(page, who.member["name"])
    return page, watcher


def allowed(server: LiveServer, refusals: dict[str, int]) -> Callable[[ConsoleMessage], bool]:
    """Console errors for the answers the pages expect: 404 for members whose keys wait for the
    first checkpoint holding them (the key ring asks again), plus ``refusals``."""
    return expected_refusals(server.url, refusals)


def fresh(*members: Activated) -> dict[str, int]:
    return {f"/keys/v1/members/{m.member['id']}": 404 for m in members}


def logged(page: Page, member_id: str) -> dict[str, Any]:
    """The member's look-up answer, once its newest leaf is in a signed checkpoint."""
    deadline = time.monotonic() + 30
    while True:
        response = page.request.get(f"/keys/v1/members/{member_id}")
        if response.ok and not response.json()["pending"]:
            answer: dict[str, Any] = response.json()
            return answer
        assert time.monotonic() < deadline, response.status
        time.sleep(0.5)


def leaves_of(answer: dict[str, Any], kind: int) -> list[tuple[int, bytes]]:
    found = [(e["index"], keytrans.parse_leaf(b64d(e["leaf"]))) for e in answer["entries"]]
    return [(index, leaf.obj) for index, leaf in found if leaf.kind == kind]


def is_revocation_post(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/keys/v1/revocations")


def field_error(page: Page, field: str, text: str) -> None:
    page.locator(f"#revoke-{field}-error").filter(has_text=text).wait_for(timeout=KEYS_TIMEOUT_MS)
    assert page.get_attribute(f"#revoke-{field}", "aria-invalid") == "true"


def local_input(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


def test_a_member_revokes_their_own_keys_and_every_client_refuses_them(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    agency = "Demo Økokrim"
    ingrid, i_step = activated(demo_server, "ingrid.berg@isecom.example", "Ingrid Berg", "NO", agency)
    lars, l_step = activated(demo_server, "lars.haugen@isecom.example", "Lars Haugen", "NO", agency)
    kari, k_step = activated(demo_server, "kari.dahl@isecom.example", "Kari Dahl", "NO", agency)
    iid = ingrid.member["id"]
    page, watcher = browser_of(new_context, ingrid, i_step, timezone_id="Asia/Tokyo")
    page.locator("#key-audit[data-state]").wait_for(timeout=WAIT_MS)
    assert page.get_attribute("#key-audit", "data-state") == "ok", page.text_content("#key-audit-status")

    # A danger zone, closed until asked for; opened with the keyboard.
    assert not page.is_visible("#revoke-form")
    assert "someone else’s hands" in (page.text_content("#revoke-own") or "")
    page.focus("#revoke-own-details summary")
    page.keyboard.press("Enter")
    page.locator("#revoke-form").wait_for()
    details = plain(page.text_content("#revoke-own-details"))
    assert "Nothing is deleted" in details and "new keys from your NCB head or an administrator" in details

    # Refused in the page, before anything is signed or sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/keys/v1/revocations" in r.url else None)
    page.click("#revoke-form button[type=submit]")
    field_error(page, "password", "Enter your password")
    page.fill("#revoke-password", PASSWORD)
    page.click("#revoke-form button[type=submit]")
    field_error(page, "confirm", "Tick the box")
    page.check("#revoke-confirm")
    now_tokyo = datetime.now(TOKYO)
    page.fill("#revoke-effective", local_input(now_tokyo + timedelta(days=1)))
    page.click("#revoke-form button[type=submit]")
    field_error(page, "effective", "cannot be in the future")
    page.fill("#revoke-effective", local_input(now_tokyo - timedelta(days=400)))
    page.click("#revoke-form button[type=submit]")
    field_error(page, "effective", "at most one year ago")
    assert sent == []

    # A wrong password is caught in this browser: the key does not open, nothing is posted.
    since = (now_tokyo - timedelta(days=3)).replace(hour=10, minute=30, second=0, microsecond=0)
    page.fill("#revoke-effective", local_input(since))
    page.fill("#revoke-password", "not my password at all 99")
    page.fill("#revoke-reason", "Laptop left in a taxi (fictional).")
    page.click("#revoke-form button[type=submit]")
    field_error(page, "password", "This password does not open your key")
    assert not any(url.endswith("/keys/v1/revocations") for url in sent)

    page.fill("#revoke-password", PASSWORD)
    page.focus("#revoke-form button[type=submit]")
    with page.expect_response(is_revocation_post, timeout=WAIT_MS) as posted:
        page.keyboard.press("Enter")
    assert posted.value.status == 201, posted.value.text()
    body = posted.value.request.post_data_json
    assert body["member_id"] == iid and body["reason"] == "Laptop left in a taxi (fictional)."
    assert "password" not in posted.value.request.post_data.lower()

    # The statement the browser signed, read by the Python code.
    rev = keytrans.parse_revocation(b64d(body["statement"]))
    answer = logged(page, iid)
    ((_, statement),) = leaves_of(answer, keytrans.Kind.KEYS)
    assert rev.uid == bytes.fromhex(iid)
    assert rev.ks_hash == keytrans.object_hash(statement)
    assert rev.by is keytrans.RevokedBy.SELF
    assert rev.signer_pk == ingrid.identity.sig_pk
    assert (rev.signer_cert, rev.signer_cert_idx) == (keytrans.ZERO32, 0)
    assert rev.effective == int(since.timestamp())  # 10:30 in Tokyo, the browser's time zone
    assert abs(rev.made - time.time()) < 120
    ((_, logged_rev),) = leaves_of(answer, keytrans.Kind.REVOKE)
    assert logged_rev == b64d(body["statement"])

    # The page says so, and the self-audit now finds the keys revoked.
    done = page.locator("#revoke-own-done")
    done.wait_for()
    assert "Your keys are revoked, effective" in plain(done.text_content())
    assert page.is_hidden("#revoke-own-details")
    page.locator("#key-audit[data-state=revoked]").wait_for(timeout=WAIT_MS)
    assert "you revoked them" in plain(page.text_content("#key-audit-status"))
    page.locator("#events-list li", has_text="Keys revoked").wait_for()
    page.reload()  # on a new visit there is nothing left to revoke
    page.locator("#key-audit[data-state=revoked]").wait_for(timeout=WAIT_MS)
    assert page.is_hidden("#revoke-own-details")
    watcher.assert_clean(page, allowed(demo_server, fresh(ingrid)))

    # Another member's contact page refuses the keys as revoked, saying by whom.
    other, other_watcher = browser_of(new_context, lars, l_step)
    other.goto(f"/contacts/{iid}")
    other.locator("#contact[data-reason=revoked]").wait_for(timeout=WAIT_MS)
    problem = plain(other.text_content("#contact-problem"))
    assert "This member’s key has been revoked" in problem and "The member revoked these keys" in problem
    assert other.is_disabled("#mark-verified")
    assert other.locator("#revoke-member").count() == 0  # not an NCB head: no form at all
    other_watcher.assert_clean(other, allowed(demo_server, fresh(ingrid, lars)))

    # So does the Python key ring.
    cfg = load_config(demo_server.data, {**os.environ, "ISECOM_SERVER_PUBLIC_URL": demo_server.url})
    code, _ = next_code(kari.totp_secret, k_step)

    async def python_lookup() -> str:
        async with Client(demo_server.url) as client:
            await client.sign_in(kari.member["email"], PASSWORD, code)
            ring = KeyRing(root_pk=cfg.root_pk, origin=demo_server.url)
            try:
                await ring.fetch(client, member_id=iid)
            except KeyProblem as problem:
                return problem.check
            return "accepted"

    assert in_thread(python_lookup) == "revoked"


def test_an_ncb_head_revokes_a_member_of_their_country_and_another_head_cannot(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    soren, _ = activated(demo_server, "soren.nielsen@isecom.example", "Søren Nielsen", "DK", "Demo NSK")
    mette, m_step = activated(
        demo_server, "mette.hansen@isecom.example", "Mette Hansen", "DK", "Demo NCB Copenhagen", "ncb_head"
    )
    aino, a_step = activated(
        demo_server, "aino.virtanen@isecom.example", "Aino Virtanen", "FI", "Demo NCB Helsinki", "ncb_head"
    )
    sid = soren.member["id"]
    plan_path = f"/keys/v1/revocations/plan?member={sid}"

    # The head of another country, reading in Arabic: no form, and the API refuses as if absent.
    away, away_watcher = browser_of(new_context, aino, a_step, extra_http_headers={"Accept-Language": "ar"})
    assert (away.get_attribute("html", "lang"), away.get_attribute("html", "dir")) == ("ar", "rtl")
    assert away.text_content("#revoke-own-title") == translated("ar", "Revoke my keys")
    answers: list[int] = []
    away.on("response", lambda r: answers.append(r.status) if r.url.endswith(plan_path) else None)
    away.goto(f"/contacts/{sid}")
    away.locator("#contact[data-state=unverified]").wait_for(timeout=WAIT_MS)
    deadline = time.monotonic() + 10
    while not answers and time.monotonic() < deadline:
        away.wait_for_timeout(100)
    assert answers == [404]  # asked once; not theirs to revoke
    assert away.is_hidden("#revoke-member")
    csrf = away.request.get("/api/v1/session").json()["csrf_token"]
    forged = keytrans.revocation(
        aino.identity.sig_sk, uid=bytes.fromhex(sid), ks_hash=os.urandom(32), effective=int(time.time()),
        by=keytrans.RevokedBy.NCB_HEAD, made=int(time.time()), signer_cert=os.urandom(32), signer_cert_idx=1,
    )  # fmt: skip
    refused = away.request.post(
        "/keys/v1/revocations",
        data={"member_id": sid, "statement": b64e(forged), "reason": "Not my country (fictional)."},
        headers={"X-CSRF-Token": csrf, "Origin": demo_server.url},
    )
    assert refused.status == 404, refused.text()
    away_watcher.assert_clean(away, allowed(demo_server, {**fresh(soren, aino), plan_path: 404}))

    # The head of the member's country: the form, the reason required, then the signed revocation.
    page, watcher = browser_of(new_context, mette, m_step)
    page.goto(f"/contacts/{mette.member['id']}")
    page.locator("#contact[data-state]").wait_for(timeout=WAIT_MS)
    assert page.locator("#revoke-member").count() == 0  # never for oneself here
    page.goto(f"/contacts/{sid}")
    page.locator("#contact[data-state=unverified]").wait_for(timeout=WAIT_MS)
    page.locator("#revoke-member").wait_for()
    page.focus("#revoke-member-details summary")
    page.keyboard.press("Enter")
    page.locator("#revoke-form").wait_for()
    page.fill("#revoke-password", PASSWORD)
    page.check("#revoke-confirm")
    page.click("#revoke-form button[type=submit]")
    field_error(page, "reason", "Give a reason")
    page.fill("#revoke-reason", "Left the service on 1 March (fictional).")
    with page.expect_response(is_revocation_post, timeout=WAIT_MS) as posted:
        page.click("#revoke-form button[type=submit]")
    assert posted.value.status == 201, posted.value.text()
    body = posted.value.request.post_data_json
    assert body["reason"] == "Left the service on 1 March (fictional)."

    rev = keytrans.parse_revocation(b64d(body["statement"]))
    ((_, statement),) = leaves_of(logged(page, sid), keytrans.Kind.KEYS)
    ((cert_idx, cert),) = leaves_of(logged(page, mette.member["id"]), keytrans.Kind.CERT)
    assert rev.uid == bytes.fromhex(sid) and rev.ks_hash == keytrans.object_hash(statement)
    assert rev.by is keytrans.RevokedBy.NCB_HEAD
    assert rev.signer_pk == mette.identity.sig_pk
    assert (rev.signer_cert, rev.signer_cert_idx) == (keytrans.object_hash(cert), cert_idx)
    assert rev.effective == rev.made and abs(rev.made - time.time()) < 120

    # The contact page now shows the keys as revoked, by the NCB head.
    page.locator("#contact[data-reason=revoked]").wait_for(timeout=WAIT_MS)
    assert "You revoked the keys of Søren Nielsen" in plain(page.text_content("#revoke-status"))
    problem = plain(page.text_content("#contact-problem"))
    assert "The head of their National Central Bureau revoked these keys" in problem
    assert page.is_hidden("#revoke-member-details")
    page.reload()
    page.locator("#contact[data-reason=revoked]").wait_for(timeout=WAIT_MS)
    assert page.is_hidden("#revoke-member")  # nothing left to revoke
    watcher.assert_clean(page, allowed(demo_server, fresh(soren, mette)))

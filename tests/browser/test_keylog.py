"""The key directory, contacts, safety numbers and the key ring in a real browser (PROTOCOL.md §9.9, §9.10).

Members are made here with ``isecom admin create-member`` in Iceland (IS), a country no other
browser test uses, and activated by the Python client. A member opens the directory, opens a
contact, sees the safety number the Python computes for the pair and marks the contact verified.
Then a lying server is played by intercepting ``/keys/v1/members/…`` with ``page.route``: the
tampered answers are built here with the log's own signing key (derived from the instance's
server key, as a compromised server would hold it), and each must be refused with its reason.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route

from isecom.client.session import Activated
from isecom.config import load as load_config
from isecom.crypto import keytrans, merkle
from isecom.crypto.encoding import b64d, b64e
from tests.browser.conftest import Watcher, expected_refusals, watch
from tests.browser.test_account_recovery import activate_with_client, create_member
from tests.browser.test_signin_flow import PASSWORD, next_code, plain, sign_in, signed_in
from tests.conftest import LiveServer, run_cli

pytestmark = pytest.mark.browser
WAIT_MS = 40_000  # a fresh member's keys wait for the next checkpoint (5 s), then libsodium


def member(server: LiveServer, email: str, name: str) -> tuple[Activated, int]:
    token = create_member(server, email, name, "IS", "Demo Ríkislögreglustjóri")
    return activate_with_client(server, token)


def browser_of(
    new_context: Callable[..., BrowserContext], server: LiveServer, who: Activated, step: int
) -> tuple[Page, Watcher]:
    page, watcher = watch(new_context())
    code, _ = next_code(who.totp_secret, step)
    sign_in(page, who.member["email"], PASSWORD, code)
    signed_in(page, who.member["name"])
    return page, watcher


def ids(who: Activated) -> tuple[bytes, bytes]:
    return bytes.fromhex(who.member["id"]), who.identity.sig_pk


def fresh_member_404(server: LiveServer, *members: Activated) -> Callable[[ConsoleMessage], bool]:
    """The server answers 404, not ``pending``, for a member activated before any checkpoint holds
    their keys (the key ring asks again); chromium logs each such answer as a console error."""
    return expected_refusals(server.url, {f"/keys/v1/members/{m.member['id']}": 404 for m in members})


def reason_text(page: Page, reason: str) -> str:
    key = "reason" + reason[0].upper() + reason[1:]
    text: str = page.evaluate("(key) => document.getElementById('contact').dataset[key]", key)
    return text


def test_a_member_compares_the_safety_number_with_a_contact_and_marks_them_verified(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    gunnar, _ = member(demo_server, "gunnar.olafsson@isecom.example", "Gunnar Ólafsson")
    sigrun, step = member(demo_server, "sigrun.jonsdottir@isecom.example", "Sigrún Jónsdóttir")
    page, watcher = browser_of(new_context, demo_server, sigrun, step)

    # At sign-in the home page audits the member's own keys in the log.
    page.locator("#key-audit[data-state]").wait_for(timeout=WAIT_MS)
    assert page.get_attribute("#key-audit", "data-state") == "ok", page.text_content("#key-audit-status")
    assert "all made by you" in plain(page.text_content("#key-audit-status"))

    page.click("a[href='/directory']")
    page.wait_for_url("**/directory")
    assert page.input_value("#directory-country") == "IS"
    link = page.locator("#directory-list a", has_text="Gunnar Ólafsson")
    link.wait_for()
    link.focus()
    page.keyboard.press("Enter")  # keyboard use
    page.wait_for_url(f"**/contacts/{gunnar.member['id']}")

    page.locator("#contact[data-state=unverified]").wait_for(timeout=WAIT_MS)
    assert page.text_content("#contact-name") == "Gunnar Ólafsson"
    assert page.text_content("#contact-agency") == "Demo Ríkislögreglustjóri"
    assert page.text_content("#contact-country") == "Iceland"
    expected = keytrans.safety_number(ids(sigrun), ids(gunnar))
    groups = page.locator("#safety-number span").all_text_contents()
    assert groups == [expected[i : i + 5] for i in range(0, 60, 5)] and len(groups) == 12
    assert page.get_attribute("#safety-number", "data-digits") == expected
    assert int(page.get_attribute("#safety-qr", "width") or 0) > 100
    assert expected in (page.get_attribute("#safety-qr", "aria-label") or "")

    page.focus("#mark-verified")
    page.keyboard.press("Enter")
    page.locator("#contact[data-state=verified]").wait_for()
    assert "You marked" in plain(page.text_content("#contact-status"))
    page.reload()
    page.locator("#contact[data-state=verified]").wait_for(timeout=WAIT_MS)
    assert page.is_disabled("#mark-verified")

    # The remembered key no longer matches (as after a key change): sending is blocked until compared again.
    page.evaluate(
        """(uid) => {
          const key = Object.keys(localStorage).find((k) => k.startsWith("isecom.verified.v1."));
          const pins = JSON.parse(localStorage.getItem(key));
          pins[uid] = "A".repeat(43);
          localStorage.setItem(key, JSON.stringify(pins));
        }""",
        gunnar.member["id"],
    )
    page.reload()
    page.locator("#contact[data-state=changed]").wait_for(timeout=WAIT_MS)
    problem = plain(page.text_content("#contact-problem"))
    assert "Sending to them is blocked until you compare the safety number again" in problem
    page.click("#mark-verified")
    page.locator("#contact[data-state=verified]").wait_for()

    # An encryption key renewed with the member's own signing key (as another browser of theirs
    # would) is said as such; a signing key this browser did not unlock is a plain warning.
    change = """([id, field]) => {
          const own = JSON.parse(localStorage.getItem("isecom.ownkeys.v1." + id));
          localStorage.setItem("isecom.ownkeys.v1." + id, JSON.stringify({ ...own, [field]: "A".repeat(43) }));
        }"""
    page.evaluate(change, [sigrun.member["id"], "enc_pk"])
    page.goto("/home")
    page.locator("#key-audit[data-state=rotated]").wait_for(timeout=WAIT_MS)
    assert "signed with your own signing key" in plain(page.text_content("#key-audit-status"))
    page.evaluate(change, [sigrun.member["id"], "sig_pk"])
    page.goto("/home")
    page.locator("#key-audit[data-state=foreign]").wait_for(timeout=WAIT_MS)
    assert "Someone may have published keys in your name" in plain(page.text_content("#key-audit-status"))
    watcher.assert_clean(page, fresh_member_404(demo_server, sigrun, gunnar))


# --- a lying server ---------------------------------------------------------------------------


class EvilServer:
    """Builds the answers a compromised server could give, with the log's signing key."""

    def __init__(self, server: LiveServer, page: Page) -> None:
        cfg = load_config(server.data, {**os.environ, "ISECOM_SERVER_PUBLIC_URL": server.url})
        self.log_sk = keytrans.signing_keypair(keytrans.log_key_seed(cfg.server_key))[1]
        self.origin = server.url
        self.page = page

    def get(self, path: str) -> dict[str, Any]:
        response = self.page.request.get(path)
        assert response.ok, (path, response.status)
        answer: dict[str, Any] = response.json()
        return answer

    def settled(self, member_id: str, *, kinds: int | None = None) -> dict[str, Any]:
        """The real answer, once its newest leaf is in a checkpoint (and has ``kinds`` leaves of kind 4)."""
        deadline = time.monotonic() + 30
        while True:
            answer = self.get(f"/keys/v1/members/{member_id}")
            revocations = sum(keytrans.parse_leaf(b64d(e["leaf"])).kind == 4 for e in answer["entries"])
            if not answer["pending"] and (kinds is None or revocations >= kinds):
                return answer
            assert time.monotonic() < deadline, answer
            time.sleep(0.5)

    def leaves(self, size: int) -> list[bytes]:
        return [b64d(x) for x in self.get(f"/keys/v1/leaves?start=0&end={size}")["leaves"]]

    def answer(self, real: dict[str, Any], leaves: list[bytes], indices: list[int]) -> dict[str, Any]:
        """An answer for the tree ``leaves`` with a checkpoint signed by the log key."""
        hashes = [merkle.leaf_hash(x) for x in leaves]
        cp = keytrans.checkpoint(
            self.log_sk, origin=self.origin, size=len(leaves), root=merkle.root(hashes), time=int(time.time())
        )
        entries = [
            {"index": i, "leaf": b64e(leaves[i]), "proof": [b64e(p) for p in merkle.inclusion_proof(i, hashes)]}
            for i in indices
        ]
        return {**real, "checkpoint": b64e(cp), "entries": entries, "pending": False}


def remembered_size(page: Page) -> int:
    raw = page.evaluate("() => JSON.parse(localStorage.getItem('isecom.keyring.v1')).checkpoint")
    data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    body = data[len(keytrans.CHECKPOINT_TAG) :]
    origin_len = int.from_bytes(body[:4], "big")
    return int.from_bytes(body[4 + origin_len : 12 + origin_len], "big")


def serve(page: Page, member_id: str, answer: dict[str, Any]) -> None:
    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answer))

    page.unroute_all()
    page.route(f"**/keys/v1/members/{member_id}", fulfil)


def refused(page: Page, reason: str) -> None:
    page.reload()
    page.locator(f"#contact[data-reason={reason}]").wait_for(timeout=WAIT_MS)
    text = plain(page.text_content("#contact-status")) + plain(page.text_content("#contact-problem"))
    assert reason_text(page, reason) in text, (reason, text)


def test_a_lying_key_server_is_refused_with_the_reason(
    new_context: Callable[..., BrowserContext], demo_server: LiveServer
) -> None:
    olafur, _ = member(demo_server, "olafur.einarsson@isecom.example", "Ólafur Einarsson")
    helga, step = member(demo_server, "helga.magnusdottir@isecom.example", "Helga Magnúsdóttir")
    page, watcher = browser_of(new_context, demo_server, helga, step)
    evil = EvilServer(demo_server, page)
    oid = olafur.member["id"]
    page.goto(f"/contacts/{oid}")
    page.locator("#contact[data-state=unverified]").wait_for(timeout=WAIT_MS)
    real = evil.settled(oid)
    size = remembered_size(page)
    indices = [e["index"] for e in real["entries"]]
    statement = next(e for e in real["entries"] if keytrans.parse_leaf(b64d(e["leaf"])).kind == keytrans.Kind.KEYS)

    # The server swaps a key: a leaf that is not the one the checkpoint holds.
    swapped = json.loads(json.dumps(real))
    leaf = b64d(statement["leaf"])
    for e in swapped["entries"]:
        if e["index"] == statement["index"]:
            e["leaf"] = b64e(leaf[:-1] + bytes([leaf[-1] ^ 1]))
    serve(page, oid, swapped)
    refused(page, "proof")

    # An entry removed: the platform approval is left out of the history.
    removed = {**real, "entries": [e for e in real["entries"] if keytrans.parse_leaf(b64d(e["leaf"])).kind != 2]}
    serve(page, oid, removed)
    refused(page, "chain")

    # A fork: Olafur's statement replaced by one with Mallory's keys, in a tree of the size this
    # browser remembers, with another root, signed by the log key.
    mallory_pk, mallory_sk = keytrans.signing_keypair(os.urandom(32))
    forged = evil.leaves(size)
    original = keytrans.parse_leaf(forged[statement["index"]])
    fake = keytrans.key_statement(
        mallory_sk,
        uid=bytes.fromhex(oid),
        email=olafur.member["email"],
        seqno=0,
        prev=keytrans.ZERO32,
        enc_pk=os.urandom(32),
        created=original.logged,
    )
    forged[statement["index"]] = keytrans.leaf(keytrans.Kind.KEYS, original.uid, original.logged, fake)
    serve(page, oid, evil.answer(real, forged, indices))
    refused(page, "log")

    # An older checkpoint: a genuine, smaller tree that still holds all of Olafur's entries.
    older = evil.leaves(max(indices) + 1)
    assert len(older) < size
    serve(page, oid, evil.answer(real, older, indices))
    refused(page, "log")

    # A replayed revoked key: after the browser saw the revocation, the answer without it.
    page.unroute_all()
    revoke = run_cli(
        "admin", "revoke", "--email", olafur.member["email"], "--reason", "Test (fictional).", data=demo_server.data
    )
    assert revoke.returncode == 0, revoke.stderr
    revoked = evil.settled(oid, kinds=1)
    refused(page, "revoked")
    replayed = {**revoked, "entries": [e for e in revoked["entries"] if keytrans.parse_leaf(b64d(e["leaf"])).kind != 4]}
    serve(page, oid, replayed)
    refused(page, "replay")
    serve(page, oid, real)  # the answer from before the revocation, with its older checkpoint
    refused(page, "log")

    # The member's own keys: a key published in Helga's name is reported on the home page.
    hid = helga.member["id"]
    mine = evil.settled(hid)
    mine_leaves = evil.leaves(remembered_size(page))
    own = next(e for e in mine["entries"] if keytrans.parse_leaf(b64d(e["leaf"])).kind == keytrans.Kind.KEYS)
    parsed = keytrans.parse_leaf(mine_leaves[own["index"]])
    stranger = keytrans.key_statement(
        mallory_sk, uid=bytes.fromhex(hid), email=helga.member["email"], seqno=0, prev=keytrans.ZERO32,
        enc_pk=os.urandom(32), created=parsed.logged,
    )  # fmt: skip
    mine_leaves[own["index"]] = keytrans.leaf(keytrans.Kind.KEYS, parsed.uid, parsed.logged, stranger)
    page.unroute_all()
    page.route(
        f"**/keys/v1/members/{hid}",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps(evil.answer(mine, mine_leaves, [e["index"] for e in mine["entries"]])),
        ),
    )
    page.goto("/home")
    page.locator("#key-audit[data-state='refused:log']").wait_for(timeout=WAIT_MS)
    assert mallory_pk != helga.identity.sig_pk
    watcher.assert_clean(page, fresh_member_404(demo_server, helga, olafur))

"""The 24-hour checklist through the API: template versions, case copies shared between members,
ticks, and notes the server holds as ciphertext only (docs/PROTOCOL.md §12).

The Python side seals and opens exactly as the browser does (isecom.crypto.casefile).
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from isecom.client import Client, ClientError
from isecom.crypto import casefile
from isecom.crypto.encoding import b64d, b64e
from isecom.services import keydir
from isecom.services.demo_checklists import ITEMS
from tests.integration.conftest import Instance, signed_in_member

LABEL_MARKER = "FICTIONAL-SUSPECT-LABEL-4412"
NOTE_MARKER = "FICTIONAL-NOTE-MARKER-9051"
ITEMS_JSON = [{"section": i.section, "title": i.title, "guidance": i.guidance, "due_hours": i.due_hours} for i in ITEMS]


async def _people(instance: Instance) -> tuple[Client, Client, Client, Client]:
    admin = await signed_in_member(
        instance, "ines.admin@isecom.example", name="Ines Admin", country="PT", agency="Demo Ops", roles=["admin"]
    )
    rest = [
        await signed_in_member(instance, email, name=name, country=country, agency="Demo ARO", roles=[])
        for email, name, country in (
            ("amara.diallo@isecom.example", "Amara Diallo", "SN"),
            ("bao.nguyen@isecom.example", "Bao Nguyen", "VN"),
            ("clara.weiss@isecom.example", "Clara Weiss", "AT"),
        )
    ]
    await keydir.sign_checkpoint(instance.context.store, instance.clock, instance.context.authority)
    return admin, rest[0], rest[1], rest[2]


def _me(client: Client) -> tuple[str, Any]:
    assert client.signed is not None
    return client.signed.member["id"], client.signed.identity


async def _start(client: Client, version: int, label: str = LABEL_MARKER) -> tuple[str, bytes]:
    """Start a case as the browser does; (case id, case key)."""
    _, identity = _me(client)
    case_id, case_key = secrets.token_bytes(16), secrets.token_bytes(32)
    enc_kid, wrap = casefile.wrap(case_key, case_id, identity.current.pk)
    answer = await client.post(
        "/api/v1/checklists",
        {
            "id": case_id.hex(),
            "version": version,
            "starts_at": "2026-11-28T08:00:00+00:00",
            "label": b64e(casefile.seal_label(case_key, case_id, label)),
            "key_commit": b64e(casefile.commitment(case_key, case_id)),
            "enc_kid": b64e(enc_kid),
            "wrap": b64e(wrap),
        },
    )
    assert answer["id"] == case_id.hex() and answer["version"] == version
    return case_id.hex(), case_key


async def _share(client: Client, case_id: str, case_key: bytes, other: Client) -> Any:
    member_id, identity = _me(other)
    enc_kid, wrap = casefile.wrap(case_key, bytes.fromhex(case_id), identity.current.pk)
    return await client.post(
        f"/api/v1/checklists/{case_id}/participants",
        {"member": member_id, "enc_kid": b64e(enc_kid), "wrap": b64e(wrap)},
    )


async def _refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        await call
    return caught.value.status, caught.value.code, caught.value.message


async def test_only_administrators_publish_versions_and_cases_keep_theirs(instance: Instance) -> None:
    admin, a, b, c = await _people(instance)
    try:
        assert (await _refusal(a.get("/api/v1/checklist/template")))[0] == 404  # nothing published yet
        assert (await _refusal(a.post("/api/v1/checklist/template", {"items": ITEMS_JSON})))[:2] == (
            403,
            "auth.forbidden",
        )
        first = await admin.post("/api/v1/checklist/template", {"items": ITEMS_JSON})
        assert first["version"] == 1 and len(first["items"]) == len(ITEMS)
        old_case, _ = await _start(a, 1)
        edited = [*ITEMS_JSON[:2], {"section": "New", "title": "A new step", "guidance": "", "due_hours": 3}]
        second = await admin.post("/api/v1/checklist/template", {"items": edited})
        assert second["version"] == 2
        assert (await a.get("/api/v1/checklist/template"))["version"] == 2
        assert len((await a.get("/api/v1/checklist/template/1"))["items"]) == len(ITEMS)
        seen = await a.get(f"/api/v1/checklists/{old_case}")
        assert seen["template"]["version"] == 1 and len(seen["template"]["items"]) == len(ITEMS)
        assert seen["due"][0] == "2026-11-28T09:00:00+00:00"  # 1 hour after the start
        new_case, _ = await _start(a, 2)
        assert len((await a.get(f"/api/v1/checklists/{new_case}"))["template"]["items"]) == 3
        listed = {x["id"]: x for x in (await a.get("/api/v1/checklists"))["cases"]}
        assert set(listed) == {old_case, new_case} and listed[old_case]["items"] == len(ITEMS)
        # Bad input: a clear error, nothing stored.
        bad = [{"title": "", "due_hours": 1}], [{"title": "x", "due_hours": -1}], [], "items"
        for items in bad:
            assert (await _refusal(admin.post("/api/v1/checklist/template", {"items": items})))[0] == 400
        assert (await a.get("/api/v1/checklist/template"))["version"] == 2
        assert (await _refusal(_start(a, 9)))[0] == 400
    finally:
        for client in (admin, a, b, c):
            await client.close()


async def test_a_case_is_seen_and_changed_by_its_participants_only(instance: Instance) -> None:
    admin, a, b, c = await _people(instance)
    try:
        await admin.post("/api/v1/checklist/template", {"items": ITEMS_JSON})
        case_id, case_key = await _start(a, 1)
        missing = secrets.token_hex(16)
        # Not yours answers exactly like does not exist, for every operation.
        for path in ("/api/v1/checklists/{}", "/api/v1/checklists/{}/notes"):
            assert await _refusal(b.get(path.format(case_id))) == await _refusal(b.get(path.format(missing)))
        _, b_identity = _me(b)
        for suffix in ("/items/0", "/notes"):
            answers = []
            for target in (case_id, missing):
                note = casefile.seal_note(secrets.token_bytes(32), bytes.fromhex(target), b_identity, "x", created_ms=1)
                body = {"done": True} if suffix == "/items/0" else {"note": b64e(note)}
                answers.append(await _refusal(b.post(f"/api/v1/checklists/{target}{suffix}", body)))
            assert answers[0] == answers[1] and answers[0][0] == 404
        assert (await _refusal(_share(b, case_id, case_key, c)))[0] == 404
        assert (await b.get("/api/v1/checklists"))["cases"] == []

        # A shares with B: B unwraps the same case key with B's own keys and reads the label.
        assert (await _share(a, case_id, case_key, b))["added"] is True
        assert (await _share(a, case_id, case_key, b))["added"] is False
        seen = await b.get(f"/api/v1/checklists/{case_id}")
        b_id, _ = _me(b)
        own = next(p for p in seen["participants"] if p["member"] == b_id)
        assert all("wrap" not in p for p in seen["participants"] if p["member"] != b_id)
        key = casefile.unwrap(
            b_identity,
            b64d(own["enc_kid"]),
            b64d(own["wrap"]),
            bytes.fromhex(case_id),
            b64d(seen["case"]["key_commit"]),
        )
        assert key == case_key
        assert casefile.open_label(key, bytes.fromhex(case_id), b64d(seen["case"]["label"])) == LABEL_MARKER

        # Ticks: who and when, visible to every participant; unticking is recorded too.
        instance.clock.advance(minutes=5)
        tick = await b.post(f"/api/v1/checklists/{case_id}/items/2", {"done": True})
        assert tick["done"] is True and tick["changed_by"] == b_id
        assert tick["changed_at"] == instance.clock.now().isoformat()
        ticks = (await a.get(f"/api/v1/checklists/{case_id}"))["ticks"]
        assert [(t["item"], t["done"], t["changed_by"]) for t in ticks] == [(2, True, b_id)]
        a_id, _ = _me(a)
        await a.post(f"/api/v1/checklists/{case_id}/items/2", {"done": False})
        ticks = (await b.get(f"/api/v1/checklists/{case_id}"))["ticks"]
        assert [(t["item"], t["done"], t["changed_by"]) for t in ticks] == [(2, False, a_id)]
        assert (await _refusal(a.post(f"/api/v1/checklists/{case_id}/items/{len(ITEMS)}", {"done": True})))[0] == 404
        assert (await _refusal(a.post(f"/api/v1/checklists/{case_id}/items/0", {"done": "yes"})))[0] == 400

        # A wrap to a key that is not the member's current one is refused, nothing is added.
        c_id, _ = _me(c)
        _, stale = casefile.wrap(case_key, bytes.fromhex(case_id), secrets.token_bytes(32))
        wrong = {"member": c_id, "enc_kid": b64e(bytes(32)), "wrap": b64e(stale)}
        assert (await _refusal(a.post(f"/api/v1/checklists/{case_id}/participants", wrong)))[0] == 409
        assert (await _refusal(c.get(f"/api/v1/checklists/{case_id}")))[0] == 404
        short = {"member": c_id, "enc_kid": b64e(bytes(32)), "wrap": b64e(bytes(10))}
        assert (await _refusal(a.post(f"/api/v1/checklists/{case_id}/participants", short)))[0] == 400
    finally:
        for client in (admin, a, b, c):
            await client.close()


async def test_notes_are_end_to_end_encrypted_and_signed(instance: Instance) -> None:
    admin, a, b, c = await _people(instance)
    try:
        await admin.post("/api/v1/checklist/template", {"items": ITEMS_JSON})
        case_id, case_key = await _start(a, 1)
        await _share(a, case_id, case_key, b)
        a_id, a_identity = _me(a)
        text = f"Account at a fictional bank, {NOTE_MARKER}"
        sealed = casefile.seal_note(case_key, bytes.fromhex(case_id), a_identity, text, created_ms=1_764_316_800_000)
        assert (await a.post(f"/api/v1/checklists/{case_id}/notes", {"note": b64e(sealed)}))["author"] == a_id
        again = await a.post(f"/api/v1/checklists/{case_id}/notes", {"note": b64e(sealed)})  # a retry: stored once
        notes = (await b.get(f"/api/v1/checklists/{case_id}/notes"))["notes"]
        assert len(notes) == 1 and notes[0]["id"] == again["id"]
        opened = casefile.open_note(case_key, bytes.fromhex(case_id), b64d(notes[0]["note"]), a_identity.sig_pk)
        assert opened.text == text and opened.author_uid.hex() == a_id
        _, b_identity = _me(b)
        with pytest.raises(casefile.CryptoError):  # another member's key does not verify A's note
            casefile.open_note(case_key, bytes.fromhex(case_id), b64d(notes[0]["note"]), b_identity.sig_pk)
        # B cannot post a note in A's name, nor one sealed for another case.
        forged = casefile.seal_note(case_key, bytes.fromhex(case_id), a_identity, "forged", created_ms=1)
        assert (await _refusal(b.post(f"/api/v1/checklists/{case_id}/notes", {"note": b64e(forged)})))[0] == 400
        other = casefile.seal_note(case_key, secrets.token_bytes(16), b_identity, "elsewhere", created_ms=1)
        assert (await _refusal(b.post(f"/api/v1/checklists/{case_id}/notes", {"note": b64e(other)})))[0] == 400
        assert (await _refusal(b.post(f"/api/v1/checklists/{case_id}/notes", {"note": "!!"})))[0] == 400
        # Neither the note nor the label reached the server's disk in clear.
        for path in instance.cfg.data_dir.rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert NOTE_MARKER.encode() not in content, path
                assert LABEL_MARKER.encode() not in content, path
    finally:
        for client in (admin, a, b, c):
            await client.close()

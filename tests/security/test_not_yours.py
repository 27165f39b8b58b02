"""Not yours looks exactly like does not exist (DESIGN.md invariant 3), for every object endpoint.

Every path of ``webmail/openapi.json`` that takes an id is walked, with every method it documents:
member B asks for member A's object (a message, a draft, an uploading and a committed evidence
file, their chunks, a session, an application, a member) and for a random id that does not exist;
the two answers must be byte-identical (status and body). A new templated path must be added to
``OBJECTS`` (with how to get A's id) or to ``NOT_OBJECTS`` (with the reason), or this test fails.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from isecom import app as composition
from isecom.client import Client
from isecom.client import mail as mailclient
from isecom.config import Config
from isecom.context import Context
from isecom.crypto import envelope, payload
from isecom.crypto.encoding import b64e
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port
from tests.integration.conftest import Instance
from tests.integration.test_files import _declaration, _encrypted, _put, _raw
from tests.integration.test_mail import _ring, _three

OPENAPI = Path(__file__).parents[2] / "webmail" / "openapi.json"
CHUNK = 64 * 1024
METHODS = ("get", "post", "put", "patch", "delete")

# path -> the kind of A's object its {parameter}s name; every kind has an id of A's below.
OBJECTS: dict[str, str] = {
    "/api/v1/messages/{id}": "message",
    "/api/v1/drafts/{slot}": "draft",
    "/api/v1/files/{file_id}": "file",
    "/api/v1/files/{file_id}/chunks/{index}": "file",
    "/api/v1/files/{file_id}/commit": "file",
    "/api/v1/sessions/{id}": "session",
    "/api/v1/applications/{id}/authorization": "application",
    "/api/v1/applications/{id}/nomination": "application",
    "/api/v1/applications/{id}/renewal": "application",
    "/api/v1/applications/{id}/signing": "application",
    "/api/v1/admin/members/{id}/reset-keys": "member",
    "/api/v1/admin/members/{id}/{action}": "member",
}
# Templated paths whose parameter is not somebody's private object, or that belong to areas
# whose own tests cover them until they are classified here (the reason says which).
NOT_OBJECTS: dict[str, str] = {
    "/api/v1/mailbox/{folder}": "a folder name of the caller's own mailbox",
    "/api/v1/countries/{country}": "public country notes (knowledge base)",
    "/api/v1/countries/{country}/revisions": "public country notes (knowledge base)",
    "/api/v1/checklist/template/{version}": "a public template version",
    "/api/v1/profiles/{id}": "member profiles are directory information, visible to members",
    "/api/v1/library/editors/{member_id}": "library editors: an administrator's list",
    "/api/v1/library/documents/{doc_id}": "library documents: shared knowledge, own tests",
    "/api/v1/checklists/{case_id}": "case checklists: added this session, own tests (to classify)",
    "/api/v1/checklists/{case_id}/participants": "case checklists: added this session, own tests (to classify)",
    "/api/v1/checklists/{case_id}/items/{item}": "case checklists: added this session, own tests (to classify)",
    "/api/v1/checklists/{case_id}/notes": "case checklists: added this session, own tests (to classify)",
    "/api/v1/notices/{ref}/cancel": "notices: added this session, own tests (to classify)",
    "/api/v1/meetings/{id}": "meetings: added this session, own tests (to classify)",
}


@pytest.fixture
async def instance(cfg: Config, clock: FakeClock) -> AsyncIterator[Instance]:
    """An in-process instance, as tests/integration/conftest.py makes it."""
    port = free_port()
    cfg = replace(cfg, public_url=f"http://127.0.0.1:{port}")
    await composition.check_database(cfg, upgrade=True)
    store = SqlStore(make_engine(cfg.database_url))
    context = Context(config=cfg, store=store, blobs=FileBlobStore(cfg.blob_dir), clock=clock)
    server = TestServer(composition.build_web_app(context), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Instance(f"http://127.0.0.1:{port}", cfg, context, clock)
    finally:
        await server.close()
        await store.close()


def templated() -> dict[str, list[str]]:
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {path: [m.upper() for m in item if m in METHODS] for path, item in spec["paths"].items() if "{" in path}


def test_every_templated_path_is_classified() -> None:
    unknown = sorted(set(templated()) - set(OBJECTS) - set(NOT_OBJECTS))
    assert unknown == [], f"add these paths to OBJECTS or NOT_OBJECTS in {__file__}: {unknown}"


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


async def _as(client: Client, method: str, path: str) -> tuple[int, bytes]:
    if method in ("GET", "DELETE"):
        return await _raw(client, method, path)
    if path.endswith("/chunks/0") and method == "PUT":
        return await _raw(client, method, path, b"\0" * 100)
    return await _raw(client, method, path, b"{}", Content_Type="application/json")


async def _a_objects(instance: Instance, a: Client) -> dict[str, list[dict[str, str]]]:
    """A's objects of each kind: the parameter values that name them."""
    assert a.signed is not None
    identity, me = a.signed.identity, a.signed.member
    msg_id = await mailclient.send(
        a, _ring(instance), mailclient.Draft(to=["clara.weiss@isecom.example"], subject="s", body="b")
    )
    slot = secrets.token_hex(16)
    body = payload.build(
        {
            "v": 1,
            "type": "draft",
            "from": {"uid": identity.uid.hex(), "name": me["name"], "email": me["email"]},
            "to": [],
            "cc": [],
            "subject": "s",
            "body": "b",
            "date": "2026-11-28T09:00:00Z",
            "in_reply_to": None,
            "references": [],
            "handling": "H1",
            "attachments": [],
            "forwarded": [],
        }
    )
    await a.http_put(
        f"/api/v1/drafts/{slot}", {"envelope": b64e(envelope.seal(identity, [], body, created_ms=1, draft=True))}
    )
    uploading, committed = _encrypted(2 * CHUNK, chunk_size=CHUNK, seed=11), _encrypted(100, chunk_size=CHUNK, seed=12)
    for enc in (uploading, committed):
        await a.post("/api/v1/files", _declaration(enc))
        assert await _put(a, enc, 0) == 201
    await a.post(f"/api/v1/files/{committed.descriptor.file_id.hex()}/commit", {})
    sessions = (await a.get("/api/v1/sessions"))["sessions"]
    return {
        "message": [{"id": msg_id}],
        "draft": [{"slot": slot}],
        "file": [{"file_id": enc.descriptor.file_id.hex(), "index": "0"} for enc in (uploading, committed)],
        "session": [{"id": str(s["id"])} for s in sessions],
        "application": [{"id": me["id"]}],  # applications are keyed by the member's id
        "member": [{"id": me["id"], "action": action} for action in ("suspend", "reactivate")],
    }


def _random_like(values: dict[str, str]) -> dict[str, str]:
    """The same parameters naming nothing: random ids of the same shape (an index stays)."""
    out = {}
    for name, value in values.items():
        if name in ("index", "action"):
            out[name] = value
        elif value.isdigit():
            out[name] = str(10**9 + secrets.randbelow(10**9))
        else:
            out[name] = secrets.token_hex(len(value) // 2) if len(value) % 2 == 0 else secrets.token_hex(16)
    return out


@pytest.mark.parametrize("path", sorted(OBJECTS))
async def test_another_members_object_answers_exactly_like_a_missing_one(instance: Instance, path: str) -> None:
    a, b, c = await _three(instance)
    try:
        objects = await _a_objects(instance, a)
        kinds = objects[OBJECTS[path]]
        assert kinds, f"no object of A's for {path}"
        checked = 0
        for method in templated()[path]:
            for values in kinds:
                theirs = await _as(b, method, _fill(path, values))
                missing = await _as(b, method, _fill(path, _random_like(values)))
                assert theirs == missing, f"{method} {path} with A's {values}: {theirs} vs nonexistent {missing}"
                checked += 1
        assert checked > 0
        # And A's objects are all still there and A's own (the probes changed nothing).
        assert (await a.get(f"/api/v1/messages/{objects['message'][0]['id']}"))["message"]
        for file in objects["file"]:
            assert (await _raw(a, "GET", f"/api/v1/files/{file['file_id']}"))[0] == 200
    finally:
        for client in (a, b, c):
            await client.close()

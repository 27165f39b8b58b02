"""The knowledge library and the notices through HTTP: who may do what (every role), upload
checks (real type, size, broken files), search by extracted text, download, CSV/JSON import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from isecom import config
from isecom.client import Client
from isecom.config import Config
from isecom.services.demo_library import tiny_docx, tiny_pdf
from tests.integration.conftest import Instance, signed_in_member

LIMIT = 64 * 1024


@pytest.fixture
def cfg(data_dir: Path) -> Config:
    """A small library limit, so an over-size upload is cheap to send."""
    return replace(config.load(data_dir, env={}), library_max_bytes=LIMIT)


@dataclass
class Http:
    """Raw HTTP as one signed-in member (multipart, CSV bodies, pages)."""

    client: Client
    session: aiohttp.ClientSession

    @property
    def origin(self) -> str:
        return self.client.origin

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Origin": self.origin, "X-CSRF-Token": self.client.csrf_token or "", **extra}

    async def upload(self, content: bytes, filename: str = "doc.pdf", **fields: str) -> tuple[int, Any]:
        form = aiohttp.FormData()
        values = {"title": "A fictional guide", "summary": "", "kind": "guideline", "language": "en", **fields}
        for name, value in values.items():
            form.add_field(name, value)
        form.add_field("file", content, filename=filename, content_type="application/octet-stream")
        async with self.session.post(
            f"{self.origin}/api/v1/library/documents", data=form, headers=self.headers()
        ) as response:
            return response.status, await response.json(content_type=None)

    async def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(method, self.origin + path, json=body, headers=self.headers()) as response:
            data = None if response.status == 204 else await response.json(content_type=None)
            return response.status, data

    async def post_file(self, path: str, text: str, content_type: str) -> tuple[int, Any]:
        headers = self.headers(**{"Content-Type": content_type})
        async with self.session.post(self.origin + path, data=text.encode(), headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def page(self, path: str) -> tuple[int, str, dict[str, str]]:
        async with self.session.get(self.origin + path, allow_redirects=False) as response:
            return response.status, await response.text(), dict(response.headers)

    async def raw(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        async with self.session.get(self.origin + path) as response:
            return response.status, await response.read(), dict(response.headers)


async def _http(instance: Instance, email: str, name: str, roles: list[str]) -> AsyncIterator[Http]:
    client = await signed_in_member(instance, email, name=name, country="FR", agency="Demo Office", roles=roles)
    jar = aiohttp.CookieJar(unsafe=True)
    session = aiohttp.ClientSession(cookie_jar=jar, cookies=client.session_cookies())
    try:
        yield Http(client, session)
    finally:
        await session.close()
        await client.close()


@pytest.fixture
async def admin(instance: Instance) -> AsyncIterator[Http]:
    async for http in _http(instance, "ada.admin@isecom.example", "Ada Admin", ["admin"]):
        yield http


@pytest.fixture
async def member(instance: Instance) -> AsyncIterator[Http]:
    async for http in _http(instance, "camille.roux@isecom.example", "Camille Roux", []):
        yield http


async def _files(instance: Instance) -> list[Path]:
    return [p for p in instance.cfg.blob_dir.rglob("lib-*") if p.is_file()]


async def test_every_role_may_search_and_download_but_only_admins_and_editors_upload(
    instance: Instance, admin: Http, member: Http
) -> None:
    status, doc = await admin.upload(tiny_pdf("Freezing orders for Example Holdings Ltd"), title="Freezing orders")
    assert status == 201, doc
    for email, name, roles in (
        ("paul.girard@isecom.example", "Paul Girard", ["agency_head"]),
        ("lina.moreau@isecom.example", "Lina Moreau", ["ncb_head"]),
    ):
        async for http in _http(instance, email, name, roles):
            assert (await http.upload(b"plain text"))[0] == 403
            assert (await http.json("GET", "/api/v1/library/editors"))[0] == 403
            assert (await http.json("DELETE", f"/api/v1/library/documents/{doc['id']}"))[0] == 403
            assert (await http.json("GET", "/api/v1/library?q=freezing"))[1]["total"] == 1
            assert (await http.raw(f"/library/{doc['id']}/download"))[0] == 200
    # A plain member: search, details, download; no upload, no editors, no upload page.
    status, found = await member.json("GET", "/api/v1/library?q=holdings")
    assert status == 200 and [r["document"]["id"] for r in found["results"]] == [doc["id"]]
    assert (await member.json("GET", f"/api/v1/library/documents/{doc['id']}"))[1]["title"] == "Freezing orders"
    assert (await member.upload(b"plain text"))[0] == 403
    assert (await member.page("/library/upload"))[0] == 403
    assert (await member.page("/library/editors"))[0] == 403
    assert (await member.json("POST", "/api/v1/library/editors", {"email": "camille.roux@isecom.example"}))[0] == 403
    # Designated as an editor by an administrator, the member may upload and delete.
    status, editor = await admin.json("POST", "/api/v1/library/editors", {"email": "camille.roux@isecom.example"})
    assert status == 201 and editor["name"] == "Camille Roux"
    assert (await admin.json("POST", "/api/v1/library/editors", {"email": "camille.roux@isecom.example"}))[0] == 409
    assert (await admin.json("POST", "/api/v1/library/editors", {"email": "nobody@isecom.example"}))[0] == 404
    assert [e["email"] for e in (await admin.json("GET", "/api/v1/library/editors"))[1]["editors"]] == [
        "camille.roux@isecom.example"
    ]
    assert (await member.page("/library/upload"))[0] == 200
    status, own = await member.upload(b"Notes on tracing.", filename="notes.txt", title="Tracing notes")
    assert status == 201 and own["media_type"] == "text/plain"
    assert (await member.json("DELETE", f"/api/v1/library/documents/{own['id']}"))[0] == 204
    assert (await member.json("GET", f"/api/v1/library/documents/{own['id']}"))[0] == 404
    assert (await admin.json("DELETE", f"/api/v1/library/editors/{editor['id']}"))[0] == 204
    assert (await member.upload(b"again"))[0] == 403


async def test_uploads_are_checked_by_real_type_and_size_and_leave_nothing_behind(
    instance: Instance, admin: Http
) -> None:
    cases: list[tuple[bytes, str, dict[str, str], int, str]] = [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64), "report.pdf", {}, 400, "not accepted"),  # an .exe named .pdf
        (b"%PDF-1.7\n1 0 obj garbage", "broken.pdf", {}, 400, "PDF could not be read"),
        (b"PK\x03\x04" + bytes(40), "broken.docx", {}, 400, "ZIP file is damaged"),
        (b"\xff\xfe\x00\x00binary", "x.txt", {}, 400, "not accepted"),
        (b"x" * (LIMIT + 1), "big.txt", {}, 413, "at most"),
        (b"x" * (LIMIT + 200 * 1024), "huge.txt", {}, 413, "at most"),  # refused on Content-Length
        (b"", "empty.txt", {}, 400, "empty"),
        (b"text", "a.txt", {"title": " "}, 400, "title"),
        (b"text", "a.txt", {"kind": "memo"}, 400, "kind"),
        (b"text", "a.txt", {"language": "xx"}, 400, "language"),
    ]
    for content, filename, fields, code, message in cases:
        status, body = await admin.upload(content, filename=filename, **fields)
        assert status == code, (filename, body)
        assert message in body["error"]["message"], (filename, body)
    assert await _files(instance) == []
    assert (await admin.json("GET", "/api/v1/library"))[1]["total"] == 0
    # The real type wins over the name: text named .pdf is stored and served as text.
    status, doc = await admin.upload(b"Plain words about confiscation.", filename="looks-like.pdf")
    assert status == 201 and doc["media_type"] == "text/plain"
    status, body, headers = await admin.raw(f"/library/{doc['id']}/download")
    assert headers["Content-Type"].startswith("text/plain") and headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in headers["Content-Disposition"]
    # Not multipart at all.
    status, body = await admin.json("POST", "/api/v1/library/documents", {"title": "x"})
    assert status == 400


async def test_search_finds_text_extracted_from_pdf_and_docx_and_download_is_exact(
    instance: Instance, admin: Http, member: Http
) -> None:
    pdf = tiny_pdf("Urgent provisional measures against Sample Shipping Group vessels.")
    word = tiny_docx("Asset recovery", "Beneficial ownership registers list Example Holdings Ltd.")
    status, a = await admin.upload(pdf, filename="measures.pdf", title="Measures", tags="freezing, maritime")
    assert status == 201 and a["media_type"] == "application/pdf" and a["tags"] == ["freezing", "maritime"]
    status, b = await admin.upload(
        word, filename="registers.docx", title="Registers", kind="best_practice", region="Africa", language="fr"
    )
    assert status == 201 and b["media_type"].endswith("wordprocessingml.document")
    status, found = await member.json("GET", "/api/v1/library?q=provisional+vessels")
    assert [r["document"]["id"] for r in found["results"]] == [a["id"]]
    assert {"text": "vessels", "match": True} in found["results"][0]["snippet"] or any(
        piece["match"] for piece in found["results"][0]["snippet"]
    )
    status, found = await member.json("GET", "/api/v1/library?q=beneficial&kind=best_practice&region=Africa")
    assert [r["document"]["id"] for r in found["results"]] == [b["id"]]
    assert (await member.json("GET", "/api/v1/library?q=beneficial&language=en"))[1]["total"] == 0
    assert (await member.json("GET", "/api/v1/library?tag=maritime"))[1]["total"] == 1
    assert (await member.json("GET", "/api/v1/library?kind=memo"))[0] == 400
    status, body, headers = await member.raw(f"/library/{a['id']}/download")
    assert status == 200 and body == pdf and headers["Content-Type"] == "application/pdf"
    assert "measures.pdf" in headers["Content-Disposition"]
    status, html, _ = await member.page("/library?q=ownership")
    assert status == 200 and "<mark>ownership</mark>" in html.lower() and "Registers" in html
    status, html, _ = await member.page(f"/library/{b['id']}")
    assert status == 200 and b["sha256"] in html
    assert (await member.page("/library/" + "0" * 32))[0] == 404
    assert (await member.raw("/library/" + "0" * 32 + "/download"))[0] == 404


async def test_the_library_needs_a_session(instance: Instance) -> None:
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{instance.url}/api/v1/library") as response:
            assert response.status == 401
        async with anonymous.get(f"{instance.url}/api/v1/notices/lookup?ref=CN-2026-00001") as response:
            assert response.status == 401
        async with anonymous.get(f"{instance.url}/library", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/signin"


GOOD_CSV = """reference,type,subject,subject_kind,countries,valid_from,valid_until,status,summary
CN-2026-00011,corruption,Example Holdings Ltd,entity,FR KE,2026-01-01,,valid,Fictional.
AF-2025-00012,asset_freeze,John Example,person,SG,2025-01-01,2025-06-30,,Fictional and expired.
AF-2026-00013,asset_freeze,Sample Trading SA,entity,BR;CL,2026-02-01,2027-02-01,cancelled,
"""

BAD_CSV = """reference,type,subject,subject_kind,countries,valid_from,valid_until,status,summary
CN-2026-00021,corruption,Example Two Ltd,entity,FR,2026-01-01,,,
XX-1,corruption,Bad Ref Ltd,entity,FR,2026-01-01,,,
AF-2026-00023,corruption,Wrong Prefix Ltd,entity,FR,2026-01-01,,,
CN-2026-00024,corruption,Bad Country Ltd,entity,ZZ,2026-01-01,,,
CN-2026-00025,corruption,Bad Dates Ltd,entity,FR,2026-05-01,2026-01-01,,
CN-2026-00021,corruption,Duplicate Ltd,entity,FR,2026-01-01,,,
"""


async def test_notices_import_is_all_or_nothing_with_a_report_per_row(
    instance: Instance, admin: Http, member: Http
) -> None:
    status, body = await admin.post_file("/api/v1/notices/import", BAD_CSV, "text/csv")
    assert status == 400 and body["error"]["code"] == "input.invalid"
    assert [(r["row"], r["field"]) for r in body["rows"]] == [
        (2, "reference"),
        (3, "reference"),
        (4, "countries"),
        (5, "valid_until"),
        (6, "reference"),
    ]
    assert (await admin.json("GET", "/api/v1/notices"))[1]["total"] == 0  # row 1 was fine, yet not written
    assert (await member.post_file("/api/v1/notices/import", GOOD_CSV, "text/csv"))[0] == 403
    status, body = await admin.post_file("/api/v1/notices/import", GOOD_CSV, "text/csv")
    assert status == 201 and body["imported"] == 3
    # Importing again: every row already exists, nothing changes.
    status, body = await admin.post_file("/api/v1/notices/import", GOOD_CSV, "text/csv")
    assert status == 400 and [r["row"] for r in body["rows"]] == [1, 2, 3]
    rows = [
        {"reference": "AF-2026-00031", "type": "asset_freeze", "subject": "Example Vessel Co", "countries": ["KE"],
         "valid_from": "2026-03-01"},
    ]  # fmt: skip
    status, body = await admin.post_file("/api/v1/notices/import", json.dumps(rows), "application/json")
    assert status == 201 and body["references"] == ["AF-2026-00031"]
    status, body = await admin.post_file("/api/v1/notices/import", json.dumps([{"nope": 1}]), "application/json")
    assert status == 400 and body["rows"][0]["message"].startswith("Unknown field")
    assert (await admin.post_file("/api/v1/notices/import", "{not json", "application/json"))[0] == 400
    assert (await admin.post_file("/api/v1/notices/import", "a,b\n1,2\n", "text/csv"))[0] == 400
    # The look-up that the composer uses: statuses computed from the dates, unknown references said so.
    query = "ref=CN-2026-00011&ref=af-2025-00012&ref=AF-2026-00013&ref=CN-2026-99999"
    status, body = await member.json("GET", f"/api/v1/notices/lookup?{query}")
    assert status == 200
    assert [(n["reference"], n["status"]) for n in body["notices"]] == [
        ("CN-2026-00011", "valid"),
        ("AF-2025-00012", "expired"),
        ("AF-2026-00013", "cancelled"),
        ("CN-2026-99999", "unknown"),
    ]
    assert (await member.json("GET", "/api/v1/notices/lookup?ref=<script>"))[0] == 400
    assert (await member.json("GET", "/api/v1/notices/lookup"))[0] == 400
    # Entry by form, cancel and reinstate.
    new = {"reference": "CN-2026-00040", "type": "corruption", "subject": "Placeholder Holdings Ltd",
           "countries": "FR", "valid_from": "2026-01-01"}  # fmt: skip
    assert (await member.json("POST", "/api/v1/notices", new))[0] == 403
    status, created = await admin.json("POST", "/api/v1/notices", new)
    assert status == 201 and created["status"] == "valid"
    assert (await admin.json("POST", "/api/v1/notices", new))[0] == 409
    assert (await member.json("POST", "/api/v1/notices/CN-2026-00040/cancel", {"cancelled": True}))[0] == 403
    status, cancelled = await admin.json("POST", "/api/v1/notices/CN-2026-00040/cancel", {"cancelled": True})
    assert status == 200 and cancelled["status"] == "cancelled"
    assert (await admin.json("POST", "/api/v1/notices/CN-2026-77777/cancel", {"cancelled": True}))[0] == 404
    # The list page marks cancelled and expired notices.
    status, html, _ = await member.page("/notices?status=expired")
    assert status == 200 and "AF-2025-00012" in html and "notice-status-expired" in html
    assert "CN-2026-00011" not in html
    status, html, _ = await member.page("/notices?q=placeholder")
    assert "notice-status-cancelled" in html
    assert (await member.page("/notices/manage"))[0] == 403
    assert (await admin.page("/notices/manage"))[0] == 200

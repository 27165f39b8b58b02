"""The webmail API's OpenAPI document covers every ``/api`` route, and its docs page renders it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from isecom import app as composition
from isecom.config import Config
from webmail.middleware import CSP

DOCUMENT = Path(__file__).parents[2] / "webmail" / "openapi.json"


@pytest.fixture
async def client(cfg: Config) -> AsyncIterator[TestClient[object, object]]:
    await composition.check_database(cfg, upgrade=True)
    async with composition.open_context(cfg) as context:
        server = TestServer(composition.build_web_app(context), host="127.0.0.1")
        async with TestClient(server) as test_client:
            yield test_client


def _template(path: str) -> str:
    """``/x/{action:suspend|revoke}`` → ``/x/{action}``: the document names variables only."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


async def test_every_api_route_of_the_webmail_is_in_the_openapi_document(client: TestClient[object, object]) -> None:
    served = {
        (route.method.lower(), _template(route.resource.canonical))
        for route in client.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
        and route.resource.canonical not in ("/api/openapi.json", "/api/docs")
    }
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert served == documented
    assert doc["openapi"] == "3.1.0"


def test_the_document_is_consistent() -> None:
    """Every $ref resolves, every operation has a summary, and path variables are declared."""
    doc = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in doc["components"][ref[0]], ref
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["responses"], (method, path)
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)
            assert op["security"] in ([], [{"session": []}])


async def test_document_and_docs_page_are_served_without_a_session(client: TestClient[object, object]) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert (await response.json()) == json.loads(DOCUMENT.read_text(encoding="utf-8"))
    page = await client.get("/api/docs")
    assert page.status == 200 and page.content_type == "text/html"
    assert page.headers["Content-Security-Policy"] == CSP
    html = await page.text()
    assert "<script" not in html and "style=" not in html
    assert "<code>PUT /api/v1/files/{file_id}/chunks/{index}</code>" in html
    assert "<code>MailboxEntry</code>" in html and "X-CSRF-Token" in html

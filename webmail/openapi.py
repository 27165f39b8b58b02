"""The webmail API's OpenAPI 3.1 document (``webmail/openapi.json``) and a readable page of it.

``/api/openapi.json`` serves the hand-written document; ``/api/docs`` renders it on the
server into plain HTML (no scripts: the CSP allows none inline and none from elsewhere).
Both are public: they describe the API, not anyone's data. A test keeps every ``/api``
route of the app in the document.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from isecom.access import public
from webmail.render import render

routes = web.RouteTableDef()
OPENAPI = Path(__file__).with_name("openapi.json")
METHODS = ("get", "put", "post", "patch", "delete")


@functools.cache
def document() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return value


def _shown(schema: Any) -> str:
    """A schema as indented JSON, for a <pre> block."""
    return json.dumps(schema, indent=2, ensure_ascii=False)


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            body = op.get("requestBody", {}).get("content", {})
            found.append(
                {
                    "anchor": f"{method}{path}".replace("/", "-").replace("{", "").replace("}", "").strip("-"),
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tag": (op.get("tags") or ["other"])[0],
                    "public": op.get("security") == [],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                            "schema": json.dumps(p.get("schema", {}), ensure_ascii=False),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": [(kind, _shown(media.get("schema", {}))) for kind, media in body.items()],
                    "responses": [
                        {
                            "status": status,
                            "description": answer.get("description", ""),
                            "ref": answer.get("$ref", "").rsplit("/", 1)[-1],
                            "content": [
                                (kind, _shown(m.get("schema", {}))) for kind, m in answer.get("content", {}).items()
                            ],
                        }
                        for status, answer in op.get("responses", {}).items()
                    ],
                }
            )
    return found


@routes.get("/api/openapi.json")
@public
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


@routes.get("/api/docs")
@public
async def docs(request: web.Request) -> web.Response:
    doc = document()
    operations = _operations(doc)
    tags = [t for t in doc.get("tags", []) if any(op["tag"] == t["name"] for op in operations)]
    return render(
        request,
        "api-docs.html",
        info=doc["info"],
        tags=tags,
        operations=operations,
        schemas=[(name, _shown(schema)) for name, schema in doc["components"]["schemas"].items()],
    )

"""Evidence attachments API (``/api/v1/files``): declare, upload chunks, status, commit, download, abort.

Chunk bodies are raw ``application/octet-stream`` and are read from ``request.content`` piece by
piece, straight into the blob store: ``server.max_request_bytes`` (aiohttp's ``client_max_size``)
only bounds bodies read whole with ``request.read()``/``json()``, so it neither blocks a 16 MiB
chunk nor protects this route — the service bounds it instead to the exact declared length of
that chunk (at most 16 MiB + 40). The JSON routes keep the app-wide limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.services import files
from isecom.services.ports import FileRecord
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()
READ_PIECE = 256 * 1024
OCTETS = "application/octet-stream"


def _limits(request: web.Request) -> files.Limits:
    config = request.config_dict[CONTEXT].config
    return files.Limits(max_file_bytes=config.max_file_bytes, quota_bytes=config.quota_bytes)


def _index(request: web.Request) -> int:
    raw = request.match_info["index"]
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("A chunk index is a whole number.", field="index")
    return int(raw)


def _hashes(value: Any) -> list[bytes] | None:
    if value is None:
        return None  # a one-pass upload: each chunk's PUT brings its hash (§8.2)
    if not isinstance(value, list):
        raise InvalidInput("chunk_hashes must be a list of base64url hashes.", field="chunk_hashes")
    if len(value) > files.MAX_CHUNKS:
        raise InvalidInput(f"At most {files.MAX_CHUNKS} chunks per file; use larger chunks.", field="n_chunks")
    try:
        return [b64d(item, size=files.HASH_BYTES) for item in value]
    except CryptoError:
        raise InvalidInput("chunk_hashes must be 32-byte base64url hashes.", field="chunk_hashes") from None


def _hash(value: str | None, field: str) -> bytes | None:
    if value is None:
        return None
    try:
        return b64d(value, size=files.HASH_BYTES)
    except CryptoError:
        raise InvalidInput(f"{field} must be a 32-byte base64url hash.", field=field) from None


def _resume(value: Any) -> bytes | None:
    if value is None:
        return None
    try:
        return b64d(value)
    except CryptoError:
        raise InvalidInput("resume must be a base64url sealed box.", field="resume") from None


def file_json(record: FileRecord, missing: list[int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "file_id": record.id,
        "status": record.status,
        "n_chunks": record.n_chunks,
        "chunk_size": record.chunk_size,
        "plain_size": record.plain_size,
        "created_at": record.created_at.isoformat(),
        "committed_at": record.committed_at.isoformat() if record.committed_at else None,
    }
    if missing is not None:
        body["missing"] = missing
    return body


@routes.post("/api/v1/files")
async def declare(request: web.Request) -> web.Response:
    body = await read_json(request)
    declaration = files.Declaration.parse(
        file_id=body.get("file_id"),
        n_chunks=body.get("n_chunks"),
        chunk_size=body.get("chunk_size"),
        plain_size=body.get("plain_size"),
        chunk_hashes=_hashes(body.get("chunk_hashes")),
        resume=_resume(body.get("resume")),
    )
    context = request.config_dict[CONTEXT]
    member = request[MEMBER].id
    record, created = await files.declare(context.store, context.clock, member, declaration, _limits(request))
    if created:
        return web.json_response(file_json(record, list(range(record.n_chunks))), status=201)
    found = await files.status(context.store, member, record.id)
    return web.json_response(file_json(found.record, found.missing))


@routes.get("/api/v1/files")
async def unfinished(request: web.Request) -> web.Response:
    """The member's own uploads that can be resumed (§8.6): sealed records, declared hashes (none
    for a one-pass upload), the chunks stored so far with their hash and nonce, what is missing."""
    context = request.config_dict[CONTEXT]
    found = await files.unfinished(context.store, request[MEMBER].id)
    uploads = [
        {
            "file_id": item.file_id,
            "resume": b64e(item.sealed),
            "chunk_hashes": [
                b64e(item.manifest[i : i + files.HASH_BYTES]) for i in range(0, len(item.manifest), files.HASH_BYTES)
            ],
            "stored": [
                {"index": index, "hash": b64e(chunk.digest), "nonce": b64e(chunk.nonce)}
                for index, chunk in sorted(stored.items())
                if chunk.digest is not None and chunk.nonce is not None
            ],
            "missing": [i for i in range(item.n_chunks) if i not in stored],
        }
        for item, stored in found
    ]
    return web.json_response({"uploads": uploads}, headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/files/{file_id}")
async def file_status(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found = await files.status(context.store, request[MEMBER].id, request.match_info["file_id"])
    return web.json_response(file_json(found.record, found.missing))


@routes.put("/api/v1/files/{file_id}/chunks/{index}")
async def put_chunk(request: web.Request) -> web.Response:
    if request.content_type != OCTETS:
        raise InvalidInput(f"Send the chunk as {OCTETS}.")
    context = request.config_dict[CONTEXT]
    stored = await files.put_chunk(
        context.store,
        context.blobs,
        request[MEMBER].id,
        request.match_info["file_id"],
        _index(request),
        _body(request),
        request.content_length,
        _hash(request.headers.get("X-Chunk-Hash"), "X-Chunk-Hash"),
    )
    return web.Response(status=201 if stored else 204)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body piece by piece; a client that goes away mid-chunk is a refused chunk
    (nothing is stored), not a server error."""
    try:
        async for piece in request.content.iter_chunked(READ_PIECE):
            yield piece
    except ConnectionResetError:
        raise InvalidInput(
            "The connection was lost before the whole chunk arrived; send it again.", field="body"
        ) from None


@routes.get("/api/v1/files/{file_id}/chunks/{index}")
async def get_chunk(request: web.Request) -> web.StreamResponse:
    context = request.config_dict[CONTEXT]
    size, pieces = await files.read_chunk(
        context.store, context.blobs, request[MEMBER].id, request.match_info["file_id"], _index(request)
    )
    first = await anext(pieces)  # a missing blob raises NotFound here, before anything is sent
    response = web.StreamResponse(headers={"Content-Type": OCTETS})
    response.content_length = size
    await response.prepare(request)
    await response.write(first)
    async for piece in pieces:
        await response.write(piece)
    await response.write_eof()
    return response


@routes.post("/api/v1/files/{file_id}/commit")
async def commit(request: web.Request) -> web.Response:
    """Commit; the JSON body may hold ``manifest_root`` (required when the chunks brought their hashes)."""
    body = await read_json(request) if request.body_exists else {}
    root = body.get("manifest_root")
    if root is not None and not isinstance(root, str):
        raise InvalidInput("manifest_root must be a 32-byte base64url hash.", field="manifest_root")
    context = request.config_dict[CONTEXT]
    record = await files.commit(
        context.store, context.clock, request[MEMBER].id, request.match_info["file_id"], _hash(root, "manifest_root")
    )
    return web.json_response(file_json(record, []))


@routes.delete("/api/v1/files/{file_id}")
async def abort(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await files.abort(context.store, context.blobs, request[MEMBER].id, request.match_info["file_id"])
    return web.Response(status=204)

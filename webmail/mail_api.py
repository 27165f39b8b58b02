"""JSON API of the encrypted message store (``/api/v1/messages``, ``/api/v1/mailbox``, ``/api/v1/drafts``).

Envelopes travel as base64url (PROTOCOL.md §1); the server answers with metadata
and ciphertext only. Every route needs a session and, when it changes
something, the CSRF token (the middleware checks both).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.services import files as attachments
from isecom.services import mailbox
from isecom.services.ports import MailboxEntry
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER

routes = web.RouteTableDef()
HEARTBEAT = 15.0


def entry_json(entry: MailboxEntry) -> dict[str, Any]:
    return {
        "id": entry.msg_id,
        "cursor": entry.id,
        "folder": entry.folder,
        "unread": entry.unread,
        "starred": entry.starred,
        "thread": entry.thread,
        "received_at": entry.received_at.isoformat(),
        "received_at_epoch": int(entry.received_at.timestamp()),
        "size": entry.size,
        "sender": entry.sender_id.value,
        "origin": entry.origin,
    }


def _envelope(body: dict[str, Any]) -> bytes:
    try:
        return b64d(body.get("envelope"))
    except CryptoError:
        raise InvalidInput("envelope must be base64url (PROTOCOL.md §1).", field="envelope") from None


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false.", field=name)
    return value


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.", field=name)
    return value


@routes.post("/api/v1/messages")
async def send(request: web.Request) -> web.Response:
    """Send an envelope; 201 only after it is committed for every recipient."""
    body = await read_json(request)
    files = body.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InvalidInput("files must be a list of file ids.", field="files")
    context = request.config_dict[CONTEXT]
    sent = await mailbox.send(
        context.store,
        context.clock,
        request[MEMBER],
        _envelope(body),
        files=files,
        max_bytes=context.config.max_request_bytes,
        grant=attachments.grant,
    )
    if sent.created:  # after the commit: connected recipients refresh their inbox
        context.live.publish(sent.recipients, {"type": "mail", "id": sent.msg_id, "folder": "inbox"})
        context.live.publish([request[MEMBER].id], {"type": "mail", "id": sent.msg_id, "folder": "sent"})
    return web.json_response(
        {"id": sent.msg_id, "recipients": [r.value for r in sent.recipients]}, status=201 if sent.created else 200
    )


@routes.get("/api/v1/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a line per change in this member's mailbox (no content), and a
    heartbeat every 15 s; the browser's EventSource reconnects by itself."""
    context = request.config_dict[CONTEXT]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    await response.write(b"retry: 3000\n\n")
    stream = context.live.subscribe(request[MEMBER].id)
    try:
        while True:
            try:
                event = await asyncio.wait_for(anext(stream), timeout=HEARTBEAT)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            except StopAsyncIteration:
                break
            if event is None:  # fell behind: reload everything
                await response.write(b"event: reload\ndata: {}\n\n")
                break
            await response.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    except ConnectionResetError:
        pass  # the browser went away
    finally:
        await stream.aclose()
    return response


@routes.get("/api/v1/mailbox/{folder}")
async def folder(request: web.Request) -> web.Response:
    """A page of a folder, newest first: metadata only; ``before`` is the last page's smallest cursor."""
    raw_before, raw_limit = request.query.get("before"), request.query.get("limit", str(mailbox.PAGE))
    if raw_before is not None and not raw_before.isdigit():
        raise InvalidInput("before must be a cursor from a previous page.", field="before")
    if not raw_limit.isdigit():
        raise InvalidInput("limit must be a number.", field="limit")
    context = request.config_dict[CONTEXT]
    entries, unread = await mailbox.page(
        context.store,
        request[MEMBER],
        request.match_info["folder"],
        before=int(raw_before) if raw_before is not None else None,
        limit=int(raw_limit),
    )
    limit = int(raw_limit)
    return web.json_response(
        {
            "messages": [entry_json(e) for e in entries],
            "next": entries[-1].id if len(entries) == limit else None,
            "unread": unread,
        }
    )


@routes.get("/api/v1/messages/{id}")
async def read(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    entry, data = await mailbox.read(context.store, request[MEMBER], request.match_info["id"])
    return web.json_response({"message": entry_json(entry), "envelope": b64e(data)})


@routes.patch("/api/v1/messages/{id}")
async def change(request: web.Request) -> web.Response:
    """Read/unread, star, move between folders, or set the client's thread tag."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    entry = await mailbox.update(
        context.store,
        request[MEMBER],
        request.match_info["id"],
        unread=_flag(body, "unread"),
        starred=_flag(body, "starred"),
        folder=_text(body, "folder"),
        thread=_text(body, "thread"),
    )
    return web.json_response({"message": entry_json(entry)})


@routes.delete("/api/v1/messages/{id}")
async def delete(request: web.Request) -> web.Response:
    """To Trash; from Trash, for good (the ciphertext goes once no mailbox holds it)."""
    context = request.config_dict[CONTEXT]
    where = await mailbox.delete(context.store, request[MEMBER], request.match_info["id"], blobs=context.blobs)
    return web.json_response({"result": where})


@routes.post("/api/v1/mailbox/trash/empty")
async def empty_trash(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    removed = await mailbox.empty_trash(context.store, request[MEMBER], blobs=context.blobs)
    return web.json_response({"deleted": removed})


@routes.get("/api/v1/drafts")
async def drafts(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    found = await mailbox.drafts(context.store, request[MEMBER])
    return web.json_response(
        {
            "drafts": [
                {"slot": d.slot, "envelope": b64e(d.envelope), "updated_at": d.updated_at.isoformat()} for d in found
            ]
        }
    )


@routes.put("/api/v1/drafts/{slot}")
async def save_draft(request: web.Request) -> web.Response:
    """Keep the latest encrypted draft in this slot (sealed to its author only)."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    await mailbox.save_draft(
        context.store,
        context.clock,
        request[MEMBER],
        request.match_info["slot"],
        _envelope(body),
        max_bytes=context.config.max_request_bytes,
    )
    return web.Response(status=204)


@routes.delete("/api/v1/drafts/{slot}")
async def delete_draft(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await mailbox.delete_draft(context.store, request[MEMBER], request.match_info["slot"])
    return web.Response(status=204)

"""The 24-hour initial action checklist over HTTP: the pages ``/checklists``, ``/checklists/{id}``,
``/admin/checklist`` and the JSON API ``/api/v1/checklist*`` (docs/PROTOCOL.md §12).

Labels, wrapped keys and notes travel as base64url and are stored as they came: the server
never holds the case key. Every route needs a session; changes need the CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError
from isecom.errors import InvalidInput
from isecom.services import checklists
from isecom.services.checklist_ports import CaseCopy, CaseNote, ChecklistVersion, Tick
from isecom.types import MemberId, Role
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.render import render

routes = web.RouteTableDef()


async def _announce(request: web.Request, what: str) -> None:
    """After the commit: the participants' open case pages refresh (no content in the event)."""
    context = request.config_dict[CONTEXT]
    case_id = request.match_info["case_id"]
    members = await checklists.audience(context.store, request[MEMBER], case_id)
    context.live.publish(members, {"type": "checklist", "case": case_id, "what": what})


def _bytes(body: dict[str, Any], name: str) -> bytes:
    try:
        return b64d(body.get(name))
    except CryptoError:
        raise InvalidInput(f"{name} must be base64url (PROTOCOL.md §1).", field=name) from None


def _version_json(v: ChecklistVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "created_at": v.created_at.isoformat(),
        "created_by": v.created_by.value if v.created_by else None,
        "items": [
            {"section": i.section, "title": i.title, "guidance": i.guidance, "due_hours": i.due_hours} for i in v.items
        ],
    }


def _case_json(case: CaseCopy) -> dict[str, Any]:
    return {
        "id": case.id,
        "version": case.version,
        "starts_at": case.starts_at.isoformat(),
        "label": b64e(case.label),
        "key_commit": b64e(case.key_commit),
        "created_by": case.created_by.value if case.created_by else None,
        "created_at": case.created_at.isoformat(),
    }


def _tick_json(tick: Tick) -> dict[str, Any]:
    return {
        "item": tick.item,
        "done": tick.done,
        "changed_by": tick.changed_by.value if tick.changed_by else None,
        "changed_at": tick.changed_at.isoformat(),
    }


def _note_json(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.id,
        "author": note.author_id.value if note.author_id else None,
        "created_at": note.created_at.isoformat(),
        "note": b64e(note.body),
    }


# --- pages -------------------------------------------------------------------------------------


@routes.get("/checklists", name="checklists")
async def list_page(request: web.Request) -> web.Response:
    """My case copies and "start a new case"; labels are decrypted in the browser."""
    member = request[MEMBER]
    return render(request, "checklists.html", member=member, admin=Role.ADMIN in member.roles)


@routes.get("/checklists/{case_id}", name="checklist")
async def case_page(request: web.Request) -> web.Response:
    """One case copy: the page holds no data; checklist.js loads and decrypts it (404 when not yours)."""
    raw = request.match_info["case_id"]
    try:
        case_id = checklists.case_id(raw)
    except InvalidInput:
        raise web.HTTPNotFound() from None
    return render(request, "checklist.html", member=request[MEMBER], case_id=case_id)


@routes.get("/admin/checklist", name="admin-checklist")
async def admin_page(request: web.Request) -> web.Response:
    """The template editor; the API refuses non-administrators and the page says so."""
    return render(request, "checklist-admin.html", admin=Role.ADMIN in request[MEMBER].roles)


# --- templates ---------------------------------------------------------------------------------


@routes.get("/api/v1/checklist/template")
async def template(request: web.Request) -> web.Response:
    return web.json_response(_version_json(await checklists.latest(request.config_dict[CONTEXT].store)))


@routes.get(r"/api/v1/checklist/template/{version:\d{1,9}}")
async def template_version(request: web.Request) -> web.Response:
    number = int(request.match_info["version"])
    return web.json_response(_version_json(await checklists.version(request.config_dict[CONTEXT].store, number)))


@routes.post("/api/v1/checklist/template")
async def publish(request: web.Request) -> web.Response:
    """Save the items as a new template version (administrators); 201 after the commit."""
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    made = await checklists.publish(
        context.store, context.clock, request[MEMBER], checklists.parse_items(body.get("items"))
    )
    return web.json_response(_version_json(made), status=201)


# --- case copies -------------------------------------------------------------------------------


@routes.get("/api/v1/checklists")
async def my_cases(request: web.Request) -> web.Response:
    found = await checklists.cases(request.config_dict[CONTEXT].store, request[MEMBER])
    return web.json_response(
        {
            "cases": [
                {
                    **_case_json(s.case),
                    "enc_kid": b64e(s.own.enc_kid),
                    "wrap": b64e(s.own.wrap),
                    "ticked": s.ticked,
                    "items": s.items,
                }
                for s in found
            ]
        }
    )


@routes.post("/api/v1/checklists")
async def start(request: web.Request) -> web.Response:
    body = await read_json(request)
    raw_start = body.get("starts_at")
    try:
        starts_at = datetime.fromisoformat(raw_start) if isinstance(raw_start, str) else None
    except ValueError:
        starts_at = None
    if starts_at is None or starts_at.tzinfo is None:
        raise InvalidInput("starts_at is a date and time with its UTC offset (ISO 8601).", field="starts_at")
    number = body.get("version")
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidInput("version is the template version number.", field="version")
    context = request.config_dict[CONTEXT]
    case, created = await checklists.start(
        context.store,
        context.clock,
        request[MEMBER],
        new_id=checklists.case_id(body.get("id")),
        template=number,
        starts_at=starts_at,
        label=_bytes(body, "label"),
        key_commit=_bytes(body, "key_commit"),
        enc_kid=_bytes(body, "enc_kid"),
        wrap=_bytes(body, "wrap"),
    )
    return web.json_response(_case_json(case), status=201 if created else 200)


@routes.get("/api/v1/checklists/{case_id}")
async def case(request: web.Request) -> web.Response:
    """The case, its template version, the participants (with only the caller's own wrap) and ticks."""
    member = request[MEMBER]
    context = request.config_dict[CONTEXT]
    seen = await checklists.view(context.store, member, request.match_info["case_id"])
    people = []
    for p, who in seen.participants:
        entry: dict[str, Any] = {
            "member": p.member_id.value,
            "name": who.name if who else "",
            "email": str(who.email) if who else "",
            "country": who.country.code if who else "",
            "added_at": p.added_at.isoformat(),
            "added_by": p.added_by.value if p.added_by else None,
        }
        if p.member_id == member.id:
            entry["enc_kid"] = b64e(p.enc_kid)
            entry["wrap"] = b64e(p.wrap)
        people.append(entry)
    return web.json_response(
        {
            "case": _case_json(seen.case),
            "template": _version_json(seen.template),
            "participants": people,
            "ticks": [_tick_json(t) for t in seen.ticks],
            "due": [checklists.due_at(seen.case, item).isoformat() for item in seen.template.items],
            "now": context.clock.now().isoformat(),
        }
    )


@routes.post("/api/v1/checklists/{case_id}/participants")
async def share(request: web.Request) -> web.Response:
    body = await read_json(request)
    raw = body.get("member")
    target = MemberId.parse(raw if isinstance(raw, str) else "", field="member")
    context = request.config_dict[CONTEXT]
    added = await checklists.share(
        context.store,
        context.clock,
        request[MEMBER],
        request.match_info["case_id"],
        target,
        _bytes(body, "enc_kid"),
        _bytes(body, "wrap"),
    )
    if added:
        await _announce(request, "participant")
    return web.json_response({"member": target.value, "added": added}, status=201 if added else 200)


@routes.post(r"/api/v1/checklists/{case_id}/items/{item:\d{1,4}}")
async def tick(request: web.Request) -> web.Response:
    body = await read_json(request)
    done = body.get("done")
    if not isinstance(done, bool):
        raise InvalidInput("done must be true or false.", field="done")
    context = request.config_dict[CONTEXT]
    made = await checklists.tick(
        context.store,
        context.clock,
        request[MEMBER],
        request.match_info["case_id"],
        int(request.match_info["item"]),
        done,
    )
    await _announce(request, "tick")
    return web.json_response(_tick_json(made))


@routes.get("/api/v1/checklists/{case_id}/notes")
async def notes(request: web.Request) -> web.Response:
    found = await checklists.notes(request.config_dict[CONTEXT].store, request[MEMBER], request.match_info["case_id"])
    return web.json_response({"notes": [_note_json(n) for n in found]})


@routes.post("/api/v1/checklists/{case_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    note, created = await checklists.add_note(
        context.store, context.clock, request[MEMBER], request.match_info["case_id"], _bytes(body, "note")
    )
    if created:
        await _announce(request, "note")
    return web.json_response(_note_json(note), status=201 if created else 200)

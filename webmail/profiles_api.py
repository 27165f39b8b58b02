"""JSON API of the Focal Point directory: profiles, country profiles and their revisions, events."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from isecom.errors import InvalidInput, NotFound
from isecom.services import countryprofiles, events, profiles
from isecom.services.ports import Member
from isecom.services.profile_ports import CountryProfile, Event, FocalPoint
from isecom.types import Country, Email, MemberId
from webmail.api import read_json
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.richtext import render

routes = web.RouteTableDef()


def profile_json(found: FocalPoint, actor: Member) -> dict[str, Any]:
    m, p = found.member, found.profile
    return {
        "id": m.id.value,
        "name": m.name,
        "email": str(m.email),
        "country": m.country.code,
        "agency": m.agency,
        "roles": sorted(role.value for role in m.roles),
        "position": p.position,
        "phone": p.phone,
        "languages": list(p.languages),
        "availability": p.availability,
        "timezone": p.timezone,
        "hours": p.hours,
        "expertise": list(p.expertise),
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
        "editable": profiles.may_edit(actor, m),
    }


def country_json(found: CountryProfile | None, *, html: bool = False) -> dict[str, Any] | None:
    if found is None:
        return None
    f = found.facts
    out: dict[str, Any] = {
        "revision": found.revision,
        "saved_at": found.saved_at.isoformat(),
        "saved_by": found.saved_by_name,
        "freezing": f.freezing,
        "freezing_limit": f.freezing_limit,
        "ncbc": f.ncbc,
        "ncbc_text": f.ncbc_text,
        "mla_route": f.mla_route,
        "central_authority": f.central_authority,
        "working_languages": list(f.working_languages),
        "sections": f.sections,
        "last_reviewed": f.last_reviewed.isoformat() if f.last_reviewed else None,
    }
    if html:
        out["sections_html"] = {name: str(render(text)) for name, text in f.sections.items()}
    return out


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "title": event.title,
        "starts_on": event.starts_on.isoformat(),
        "ends_on": event.ends_on.isoformat(),
        "place": event.place,
        "description": event.description,
        "documents": [{"title": d.title, "url": d.url} for d in event.documents],
        "updated_at": event.updated_at.isoformat(),
    }


def _country(request: web.Request) -> Country:
    try:
        return Country.parse(request.match_info["country"])
    except InvalidInput:
        raise NotFound("No such country.") from None


def _member_id(request: web.Request) -> MemberId:
    try:
        return MemberId.parse(request.match_info["id"])
    except InvalidInput:
        raise NotFound("No such member.") from None


@routes.get("/api/v1/profiles")
async def search(request: web.Request) -> web.Response:
    """The directory: ``q`` (name, email, agency, position), ``country``, ``language``, ``expertise``, ``page``."""
    raw_page = request.query.get("page", "1")
    if not raw_page.isdigit() or len(raw_page) > 4:
        raise InvalidInput("page must be a whole number.", field="page")
    wanted = profiles.query(
        text=request.query.get("q", ""),
        country=request.query.get("country") or None,
        language=request.query.get("language") or None,
        expertise=request.query.get("expertise") or None,
    )
    found, more = await profiles.search(request.config_dict[CONTEXT].store, wanted, page=int(raw_page))
    actor = request[MEMBER]
    return web.json_response({"profiles": [profile_json(f, actor) for f in found], "page": int(raw_page), "more": more})


@routes.get("/api/v1/profiles/lookup")
async def lookup(request: web.Request) -> web.Response:
    """Active members by address (``email`` repeated, at most 20): the compose side panel learns the
    recipients' countries. Addresses of no active member (or no address at all) are left out."""
    raw = request.query.getall("email", [])
    if len(raw) > profiles.MAX_LOOKUP:
        raise InvalidInput(f"Ask for at most {profiles.MAX_LOOKUP} addresses at once.", field="email")
    actor = request[MEMBER]
    emails = []
    for text in raw:
        try:
            emails.append(Email.parse(text))
        except InvalidInput:
            continue  # half-typed in the To field: no member has it
    found = await profiles.by_emails(request.config_dict[CONTEXT].store, emails)
    return web.json_response({"profiles": [profile_json(f, actor) for f in found]})


@routes.get("/api/v1/profiles/{id}")
async def get_profile(request: web.Request) -> web.Response:
    actor = request[MEMBER]
    found = await profiles.get(request.config_dict[CONTEXT].store, actor, _member_id(request))
    return web.json_response(profile_json(found, actor))


@routes.put("/api/v1/profiles/{id}")
async def put_profile(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    actor = request[MEMBER]
    found = await profiles.update(context.store, context.clock, actor, _member_id(request), body)
    return web.json_response(profile_json(found, actor))


@routes.get("/api/v1/countries/{country}")
async def get_country(request: web.Request) -> web.Response:
    country = _country(request)
    actor = request[MEMBER]
    found = await countryprofiles.current(request.config_dict[CONTEXT].store, country)
    return web.json_response(
        {
            "country": country.code,
            "profile": country_json(found, html=True),
            "editable": countryprofiles.may_edit(actor, country),
        }
    )


@routes.put("/api/v1/countries/{country}")
async def put_country(request: web.Request) -> web.Response:
    country = _country(request)
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    saved = await countryprofiles.save(
        context.store, context.clock, request[MEMBER], country, base=body.get("base_revision", -1), body=body
    )
    return web.json_response({"country": country.code, "profile": country_json(saved)})


@routes.get("/api/v1/countries/{country}/revisions")
async def revisions(request: web.Request) -> web.Response:
    country = _country(request)
    found = await countryprofiles.history(request.config_dict[CONTEXT].store, country)
    return web.json_response(
        {
            "country": country.code,
            "revisions": [
                {"revision": r.revision, "saved_at": r.saved_at.isoformat(), "saved_by": r.saved_by_name} for r in found
            ],
        }
    )


@routes.get("/api/v1/meetings")
async def list_events(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    upcoming, past = await events.listing(context.store, context.clock)
    return web.json_response({"upcoming": [event_json(e) for e in upcoming], "past": [event_json(e) for e in past]})


@routes.post("/api/v1/meetings")
async def create_event(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    actor = request[MEMBER]
    event = await events.create(context.store, context.clock, actor, body)
    return web.json_response({"event": event_json(event)}, status=201)


@routes.put("/api/v1/meetings/{id}")
async def update_event(request: web.Request) -> web.Response:
    body = await read_json(request)
    context = request.config_dict[CONTEXT]
    actor = request[MEMBER]
    event = await events.update(context.store, context.clock, actor, request.match_info["id"], body)
    return web.json_response({"event": event_json(event)})


@routes.delete("/api/v1/meetings/{id}")
async def delete_event(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    await events.delete(context.store, context.clock, request[MEMBER], request.match_info["id"])
    return web.Response(status=204)

"""Events: the annual conference and expert working group meetings.

Every member sees them; platform administrators create, edit and delete. Documents are a
list of titled links (to an https page, or to a path on this server such as a file shared
through the platform); nothing is uploaded here.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from isecom.errors import Forbidden, InvalidInput, NotFound
from isecom.services.ports import AuditEntry, Clock, Member, Store
from isecom.services.profile_ports import EVENT_KINDS, Document, Event
from isecom.types import Role

MAX_DOCUMENTS = 20
MAX_LISTED = 100
_ID = re.compile(r"^[0-9a-f]{32}$")
_URL = re.compile(r"^(?:https?://[^\s/\\]+\S*|/(?![/\\])\S*)$")  # no //host or /\host


def require_admin(actor: Member) -> None:
    if Role.ADMIN not in actor.roles:
        raise Forbidden("Only platform administrators can change events.")


def parse_id(raw: str) -> str:
    if not _ID.match(raw):
        raise NotFound("No such event.")
    return raw


def _line(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    raw = body.get(name, "")
    value = raw.strip() if isinstance(raw, str) else ""
    if required and not value:
        raise InvalidInput(f"{name} is required.", field=name)
    if len(value) > limit or any(not c.isprintable() for c in value):
        raise InvalidInput(f"{name} is one line of at most {limit} characters.", field=name)
    return value


def _date(body: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(str(body.get(name, "")))
    except ValueError:
        raise InvalidInput("Give the date as YYYY-MM-DD.", field=name) from None


def _documents(raw: object) -> tuple[Document, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_DOCUMENTS:
        raise InvalidInput(f"Give at most {MAX_DOCUMENTS} documents.", field="documents")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidInput("Each document has a title and a URL.", field="documents")
        title = _line(item, "title", 200)
        url = _line(item, "url", 2000)
        if not _URL.match(url):
            raise InvalidInput(
                "A document link starts with https:// (or is a path on this server, like /files/…).",
                field="documents",
            )
        out.append(Document(title, url))
    return tuple(out)


def parse_event(event_id: str, body: dict[str, Any], actor: Member, clock: Clock) -> Event:
    kind = body.get("kind")
    if kind not in EVENT_KINDS:
        raise InvalidInput("An event is a conference or a working group meeting.", field="kind")
    starts, ends = _date(body, "starts_on"), _date(body, "ends_on")
    if ends < starts:
        raise InvalidInput("The event cannot end before it starts.", field="ends_on")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 20_000:
        raise InvalidInput("The description is text of at most 20000 characters.", field="description")
    return Event(
        id=event_id,
        kind=str(kind),
        title=_line(body, "title", 200),
        starts_on=starts,
        ends_on=ends,
        place=_line(body, "place", 200),
        description=description.replace("\r\n", "\n").strip(),
        documents=_documents(body.get("documents", [])),
        updated_at=clock.now(),
        updated_by=actor.id,
    )


async def create(store: Store, clock: Clock, actor: Member, body: dict[str, Any]) -> Event:
    require_admin(actor)
    event = parse_event(secrets.token_hex(16), body, actor, clock)
    async with store.transaction() as tx:
        await tx.profiles.events.add(event)
        await tx.audit.record(AuditEntry(event.updated_at, actor.id, "event.created", event.id, {}))
    return event


async def update(store: Store, clock: Clock, actor: Member, event_id: str, body: dict[str, Any]) -> Event:
    require_admin(actor)
    event = parse_event(parse_id(event_id), body, actor, clock)
    async with store.transaction() as tx:
        if not await tx.profiles.events.replace(event):
            raise NotFound("No such event.")
        await tx.audit.record(AuditEntry(event.updated_at, actor.id, "event.updated", event.id, {}))
    return event


async def delete(store: Store, clock: Clock, actor: Member, event_id: str) -> None:
    require_admin(actor)
    async with store.transaction() as tx:
        if not await tx.profiles.events.delete(parse_id(event_id)):
            raise NotFound("No such event.")
        await tx.audit.record(AuditEntry(clock.now(), actor.id, "event.deleted", event_id, {}))


async def get(store: Store, event_id: str) -> Event:
    async with store.read() as tx:
        found = await tx.profiles.events.get(parse_id(event_id))
    if found is None:
        raise NotFound("No such event.")
    return found


async def listing(store: Store, clock: Clock) -> tuple[list[Event], list[Event]]:
    """Upcoming (soonest first, ongoing included) and past (newest first), at most MAX_LISTED each."""
    today = clock.now().date()
    async with store.read() as tx:
        upcoming = await tx.profiles.events.between(start=today, end=None, newest_first=False, limit=MAX_LISTED)
        past = await tx.profiles.events.between(start=None, end=today, newest_first=True, limit=MAX_LISTED)
    return upcoming, past

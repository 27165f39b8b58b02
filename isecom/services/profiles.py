"""Focal Point profiles: the directory search, a member's profile, who may edit it, the country's people.

Every active member is in the directory. Until they save a profile, the position, phone and
languages of their application stand in. A member edits their own profile, an NCB head the
profiles of their country's members, an administrator anyone's.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel import Locale

from isecom.errors import Forbidden, InvalidInput, NotFound
from isecom.services.ports import AuditEntry, Clock, Member, Store, Transaction
from isecom.services.profile_ports import (
    AVAILABILITY,
    EXPERTISE,
    OFFICE,
    DirectoryQuery,
    FocalPoint,
    Profile,
)
from isecom.types import Country, Email, MemberId, MemberStatus, Role

PAGE = 25
MAX_PAGES = 400  # 10,000 rows: narrow the search rather than page further
MAX_TEXT = 100
MAX_LANGUAGES = 12
COUNTRY_PAGE_LIMIT = 200
MAX_LOOKUP = 20
OUR_LANGUAGES = ("en", "fr", "es", "ar")
_HOURS = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d-(?:[01]\d|2[0-3]):[0-5]\d$")
_LANG = re.compile(r"^[a-z]{2}$")


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@cache
def _iso_languages() -> frozenset[str]:
    return frozenset(code for code in Locale("en").languages if isinstance(code, str) and _LANG.match(code))


def parse_language(raw: object, *, field: str = "language") -> str:
    code = raw.strip().lower() if isinstance(raw, str) else ""
    if code not in _iso_languages():
        raise InvalidInput("Give a language as a two-letter ISO 639-1 code, e.g. en, fr, es, ar, pt.", field=field)
    return code


def parse_languages(raw: object, *, field: str = "languages") -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_LANGUAGES:
        raise InvalidInput(f"Give at most {MAX_LANGUAGES} languages as a list of ISO codes.", field=field)
    return tuple(dict.fromkeys(parse_language(x, field=field) for x in raw))


def parse_expertise(raw: object, *, field: str = "expertise") -> str:
    if raw not in EXPERTISE:
        raise InvalidInput(f"Unknown expertise (one of: {', '.join(EXPERTISE)}).", field=field)
    return str(raw)


def _line(body: dict[str, Any], name: str, limit: int) -> str:
    raw = body.get(name, "")
    if not isinstance(raw, str):
        raise InvalidInput(f"{name} must be text.", field=name)
    value = raw.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} is at most {limit} characters.", field=name)
    if any(not c.isprintable() for c in value):
        raise InvalidInput(f"{name} cannot contain control characters or line breaks.", field=name)
    return value


def parse_profile(member_id: MemberId, body: dict[str, Any]) -> Profile:
    """The edit form: every field checked, one clear error naming the field."""
    phone = _line(body, "phone", 40)
    if phone and (not all(c.isdigit() or c in "+-() ." for c in phone) or sum(c.isdigit() for c in phone) < 6):
        raise InvalidInput("Give a phone number with its country code, e.g. +33 1 23 45 67 89.", field="phone")
    availability = body.get("availability", OFFICE)
    if availability not in AVAILABILITY:
        raise InvalidInput("Availability is either around the clock or office hours.", field="availability")
    timezone = hours = ""
    if availability == OFFICE:
        timezone = _line(body, "timezone", 64)
        if timezone not in _time_zones():
            raise InvalidInput("Choose a time zone by its IANA name, e.g. Europe/Paris.", field="timezone")
        hours = _line(body, "hours", 16).replace("–", "-").replace(" ", "")
        if not _HOURS.match(hours):
            raise InvalidInput("Give office hours as HH:MM-HH:MM, e.g. 09:00-17:30.", field="hours")
    raw_expertise = body.get("expertise", [])
    if not isinstance(raw_expertise, list):
        raise InvalidInput("expertise must be a list.", field="expertise")
    return Profile(
        member_id=member_id,
        position=_line(body, "position", 200),
        phone=phone,
        languages=parse_languages(body.get("languages", [])),
        availability=str(availability),
        timezone=timezone,
        hours=hours,
        expertise=tuple(dict.fromkeys(parse_expertise(x) for x in raw_expertise)),
    )


def may_edit(actor: Member, target: Member) -> bool:
    """Oneself; an NCB head their country's members; an administrator anyone."""
    return (
        actor.id == target.id
        or Role.ADMIN in actor.roles
        or (Role.NCB_HEAD in actor.roles and actor.country == target.country)
    )


def query(
    *, text: str = "", country: str | None = None, language: str | None = None, expertise: str | None = None
) -> DirectoryQuery:
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"Search text is at most {MAX_TEXT} characters.", field="q")
    return DirectoryQuery(
        text=text.strip(),
        country=Country.parse(country) if country else None,
        language=parse_language(language) if language else None,
        expertise=parse_expertise(expertise) if expertise else None,
    )


async def search(store: Store, wanted: DirectoryQuery, *, page: int) -> tuple[list[FocalPoint], bool]:
    """One page of the directory and whether more follow."""
    if not 1 <= page <= MAX_PAGES:
        raise InvalidInput(f"page must be between 1 and {MAX_PAGES}; narrow the search instead.", field="page")
    async with store.read() as tx:
        found = await tx.profiles.members.search(wanted, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return found[:PAGE], len(found) > PAGE


async def _load(tx: Transaction, member_id: MemberId) -> FocalPoint | None:
    member = await tx.members.get(member_id)
    if member is None:
        return None
    profile = await tx.profiles.members.get(member_id)
    if profile is None:
        application = await tx.applications.get(member_id)
        profile = Profile(member_id=member_id)
        if application is not None:
            profile = Profile(
                member_id=member_id,
                position=application.position,
                phone=application.phone,
                languages=application.languages,
            )
    return FocalPoint(member, profile)


def _visible(actor: Member, found: FocalPoint | None) -> FocalPoint:
    if found is None or (found.member.status is not MemberStatus.ACTIVE and not may_edit(actor, found.member)):
        raise NotFound("No such member.")
    return found


async def get(store: Store, actor: Member, member_id: MemberId) -> FocalPoint:
    """An active member's profile (or one the actor may edit); NotFound otherwise."""
    async with store.read() as tx:
        return _visible(actor, await _load(tx, member_id))


async def by_emails(store: Store, emails: list[Email]) -> list[FocalPoint]:
    """The active members among these addresses (the compose side panel asks for the recipients' countries)."""
    found = []
    async with store.read() as tx:
        for email in dict.fromkeys(emails[:MAX_LOOKUP]):
            member = await tx.members.by_email(email)
            if member is not None and member.status is MemberStatus.ACTIVE:
                one = await _load(tx, member.id)
                if one is not None:
                    found.append(one)
    return found


async def update(store: Store, clock: Clock, actor: Member, member_id: MemberId, body: dict[str, Any]) -> FocalPoint:
    """Save a profile; Forbidden unless ``may_edit``; audited."""
    async with store.transaction() as tx:
        found = _visible(actor, await _load(tx, member_id))
        if not may_edit(actor, found.member):
            raise Forbidden("You may edit your own profile; NCB heads those of their country's members.")
        now = clock.now()
        profile = parse_profile(member_id, body)
        profile = Profile(**{**_fields(profile), "updated_at": now, "updated_by": actor.id})
        await tx.profiles.members.put(profile)
        await tx.audit.record(
            AuditEntry(now, actor.id, "profile.updated", member_id.value, {"country": found.member.country.code})
        )
    return FocalPoint(found.member, profile)


def _fields(profile: Profile) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in Profile.__slots__}


@dataclass(frozen=True, slots=True)
class CountryPeople:
    focal_points: list[FocalPoint]
    ncb_heads: list[FocalPoint]
    agency_heads: list[FocalPoint]
    truncated: bool


async def country_people(store: Store, country: Country) -> CountryPeople:
    """The active members of a country, its NCB heads and agency heads (at most COUNTRY_PAGE_LIMIT)."""
    async with store.read() as tx:
        found = await tx.profiles.members.search(
            DirectoryQuery(country=country), limit=COUNTRY_PAGE_LIMIT + 1, offset=0
        )
    found, truncated = found[:COUNTRY_PAGE_LIMIT], len(found) > COUNTRY_PAGE_LIMIT
    return CountryPeople(
        focal_points=found,
        ncb_heads=[f for f in found if Role.NCB_HEAD in f.member.roles],
        agency_heads=[f for f in found if Role.AGENCY_HEAD in f.member.roles],
        truncated=truncated,
    )

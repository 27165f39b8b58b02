"""Ports for the Focal Point directory: member profiles, country profiles with revisions, events.

``storage/profiles.py`` implements them; a transaction exposes them as ``tx.profiles``.
Everything here is directory and knowledge content the server may know (docs/threat-model.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from isecom.services.ports import Member
from isecom.types import Country, MemberId

ALWAYS = "always"  # reachable 24/7
OFFICE = "office"  # office hours in a time zone
AVAILABILITY = (ALWAYS, OFFICE)

# The expertise vocabulary: fixed keys, so filters match and pages translate the labels.
EXPERTISE = (
    "tracing",
    "freezing",
    "confiscation",
    "ncb_confiscation",
    "mla",
    "money_laundering",
    "corruption",
    "virtual_assets",
    "asset_management",
    "financial_analysis",
    "prosecution",
    "tax_crime",
)

SECTIONS = ("legislative", "administrative", "investigative", "judicial")
NCBC = ("yes", "no", "partial")  # non-conviction-based confiscation
EVENT_KINDS = ("conference", "working_group")


@dataclass(frozen=True, slots=True)
class Profile:
    """A member's directory profile (name, country and agency stay on the member)."""

    member_id: MemberId
    position: str = ""
    phone: str = ""
    languages: tuple[str, ...] = ()  # ISO 639-1 codes, ours first by choice of the member
    availability: str = OFFICE
    timezone: str = ""  # IANA name, with office hours
    hours: str = ""  # "09:00-17:00", with office hours
    expertise: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: MemberId | None = None


@dataclass(frozen=True, slots=True)
class FocalPoint:
    member: Member
    profile: Profile


@dataclass(frozen=True, slots=True)
class DirectoryQuery:
    text: str = ""
    country: Country | None = None
    language: str | None = None
    expertise: str | None = None


@dataclass(frozen=True, slots=True)
class CountryFacts:
    """The editable content of a country profile (one revision's body)."""

    freezing: str = ""  # freezing powers
    freezing_limit: str = ""  # their time limits
    ncbc: str = ""  # one of NCBC, or "" when not stated
    ncbc_text: str = ""
    mla_route: str = ""
    central_authority: str = ""
    working_languages: tuple[str, ...] = ()
    sections: dict[str, str] = field(default_factory=dict)  # SECTIONS -> Markdown
    last_reviewed: date | None = None


@dataclass(frozen=True, slots=True)
class CountryProfile:
    country: Country
    revision: int  # 1, 2, …; each save adds one
    facts: CountryFacts
    saved_at: datetime
    saved_by: MemberId | None
    saved_by_name: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Event:
    id: str  # 32 lower-case hex digits
    kind: str  # one of EVENT_KINDS
    title: str
    starts_on: date
    ends_on: date
    place: str
    description: str  # Markdown
    documents: tuple[Document, ...]
    updated_at: datetime
    updated_by: MemberId | None


class MemberProfileRepository(Protocol):
    async def get(self, member_id: MemberId) -> Profile | None: ...
    async def put(self, profile: Profile) -> None:
        """Insert or replace the member's profile."""
        ...

    async def search(self, query: DirectoryQuery, *, limit: int, offset: int) -> list[FocalPoint]:
        """Active members matching every given filter, by country then name; members without a
        saved profile get one from their application (or an empty one)."""
        ...


class CountryProfileRepository(Protocol):
    async def current(self, country: Country) -> CountryProfile | None: ...
    async def revision(self, country: Country, revision: int) -> CountryProfile | None: ...
    async def history(self, country: Country) -> list[CountryProfile]:
        """Every revision, newest first (facts included)."""
        ...

    async def save(self, country: Country, base: int, facts: CountryFacts, when: datetime, by: MemberId) -> int | None:
        """Store revision ``base + 1`` if ``base`` is still the newest (0: none yet); the new number,
        or None when someone saved in between (nothing written)."""
        ...

    async def countries(self) -> list[str]:
        """Countries with a profile."""
        ...


class EventRepository(Protocol):
    async def add(self, event: Event) -> None: ...
    async def get(self, event_id: str) -> Event | None: ...
    async def replace(self, event: Event) -> bool: ...
    async def delete(self, event_id: str) -> bool: ...
    async def between(self, *, start: date | None, end: date | None, newest_first: bool, limit: int) -> list[Event]:
        """Events ending on or after ``start`` and starting before ``end`` (None: unbounded)."""
        ...


class ProfileStores(Protocol):
    @property
    def members(self) -> MemberProfileRepository: ...
    @property
    def countries(self) -> CountryProfileRepository: ...
    @property
    def events(self) -> EventRepository: ...

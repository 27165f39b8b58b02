"""Country profiles: what a member country's law and institutions allow, kept in revisions.

The NCB head of the country or an administrator edits; every save adds a revision (who,
when, the whole content) and none is ever changed. A save names the revision it was made
from; when someone saved in between, it is refused with a conflict and nothing is written,
so no edit silently overwrites another.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound
from isecom.services.ports import AuditEntry, Clock, Member, Store
from isecom.services.profile_ports import NCBC, SECTIONS, CountryFacts, CountryProfile
from isecom.services.profiles import parse_languages
from isecom.types import Country, Role

SHORT = 2000  # a structured field
LONG = 40_000  # a Markdown section


class _Stale(Exception):
    """Someone saved since the base revision."""


def may_edit(actor: Member, country: Country) -> bool:
    return Role.ADMIN in actor.roles or (Role.NCB_HEAD in actor.roles and actor.country == country)


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    raw = body.get(name, "")
    if not isinstance(raw, str):
        raise InvalidInput(f"{name} must be text.", field=name)
    value = raw.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} is at most {limit} characters.", field=name)
    if any(not c.isprintable() and c not in "\n\t" for c in value):
        raise InvalidInput(f"{name} cannot contain control characters.", field=name)
    return value


def parse_facts(body: dict[str, Any], today: date) -> CountryFacts:
    ncbc = body.get("ncbc", "")
    if ncbc not in ("", *NCBC):
        raise InvalidInput("Non-conviction-based confiscation is yes, no or partial.", field="ncbc")
    raw_sections = body.get("sections", {})
    if not isinstance(raw_sections, dict) or not set(raw_sections) <= set(SECTIONS):
        raise InvalidInput(f"sections has the keys {', '.join(SECTIONS)}.", field="sections")
    sections = {name: _text(raw_sections, name, LONG) for name in SECTIONS}
    reviewed = body.get("last_reviewed")
    last_reviewed = None
    if reviewed not in (None, ""):
        try:
            last_reviewed = date.fromisoformat(str(reviewed))
        except ValueError:
            raise InvalidInput("Give the review date as YYYY-MM-DD.", field="last_reviewed") from None
        if last_reviewed > today:
            raise InvalidInput("The review date cannot be in the future.", field="last_reviewed")
    return CountryFacts(
        freezing=_text(body, "freezing", SHORT),
        freezing_limit=_text(body, "freezing_limit", SHORT),
        ncbc=str(ncbc),
        ncbc_text=_text(body, "ncbc_text", SHORT),
        mla_route=_text(body, "mla_route", SHORT),
        central_authority=_text(body, "central_authority", SHORT),
        working_languages=parse_languages(body.get("working_languages", []), field="working_languages"),
        sections={k: v for k, v in sections.items() if v},
        last_reviewed=last_reviewed,
    )


async def current(store: Store, country: Country) -> CountryProfile | None:
    async with store.read() as tx:
        return await tx.profiles.countries.current(country)


async def revision(store: Store, country: Country, number: int) -> CountryProfile:
    async with store.read() as tx:
        found = await tx.profiles.countries.revision(country, number)
    if found is None:
        raise NotFound("No such revision.")
    return found


async def history(store: Store, country: Country) -> list[CountryProfile]:
    async with store.read() as tx:
        return await tx.profiles.countries.history(country)


async def countries(store: Store) -> list[str]:
    async with store.read() as tx:
        return await tx.profiles.countries.countries()


async def save(
    store: Store, clock: Clock, actor: Member, country: Country, *, base: object, body: dict[str, Any]
) -> CountryProfile:
    """Save a new revision made from revision ``base`` (0 for the first)."""
    if not may_edit(actor, country):
        raise Forbidden("Only the country's NCB head or a platform administrator can edit its profile.")
    if not isinstance(base, int) or isinstance(base, bool) or base < 0:
        raise InvalidInput(
            "base_revision must be the revision the edit started from (0 for none).", field="base_revision"
        )
    now = clock.now()
    facts = parse_facts(body, now.date())
    try:
        async with store.transaction() as tx:
            number = await tx.profiles.countries.save(country, base, facts, now, actor.id)
            if number is None:
                raise _Stale  # roll back (on PostgreSQL the failed insert has ended the transaction anyway)
            await tx.audit.record(
                AuditEntry(now, actor.id, "country_profile.saved", country.code, {"revision": str(number)})
            )
    except _Stale:
        latest = await current(store, country)
        who = latest.saved_by_name if latest and latest.saved_by_name else "someone"
        raise Conflict(
            f"This profile was saved by {who} (revision {latest.revision if latest else '?'}) after you "
            f"opened revision {base}. Your text is still in the form: copy it, reload and apply your "
            "changes again."
        ) from None
    return CountryProfile(country, number, facts, now, actor.id, actor.name)

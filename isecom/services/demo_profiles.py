"""Fictional demo content for the Focal Point directory: profiles, country profiles, two events.

Every text is marked as demo text and says nothing about any real country's law: the
framework sections describe a made-up, generic arrangement so the pages have something to
show. Safe to run again: existing profiles, country profiles and events are left alone.
"""

from __future__ import annotations

from datetime import date, timedelta

from isecom.services.ports import Clock, Store
from isecom.services.profile_ports import ALWAYS, OFFICE, CountryFacts, Document, Event, Profile
from isecom.types import Country, Email, MemberId, Role

DEMO_DOMAIN = "isecom.example"

# local part -> (position, phone, languages, availability, time zone, hours, expertise)
_PROFILES: dict[str, tuple[str, str, tuple[str, ...], str, str, str, tuple[str, ...]]] = {
    "lina.moreau": (
        "Head of the demo NCB",
        "+33 1 00 00 00 01",
        ("fr", "en"),
        ALWAYS,
        "",
        "",
        ("freezing", "mla"),
    ),
    "paul.girard": (
        "Senior investigator",
        "+33 1 00 00 00 02",
        ("fr", "en", "es"),
        OFFICE,
        "Europe/Paris",
        "09:00-17:30",
        ("tracing", "money_laundering"),
    ),
    "camille.roux": (
        "Financial analyst",
        "+33 1 00 00 00 03",
        ("fr", "en"),
        OFFICE,
        "Europe/Paris",
        "08:30-16:30",
        ("financial_analysis", "virtual_assets"),
    ),
    "wanjiru.kamau": (
        "Head of asset tracing",
        "+254 20 000 0001",
        ("en", "sw"),
        OFFICE,
        "Africa/Nairobi",
        "08:00-17:00",
        ("tracing", "corruption", "ncb_confiscation"),
    ),
    "otieno.mwangi": (
        "Investigator",
        "+254 20 000 0002",
        ("en", "sw"),
        OFFICE,
        "Africa/Nairobi",
        "08:00-17:00",
        ("corruption", "asset_management"),
    ),
    "sofia.almeida": (
        "Prosecutor",
        "+55 61 0000 0001",
        ("pt", "es", "en"),
        OFFICE,
        "America/Sao_Paulo",
        "09:00-18:00",
        ("prosecution", "confiscation"),
    ),
    "diego.fuentes": (
        "Head of the demo NCB",
        "+56 2 0000 0001",
        ("es", "en"),
        ALWAYS,
        "",
        "",
        ("freezing", "mla", "prosecution"),
    ),
    "rania.haddad": (
        "Investigator",
        "+962 6 000 0001",
        ("ar", "en"),
        OFFICE,
        "Asia/Amman",
        "08:00-15:00",
        ("tracing", "money_laundering"),
    ),
    "omar.khalil": (
        "Head of the investigations unit",
        "+962 6 000 0002",
        ("ar", "en", "fr"),
        OFFICE,
        "Asia/Amman",
        "08:00-15:00",
        ("mla", "corruption"),
    ),
    "mei.tan": (
        "Financial investigator",
        "+65 6000 0001",
        ("en", "zh"),
        OFFICE,
        "Asia/Singapore",
        "09:00-18:00",
        ("virtual_assets", "financial_analysis"),
    ),
    "erik.lund": (
        "Analyst",
        "+1 613 000 0001",
        ("en", "fr"),
        OFFICE,
        "America/Toronto",
        "09:00-17:00",
        ("tax_crime", "tracing"),
    ),
}

_NOTE = "*Demo text: fictional and generic, not a description of this country's law.*\n\n"
_SECTIONS = {
    "legislative": _NOTE + "- A general statute on the proceeds of crime (demo).\n- Freezing, seizure and "
    "confiscation are set out in one chapter of the demo criminal procedure code.\n",
    "administrative": _NOTE + "A demo asset recovery office traces assets and manages those seized; the "
    "financial intelligence unit can suspend a transaction for a short period.\n",
    "investigative": _NOTE + "1. Ask the Focal Point first, by secure mail.\n2. Give the account details and the "
    "legal basis of the request.\n3. Expect an informal answer before any formal request.\n",
    "judicial": _NOTE + "A judge confirms any freeze; confiscation follows a conviction or, where the demo "
    "profile says so, a separate civil procedure.\n",
}

# country -> (freezing, time limit, ncbc, ncbc text, MLA route, central authority, languages, editor)
_COUNTRIES: dict[str, tuple[str, str, str, str, str, str, tuple[str, ...], str]] = {
    "FR": (
        "Demo text: a prosecutor may order an urgent freeze; a judge confirms it.",
        "Demo text: 10 days before confirmation.",
        "partial",
        "Demo text: only for assets of unexplained origin.",
        "Demo text: formal request through the central authority; informal contact via the Focal Point first.",
        "Demo Ministry of Justice, international cooperation office",
        ("fr", "en"),
        "lina.moreau",
    ),
    "KE": (
        "Demo text: the demo ethics commission may apply to court for a preservation order.",
        "Demo text: 90 days, renewable once.",
        "yes",
        "Demo text: civil forfeiture before the demo high court.",
        "Demo text: requests go to the central authority; copies to the Focal Point.",
        "Demo Office of the Attorney General",
        ("en", "sw"),
        "ada.admin",
    ),
    "CL": (
        "Demo text: the prosecutor asks a guarantee judge for a freeze.",
        "Demo text: as long as the investigation lasts, reviewed every 6 months.",
        "no",
        "",
        "Demo text: through the central authority, in Spanish or with a translation.",
        "Demo Ministry of Foreign Affairs, legal department",
        ("es",),
        "diego.fuentes",
    ),
    "JO": (
        "Demo text: the public prosecutor may freeze accounts for a limited period.",
        "Demo text: 30 days unless a court extends it.",
        "partial",
        "Demo text: for proceeds of corruption only.",
        "Demo text: diplomatic channel; urgent cases through the NCB.",
        "Demo Ministry of Justice",
        ("ar", "en"),
        "ada.admin",
    ),
    "SG": (
        "Demo text: an investigating officer may seize, a court may freeze.",
        "Demo text: 28 days before the court reviews it.",
        "yes",
        "Demo text: civil recovery of benefits of crime.",
        "Demo text: written request to the central authority.",
        "Demo Attorney-General's Chambers, international affairs",
        ("en",),
        "ada.admin",
    ),
}


def _email(local: str) -> Email:
    return Email.parse(f"{local}@{DEMO_DOMAIN}")


async def load(store: Store, clock: Clock) -> None:
    """Add the demo profiles, country profiles and events that do not exist yet."""
    now = clock.now()
    async with store.transaction() as tx:
        admin = await tx.members.by_email(_email("ada.admin"))
        for local, (position, phone, langs, availability, zone, hours, skills) in _PROFILES.items():
            member = await tx.members.by_email(_email(local))
            if member is None or await tx.profiles.members.get(member.id) is not None:
                continue
            await tx.profiles.members.put(
                Profile(member.id, position, phone, langs, availability, zone, hours, skills, now, member.id)
            )
        for code, (freezing, limit, ncbc, ncbc_text, route, authority, langs, editor) in _COUNTRIES.items():
            country = Country(code)
            by = await tx.members.by_email(_email(editor))
            if by is None or (editor != "ada.admin" and Role.NCB_HEAD not in by.roles):
                by = admin
            if by is None or await tx.profiles.countries.current(country) is not None:
                continue
            facts = CountryFacts(freezing, limit, ncbc, ncbc_text, route, authority, langs, dict(_SECTIONS), now.date())
            await tx.profiles.countries.save(country, 0, facts, now, by.id)
        if not await tx.profiles.events.between(start=None, end=None, newest_first=False, limit=1):
            for event in _events(now.date(), admin.id if admin else None, clock):
                await tx.profiles.events.add(event)


def _events(today: date, author: MemberId | None, clock: Clock) -> list[Event]:
    conference = date(today.year, 10, 14)
    if conference < today:
        conference = date(today.year + 1, 10, 14)
    meeting = today - timedelta(days=40)
    return [
        Event(
            id="de0000000000000000000000000000c1",
            kind="conference",
            title="Annual Focal Point conference (demo)",
            starts_on=conference,
            ends_on=conference + timedelta(days=2),
            place="Demo city conference centre",
            description="Demo text: three days of case studies, country updates and the working groups' reports.",
            documents=(
                Document("Draft agenda (demo)", "https://conference.example/agenda"),
                Document("Practical information (demo)", "https://conference.example/practical"),
            ),
            updated_at=clock.now(),
            updated_by=author,
        ),
        Event(
            id="de0000000000000000000000000000e1",
            kind="working_group",
            title="Expert working group on virtual assets (demo)",
            starts_on=meeting,
            ends_on=meeting,
            place="Online",
            description="Demo text: tracing and freezing virtual assets across exchanges.",
            documents=(Document("Summary of the meeting (demo)", "https://conference.example/vawg-summary"),),
            updated_at=clock.now(),
            updated_by=author,
        ),
    ]

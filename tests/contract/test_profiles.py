"""The Focal Point directory on SQLite and PostgreSQL: profiles, search filters, country profile
revisions with optimistic concurrency, events, and who may change what (every role)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from isecom.errors import Conflict, Forbidden, InvalidInput, NotFound
from isecom.services import countryprofiles, demo, events, profiles
from isecom.services.ports import Application, Member
from isecom.services.profile_ports import DirectoryQuery
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage.store import SqlStore
from tests.conftest import FakeClock

KEY = b"9c1f4a7e2b8d5036e4a9c1f7b2d8e5034a9c1f7e2b8d5c306e4a9c1f7b2d8e50"


async def person(
    store: SqlStore,
    clock: FakeClock,
    local: str,
    country: str,
    *roles: Role,
    status: MemberStatus = MemberStatus.ACTIVE,
    languages: tuple[str, ...] = (),
) -> Member:
    member = Member(
        id=MemberId.new(),
        email=Email.parse(f"{local}@isecom.example"),
        name=local.replace(".", " ").title(),
        country=Country(country),
        agency="Demo Agency",
        roles=frozenset({Role.MEMBER, *roles}),
        status=status,
        language=Language.EN,
        created_at=clock.now(),
    )
    async with store.transaction() as tx:
        await tx.members.add(member)
        if languages:
            await tx.applications.add(
                Application(member.id, "+33 1 00 00 00 00", "Applicant", languages, member.email, clock.now())
            )
    return member


PROFILE: dict[str, Any] = {
    "position": "Senior investigator",
    "phone": "+33 1 23 45 67 89",
    "languages": ["fr", "en", "pt"],
    "availability": "office",
    "timezone": "Europe/Paris",
    "hours": "09:00-17:30",
    "expertise": ["tracing", "mla"],
}


async def test_a_member_edits_their_profile_and_the_directory_filters_find_it(
    store: SqlStore, clock: FakeClock
) -> None:
    camille = await person(store, clock, "camille.roux", "FR")
    await person(store, clock, "wanjiru.kamau", "KE", languages=("en", "sw"))
    await person(store, clock, "pending.person", "FR", status=MemberStatus.PENDING_ACTIVATION)
    saved = await profiles.update(store, clock, camille, camille.id, PROFILE)
    assert saved.profile.languages == ("fr", "en", "pt") and saved.profile.updated_by == camille.id

    async def names(**wanted: str) -> list[str]:
        found, _ = await profiles.search(store, profiles.query(**wanted), page=1)
        return [f.member.name for f in found]

    assert await names() == ["Camille Roux", "Wanjiru Kamau"]  # active only, by country then name
    assert await names(country="fr") == ["Camille Roux"]
    assert await names(language="pt") == ["Camille Roux"]
    assert await names(language="sw") == ["Wanjiru Kamau"]  # from the application until a profile is saved
    assert await names(expertise="mla") == ["Camille Roux"]
    assert await names(expertise="corruption") == []
    assert await names(text="INVESTIGATOR") == ["Camille Roux"]  # the position
    assert await names(text="100%_") == []
    found, _ = await profiles.search(store, DirectoryQuery(country=Country("KE")), page=1)
    assert found[0].profile.languages == ("en", "sw") and found[0].profile.position == "Applicant"
    with pytest.raises(InvalidInput) as caught:
        profiles.query(language="xx")
    assert caught.value.field == "language"
    with pytest.raises(InvalidInput):
        profiles.query(expertise="magic")
    with pytest.raises(InvalidInput):
        await profiles.search(store, profiles.query(), page=0)


async def test_directory_pages(store: SqlStore, clock: FakeClock) -> None:
    for i in range(profiles.PAGE + 3):
        await person(store, clock, f"member.{i:02d}", "SG")
    first, more = await profiles.search(store, profiles.query(country="SG"), page=1)
    second, more2 = await profiles.search(store, profiles.query(country="SG"), page=2)
    assert len(first) == profiles.PAGE and more
    assert len(second) == 3 and not more2
    assert not {f.member.id for f in first} & {f.member.id for f in second}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "call me"),
        ("timezone", "Mars/Olympus"),
        ("hours", "9 to 5"),
        ("languages", ["english"]),
        ("languages", "fr"),
        ("expertise", ["astrology"]),
        ("availability", "sometimes"),
        ("position", "x" * 201),
        ("position", "two\nlines"),
    ],
)
async def test_a_bad_profile_field_is_named_and_nothing_is_saved(
    store: SqlStore, clock: FakeClock, field: str, value: object
) -> None:
    camille = await person(store, clock, "camille.roux", "FR")
    with pytest.raises(InvalidInput) as caught:
        await profiles.update(store, clock, camille, camille.id, {**PROFILE, field: value})
    assert caught.value.field == field
    async with store.read() as tx:
        assert await tx.profiles.members.get(camille.id) is None


async def test_who_may_edit_a_profile_every_role(store: SqlStore, clock: FakeClock) -> None:
    target = await person(store, clock, "camille.roux", "FR")
    colleague = await person(store, clock, "paul.girard", "FR")
    agency_head = await person(store, clock, "agency.head", "FR", Role.AGENCY_HEAD)
    ncb_fr = await person(store, clock, "ncb.france", "FR", Role.NCB_HEAD)
    ncb_ke = await person(store, clock, "ncb.kenya", "KE", Role.NCB_HEAD)
    admin = await person(store, clock, "ada.admin", "CA", Role.ADMIN)
    for refused in (colleague, agency_head, ncb_ke):
        with pytest.raises(Forbidden):
            await profiles.update(store, clock, refused, target.id, PROFILE)
    for allowed in (target, ncb_fr, admin):
        done = await profiles.update(store, clock, allowed, target.id, {**PROFILE, "position": allowed.name})
        assert done.profile.updated_by == allowed.id
    async with store.read() as tx:
        assert (await tx.profiles.members.get(target.id)).position == "Ada Admin"  # type: ignore[union-attr]
    with pytest.raises(NotFound):  # unknown and not-active look the same
        await profiles.update(store, clock, admin, MemberId.new(), PROFILE)
    pending = await person(store, clock, "pending.person", "FR", status=MemberStatus.PENDING_ACTIVATION)
    with pytest.raises(NotFound):
        await profiles.get(store, colleague, pending.id)
    assert (await profiles.get(store, ncb_fr, pending.id)).member.id == pending.id
    assert [f.member.id for f in await profiles.by_emails(store, [pending.email, target.email])] == [target.id]


FACTS: dict[str, Any] = {
    "freezing": "Demo text: a prosecutor may freeze.",
    "freezing_limit": "Demo text: 10 days.",
    "ncbc": "partial",
    "ncbc_text": "Demo text: some cases.",
    "mla_route": "Demo text: central authority.",
    "central_authority": "Demo Ministry",
    "working_languages": ["fr", "en"],
    "sections": {"legislative": "# Demo\n\n<script>alert(1)</script>", "judicial": ""},
    "last_reviewed": "2026-11-01",
}


async def test_country_profile_revisions_and_concurrency(store: SqlStore, clock: FakeClock) -> None:
    ncb = await person(store, clock, "ncb.france", "FR", Role.NCB_HEAD)
    admin = await person(store, clock, "ada.admin", "CA", Role.ADMIN)
    fr = Country("FR")
    first = await countryprofiles.save(store, clock, ncb, fr, base=0, body=FACTS)
    assert first.revision == 1 and first.facts.sections == {"legislative": FACTS["sections"]["legislative"]}
    clock.advance(minutes=5)
    second = await countryprofiles.save(store, clock, admin, fr, base=1, body={**FACTS, "freezing": "Changed."})
    assert second.revision == 2
    # An edit of the outdated revision 1 is refused with a conflict that names who saved; nothing is written.
    with pytest.raises(Conflict) as caught:
        await countryprofiles.save(store, clock, ncb, fr, base=1, body={**FACTS, "freezing": "Lost?"})
    assert "Ada Admin" in caught.value.message and "revision 2" in caught.value.message
    with pytest.raises(Conflict):
        await countryprofiles.save(store, clock, admin, Country("KE"), base=3, body=FACTS)
    with pytest.raises(Conflict):  # a second "first" revision
        await countryprofiles.save(store, clock, admin, fr, base=0, body=FACTS)
    current = await countryprofiles.current(store, fr)
    assert current is not None and current.revision == 2 and current.facts.freezing == "Changed."
    assert current.saved_by_name == "Ada Admin" and current.facts.last_reviewed == date(2026, 11, 1)
    history = await countryprofiles.history(store, fr)
    assert [(r.revision, r.saved_by_name) for r in history] == [(2, "Ada Admin"), (1, "Ncb France")]
    old = await countryprofiles.revision(store, fr, 1)
    assert old.facts.freezing == FACTS["freezing"] and old.facts.working_languages == ("fr", "en")
    with pytest.raises(NotFound):
        await countryprofiles.revision(store, fr, 3)
    assert await countryprofiles.countries(store) == ["FR"]
    # Two editors save from the same revision at once: exactly one wins, the other gets the conflict.
    results = await asyncio.gather(
        countryprofiles.save(store, clock, ncb, fr, base=2, body={**FACTS, "freezing": "A"}),
        countryprofiles.save(store, clock, admin, fr, base=2, body={**FACTS, "freezing": "B"}),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "CountryProfile"]
    assert [r.revision for r in await countryprofiles.history(store, fr)] == [3, 2, 1]


async def test_who_may_edit_a_country_profile_every_role(store: SqlStore, clock: FakeClock) -> None:
    fr = Country("FR")
    member = await person(store, clock, "camille.roux", "FR")
    agency_head = await person(store, clock, "agency.head", "FR", Role.AGENCY_HEAD)
    ncb_ke = await person(store, clock, "ncb.kenya", "KE", Role.NCB_HEAD)
    for refused in (member, agency_head, ncb_ke):
        with pytest.raises(Forbidden):
            await countryprofiles.save(store, clock, refused, fr, base=0, body=FACTS)
    assert await countryprofiles.current(store, fr) is None
    assert (await countryprofiles.save(store, clock, ncb_ke, Country("KE"), base=0, body=FACTS)).revision == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ncbc", "maybe"),
        ("sections", {"poetry": "x"}),
        ("last_reviewed", "yesterday"),
        ("last_reviewed", "2099-01-01"),
        ("working_languages", ["klingon"]),
        ("freezing", "x" * 2001),
    ],
)
async def test_a_bad_country_field_is_refused(store: SqlStore, clock: FakeClock, field: str, value: object) -> None:
    admin = await person(store, clock, "ada.admin", "CA", Role.ADMIN)
    with pytest.raises(InvalidInput) as caught:
        await countryprofiles.save(store, clock, admin, Country("FR"), base=0, body={**FACTS, field: value})
    assert caught.value.field == field
    with pytest.raises(InvalidInput):
        await countryprofiles.save(store, clock, admin, Country("FR"), base="1", body=FACTS)
    assert await countryprofiles.current(store, Country("FR")) is None


EVENT: dict[str, Any] = {
    "kind": "conference",
    "title": "Annual conference (fictional)",
    "starts_on": "2026-12-10",
    "ends_on": "2026-12-12",
    "place": "Demo city",
    "description": "Three days.",
    "documents": [{"title": "Agenda", "url": "https://conference.example/agenda"}],
}


async def test_events_admins_create_edit_delete_and_members_list(store: SqlStore, clock: FakeClock) -> None:
    admin = await person(store, clock, "ada.admin", "CA", Role.ADMIN)
    ncb = await person(store, clock, "ncb.france", "FR", Role.NCB_HEAD)
    agency_head = await person(store, clock, "agency.head", "FR", Role.AGENCY_HEAD)
    for refused in (ncb, agency_head, await person(store, clock, "camille.roux", "FR")):
        with pytest.raises(Forbidden):
            await events.create(store, clock, refused, EVENT)
    event = await events.create(store, clock, admin, EVENT)
    past = await events.create(
        store, clock, admin, {**EVENT, "kind": "working_group", "starts_on": "2026-10-01", "ends_on": "2026-10-01"}
    )
    upcoming, done = await events.listing(store, clock)
    assert [e.id for e in upcoming] == [event.id] and [e.id for e in done] == [past.id]
    with pytest.raises(Forbidden):
        await events.update(store, clock, ncb, event.id, EVENT)
    changed = await events.update(store, clock, admin, event.id, {**EVENT, "place": "Elsewhere"})
    assert (await events.get(store, event.id)).place == changed.place == "Elsewhere"
    clock.advance(days=20)  # the conference is over: it moves to the past
    upcoming, done = await events.listing(store, clock)
    assert upcoming == [] and [e.id for e in done] == [event.id, past.id]
    with pytest.raises(Forbidden):
        await events.delete(store, clock, ncb, event.id)
    await events.delete(store, clock, admin, event.id)
    with pytest.raises(NotFound):
        await events.delete(store, clock, admin, event.id)
    with pytest.raises(NotFound):
        await events.update(store, clock, admin, "0" * 32, EVENT)
    with pytest.raises(NotFound):
        await events.get(store, "../etc")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "party"),
        ("title", ""),
        ("starts_on", "soon"),
        ("ends_on", "2026-12-01"),
        ("documents", [{"title": "x", "url": "javascript:alert(1)"}]),
        ("documents", [{"title": "x", "url": "//evil.example/x"}]),
        ("documents", [{"title": "x", "url": "/\\evil.example/x"}]),
        ("documents", [{"title": "", "url": "https://conference.example/"}]),
    ],
)
async def test_a_bad_event_is_refused(store: SqlStore, clock: FakeClock, field: str, value: object) -> None:
    admin = await person(store, clock, "ada.admin", "CA", Role.ADMIN)
    with pytest.raises(InvalidInput):
        await events.create(store, clock, admin, {**EVENT, field: value})
    assert await events.listing(store, clock) == ([], [])


async def test_demo_data_loads_twice(store: SqlStore, clock: FakeClock) -> None:
    await demo.load(store, clock, KEY)
    await demo.load(store, clock, KEY)
    assert set(await countryprofiles.countries(store)) >= {"FR", "KE", "CL", "JO", "SG"}
    fr = await countryprofiles.current(store, Country("FR"))
    assert fr is not None and fr.revision == 1 and fr.saved_by_name == "Lina Moreau"
    assert all("Demo text" in text for text in fr.facts.sections.values())
    upcoming, past = await events.listing(store, clock)
    assert len(upcoming) == 1 and len(past) == 1
    async with store.read() as tx:
        lina = await tx.members.by_email(Email.parse("lina.moreau@isecom.example"))
        assert lina is not None
        profile = await tx.profiles.members.get(lina.id)
    assert profile is not None and profile.availability == "always"
    assert clock.now().date() - timedelta(days=41) < past[0].starts_on

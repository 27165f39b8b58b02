"""The Focal Point directory ports: member profiles, country profiles with revisions, events."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, literal, not_, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.services.ports import Member
from isecom.services.profile_ports import (
    CountryFacts,
    CountryProfile,
    DirectoryQuery,
    Document,
    Event,
    FocalPoint,
    Profile,
)
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage import tables as t

LANG = "lang"
EXP = "exp"


def _split(raw: str) -> tuple[str, ...]:
    return tuple(x for x in raw.split(",") if x)


class MemberProfiles:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, member_id: MemberId) -> Profile | None:
        row = (
            (
                await self._conn.execute(
                    select(t.member_profiles).where(t.member_profiles.c.member_id == member_id.value)
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _profile(row)

    async def put(self, profile: Profile) -> None:
        values = {
            "position": profile.position,
            "phone": profile.phone,
            "languages": ",".join(profile.languages),
            "availability": profile.availability,
            "timezone": profile.timezone,
            "hours": profile.hours,
            "expertise": ",".join(profile.expertise),
            "updated_at": profile.updated_at,
            "updated_by": profile.updated_by.value if profile.updated_by else None,
        }
        mid = profile.member_id.value
        done = await self._conn.execute(
            update(t.member_profiles).where(t.member_profiles.c.member_id == mid).values(**values)
        )
        if not done.rowcount:
            await self._conn.execute(insert(t.member_profiles).values(member_id=mid, **values))
        await self._conn.execute(delete(t.profile_tags).where(t.profile_tags.c.member_id == mid))
        tags = [{"member_id": mid, "kind": LANG, "value": v} for v in dict.fromkeys(profile.languages)]
        tags += [{"member_id": mid, "kind": EXP, "value": v} for v in dict.fromkeys(profile.expertise)]
        if tags:
            await self._conn.execute(insert(t.profile_tags), tags)

    async def search(self, query: DirectoryQuery, *, limit: int, offset: int) -> list[FocalPoint]:
        m, p, a = t.members, t.member_profiles, t.applications
        stmt = (
            select(m, *(c.label(f"p_{c.name}") for c in p.c), a.c.phone.label("a_phone"))
            .add_columns(a.c.position.label("a_position"), a.c.languages.label("a_languages"))
            .select_from(m.outerjoin(p, p.c.member_id == m.c.id).outerjoin(a, a.c.member_id == m.c.id))
            .where(m.c.status == MemberStatus.ACTIVE.value)
            .order_by(m.c.country, m.c.name, m.c.id)
            .limit(limit)
            .offset(offset)
        )
        if query.country is not None:
            stmt = stmt.where(m.c.country == query.country.code)
        if query.text:
            escaped = query.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            columns = (m.c.name, m.c.email, m.c.agency, p.c.position)
            stmt = stmt.where(or_(*(func.lower(c).like(pattern, escape="\\") for c in columns)))
            # A scan matches the text anyway: sort what it finds rather than walk ix_members_directory
            # and look every member up in its order (SQLite would, 6x slower at 100k members).
            stmt = stmt.order_by(None).order_by(m.c.country.concat(""), m.c.name, m.c.id)
        if query.language:
            tagged = exists().where(
                t.profile_tags.c.member_id == m.c.id,
                t.profile_tags.c.kind == LANG,
                t.profile_tags.c.value == query.language,
            )
            # Until a member saves a profile, the languages of their application count.
            applied = and_(
                p.c.member_id.is_(None),
                (literal(",") + a.c.languages + literal(",")).like(f"%,{query.language},%"),
            )
            stmt = stmt.where(or_(tagged, applied))
        if query.expertise:
            stmt = stmt.where(
                exists().where(
                    t.profile_tags.c.member_id == m.c.id,
                    t.profile_tags.c.kind == EXP,
                    t.profile_tags.c.value == query.expertise,
                )
            )
        rows = (await self._conn.execute(stmt)).mappings().all()
        roles = await self._roles([r["id"] for r in rows])
        found = []
        for r in rows:
            member = _member(r, roles.get(r["id"], frozenset()))
            if r["p_member_id"] is not None:
                profile = _profile({k[2:]: v for k, v in r.items() if k.startswith("p_")})
            else:
                profile = Profile(
                    member_id=member.id,
                    position=r["a_position"] or "",
                    phone=r["a_phone"] or "",
                    languages=_split(r["a_languages"] or ""),
                )
            found.append(FocalPoint(member, profile))
        return found

    async def _roles(self, ids: list[str]) -> dict[str, frozenset[Role]]:
        if not ids:
            return {}
        rows = await self._conn.execute(
            select(t.member_roles.c.member_id, t.member_roles.c.role).where(t.member_roles.c.member_id.in_(ids))
        )
        out: dict[str, set[Role]] = defaultdict(set)
        for member_id, role in rows:
            out[member_id].add(Role(role))
        return {k: frozenset(v) for k, v in out.items()}


def _member(m: RowMapping, roles: frozenset[Role]) -> Member:
    return Member(
        id=MemberId(m["id"]),
        email=Email.parse(m["email"]),
        name=m["name"],
        country=Country(m["country"]),
        agency=m["agency"],
        roles=roles,
        status=MemberStatus(m["status"]),
        language=Language(m["language"]),
        created_at=m["created_at"],
    )


def _profile(row: Any) -> Profile:
    return Profile(
        member_id=MemberId(row["member_id"]),
        position=row["position"],
        phone=row["phone"],
        languages=_split(row["languages"]),
        availability=row["availability"],
        timezone=row["timezone"],
        hours=row["hours"],
        expertise=_split(row["expertise"]),
        updated_at=row["updated_at"],
        updated_by=MemberId(row["updated_by"]) if row["updated_by"] else None,
    )


class CountryProfiles:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _select(self) -> Any:
        r = t.country_profile_revisions
        return select(r, t.members.c.name.label("by_name")).select_from(
            r.outerjoin(t.members, t.members.c.id == r.c.saved_by)
        )

    async def current(self, country: Country) -> CountryProfile | None:
        r, c = t.country_profile_revisions, t.country_profiles
        stmt = self._select().join(c, and_(c.c.country == r.c.country, c.c.revision == r.c.revision))
        row = (await self._conn.execute(stmt.where(c.c.country == country.code))).mappings().first()
        return None if row is None else _country(row)

    async def revision(self, country: Country, revision: int) -> CountryProfile | None:
        r = t.country_profile_revisions
        stmt = self._select().where(r.c.country == country.code, r.c.revision == revision)
        row = (await self._conn.execute(stmt)).mappings().first()
        return None if row is None else _country(row)

    async def history(self, country: Country) -> list[CountryProfile]:
        r = t.country_profile_revisions
        stmt = self._select().where(r.c.country == country.code).order_by(r.c.revision.desc())
        return [_country(row) for row in (await self._conn.execute(stmt)).mappings()]

    async def save(self, country: Country, base: int, facts: CountryFacts, when: datetime, by: MemberId) -> int | None:
        c = t.country_profiles
        new = base + 1
        if base == 0:
            try:  # the caller raises on None, which rolls the whole transaction back
                await self._conn.execute(insert(c).values(country=country.code, revision=new, saved_at=when))
            except IntegrityError:
                return None
        else:
            # Compare and set: of two saves from the same base, exactly one changes the row.
            done = await self._conn.execute(
                update(c).where(c.c.country == country.code, c.c.revision == base).values(revision=new, saved_at=when)
            )
            if done.rowcount != 1:
                return None
        await self._conn.execute(
            insert(t.country_profile_revisions).values(
                country=country.code, revision=new, body=_facts_json(facts), saved_at=when, saved_by=by.value
            )
        )
        return new

    async def countries(self) -> list[str]:
        rows = await self._conn.execute(select(t.country_profiles.c.country).order_by(t.country_profiles.c.country))
        return list(rows.scalars())


def _facts_json(facts: CountryFacts) -> str:
    return json.dumps(
        {
            "freezing": facts.freezing,
            "freezing_limit": facts.freezing_limit,
            "ncbc": facts.ncbc,
            "ncbc_text": facts.ncbc_text,
            "mla_route": facts.mla_route,
            "central_authority": facts.central_authority,
            "working_languages": list(facts.working_languages),
            "sections": facts.sections,
            "last_reviewed": facts.last_reviewed.isoformat() if facts.last_reviewed else None,
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def _country(row: RowMapping) -> CountryProfile:
    body = json.loads(row["body"])
    reviewed = body.get("last_reviewed")
    facts = CountryFacts(
        freezing=body.get("freezing", ""),
        freezing_limit=body.get("freezing_limit", ""),
        ncbc=body.get("ncbc", ""),
        ncbc_text=body.get("ncbc_text", ""),
        mla_route=body.get("mla_route", ""),
        central_authority=body.get("central_authority", ""),
        working_languages=tuple(body.get("working_languages", ())),
        sections=dict(body.get("sections", {})),
        last_reviewed=date.fromisoformat(reviewed) if reviewed else None,
    )
    return CountryProfile(
        country=Country(row["country"]),
        revision=row["revision"],
        facts=facts,
        saved_at=row["saved_at"],
        saved_by=MemberId(row["saved_by"]) if row["saved_by"] else None,
        saved_by_name=row["by_name"] or "",
    )


class Events:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, event: Event) -> None:
        await self._conn.execute(insert(t.events).values(id=event.id, **_event_values(event)))

    async def get(self, event_id: str) -> Event | None:
        row = (await self._conn.execute(select(t.events).where(t.events.c.id == event_id))).mappings().first()
        return None if row is None else _event(row)

    async def replace(self, event: Event) -> bool:
        done = await self._conn.execute(
            update(t.events).where(t.events.c.id == event.id).values(**_event_values(event))
        )
        return bool(done.rowcount)

    async def delete(self, event_id: str) -> bool:
        done = await self._conn.execute(delete(t.events).where(t.events.c.id == event_id))
        return bool(done.rowcount)

    async def between(self, *, start: date | None, end: date | None, newest_first: bool, limit: int) -> list[Event]:
        e = t.events
        stmt = select(e).limit(limit)
        if start is not None:
            stmt = stmt.where(e.c.ends_on >= start)
        if end is not None:
            stmt = stmt.where(not_(e.c.ends_on >= end))
        order = (e.c.starts_on.desc(), e.c.id) if newest_first else (e.c.starts_on, e.c.id)
        rows = (await self._conn.execute(stmt.order_by(*order))).mappings()
        return [_event(row) for row in rows]


def _event_values(event: Event) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "title": event.title,
        "starts_on": event.starts_on,
        "ends_on": event.ends_on,
        "place": event.place,
        "description": event.description,
        "documents": json.dumps([{"title": d.title, "url": d.url} for d in event.documents], ensure_ascii=False),
        "updated_at": event.updated_at,
        "updated_by": event.updated_by.value if event.updated_by else None,
    }


def _event(row: RowMapping) -> Event:
    return Event(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        place=row["place"],
        description=row["description"],
        documents=tuple(Document(d["title"], d["url"]) for d in json.loads(row["documents"])),
        updated_at=row["updated_at"],
        updated_by=MemberId(row["updated_by"]) if row["updated_by"] else None,
    )


class Profiles:
    """``tx.profiles``: the three repositories on one connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.members = MemberProfiles(conn)
        self.countries = CountryProfiles(conn)
        self.events = Events(conn)

"""SQLAlchemy Core implementations of the repository ports in ``isecom.services.ports``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.errors import Conflict
from isecom.services.ports import AuditEntry, Member, Session, Token
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role
from storage import tables as t


class Members:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, member: Member) -> None:
        # A duplicate fails the whole transaction, which the caller's block rolls back.
        try:
            await self._conn.execute(
                insert(t.members).values(
                    id=member.id.value,
                    email=str(member.email),
                    name=member.name,
                    country=member.country.code,
                    agency=member.agency,
                    status=member.status.value,
                    language=member.language.value,
                    created_at=member.created_at,
                )
            )
        except IntegrityError:
            raise Conflict("A member with this email address already exists.") from None
        if member.roles:
            await self._conn.execute(
                insert(t.member_roles), [{"member_id": member.id.value, "role": r.value} for r in member.roles]
            )

    async def get(self, member_id: MemberId) -> Member | None:
        return await self._one(t.members.c.id == member_id.value)

    async def by_email(self, email: Email) -> Member | None:
        return await self._one(t.members.c.email == str(email))

    async def count(self) -> int:
        return int((await self._conn.execute(select(func.count()).select_from(t.members))).scalar_one())

    async def count_with_role(self, role: Role) -> int:
        query = select(func.count()).select_from(t.member_roles).where(t.member_roles.c.role == role.value)
        return int((await self._conn.execute(query)).scalar_one())

    async def set_status(self, member_id: MemberId, status: MemberStatus) -> None:
        await self._conn.execute(update(t.members).where(t.members.c.id == member_id.value).values(status=status.value))

    async def _one(self, condition: object) -> Member | None:
        row = (await self._conn.execute(select(t.members).where(condition))).first()  # type: ignore[arg-type]
        if row is None:
            return None
        roles = await self._conn.execute(select(t.member_roles.c.role).where(t.member_roles.c.member_id == row.id))
        return _member(row, frozenset(Role(r) for r in roles.scalars()))


def _member(row: Row[tuple[object, ...]], roles: frozenset[Role]) -> Member:
    m = row._mapping
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


class Tokens:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, token: Token) -> None:
        await self._conn.execute(
            insert(t.tokens).values(
                digest=token.digest,
                purpose=token.purpose,
                member_id=token.member_id.value,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )

    async def get(self, digest: bytes) -> Token | None:
        row = (await self._conn.execute(select(t.tokens).where(t.tokens.c.digest == digest))).first()
        if row is None:
            return None
        m = row._mapping
        return Token(
            digest=m["digest"],
            purpose=m["purpose"],
            member_id=MemberId(m["member_id"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            used_at=m["used_at"],
        )

    async def mark_used(self, digest: bytes, when: datetime) -> bool:
        result = await self._conn.execute(
            update(t.tokens).where(t.tokens.c.digest == digest, t.tokens.c.used_at.is_(None)).values(used_at=when)
        )
        return result.rowcount == 1


class Sessions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(
            insert(t.sessions).values(
                digest=session.digest,
                member_id=session.member_id.value,
                created_at=session.created_at,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
            )
        )

    async def get(self, digest: bytes) -> Session | None:
        row = (await self._conn.execute(select(t.sessions).where(t.sessions.c.digest == digest))).first()
        if row is None:
            return None
        m = row._mapping
        return Session(
            digest=m["digest"],
            member_id=MemberId(m["member_id"]),
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            revoked_at=m["revoked_at"],
        )

    async def revoke(self, digest: bytes, when: datetime) -> None:
        await self._conn.execute(
            update(t.sessions)
            .where(t.sessions.c.digest == digest, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )

    async def purge_expired(self, before: datetime) -> int:
        result = await self._conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < before))
        return result.rowcount


class Audit:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        await self._conn.execute(
            insert(t.audit_log).values(
                at=entry.at,
                actor=entry.actor.value if entry.actor else None,
                action=entry.action,
                subject=entry.subject,
                detail=json.dumps(entry.detail, sort_keys=True),
            )
        )

    async def recent(self, limit: int) -> list[AuditEntry]:
        query = select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
        return [
            AuditEntry(
                at=m["at"],
                actor=MemberId(m["actor"]) if m["actor"] else None,
                action=m["action"],
                subject=m["subject"],
                detail=json.loads(m["detail"]),
            )
            for m in (row._mapping for row in await self._conn.execute(query))
        ]

"""SQLAlchemy Core implementations of the repository ports in ``isecom.services.ports``."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from isecom.errors import Conflict
from isecom.services.notify_ports import OutboxHealth, OutboxProblem
from isecom.services.ports import (
    Application,
    Challenge,
    Credentials,
    Member,
    OutgoingMail,
    QueuedMail,
    Session,
    ThrottleState,
    Token,
)
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

    async def with_role(self, role: Role, country: Country) -> list[Member]:
        query = (
            select(t.members.c.id)
            .join(t.member_roles, t.member_roles.c.member_id == t.members.c.id)
            .where(
                t.member_roles.c.role == role.value,
                t.members.c.country == country.code,
                t.members.c.status == MemberStatus.ACTIVE.value,
            )
            .order_by(t.members.c.name)
        )
        found = [await self.get(MemberId(i)) for i in (await self._conn.execute(query)).scalars()]
        return [m for m in found if m is not None]

    async def in_country(self, country: Country, *, limit: int) -> list[Member]:
        query = (
            select(t.members.c.id)
            .where(t.members.c.country == country.code)
            .order_by(t.members.c.name, t.members.c.id)
            .limit(limit)
        )
        found = [await self.get(MemberId(i)) for i in (await self._conn.execute(query)).scalars()]
        return [m for m in found if m is not None]

    async def search(self, text: str, *, country: Country | None, limit: int, offset: int) -> list[Member]:
        query = select(t.members.c.id).order_by(t.members.c.name, t.members.c.email).limit(limit).offset(offset)
        if text:
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (t.members.c.name, t.members.c.email, t.members.c.agency)
                    )
                )
            )
        if country is not None:
            query = query.where(t.members.c.country == country.code)
        found = [await self.get(MemberId(i)) for i in (await self._conn.execute(query)).scalars()]
        return [m for m in found if m is not None]

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
                public_id=session.public_id,
                last_seen_at=session.last_seen_at,
                user_agent=session.user_agent[:200],
            )
        )

    async def get(self, digest: bytes) -> Session | None:
        row = (await self._conn.execute(select(t.sessions).where(t.sessions.c.digest == digest))).first()
        return None if row is None else _session(row._mapping)

    async def revoke(self, digest: bytes, when: datetime) -> None:
        await self._conn.execute(
            update(t.sessions)
            .where(t.sessions.c.digest == digest, t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=when)
        )

    async def touch(self, digest: bytes, when: datetime) -> None:
        await self._conn.execute(update(t.sessions).where(t.sessions.c.digest == digest).values(last_seen_at=when))

    async def for_member(self, member_id: MemberId, now: datetime) -> list[Session]:
        query = (
            select(t.sessions)
            .where(
                t.sessions.c.member_id == member_id.value,
                t.sessions.c.revoked_at.is_(None),
                t.sessions.c.expires_at > now,
            )
            .order_by(t.sessions.c.created_at.desc())
        )
        return [_session(row._mapping) for row in await self._conn.execute(query)]

    async def revoke_public(self, member_id: MemberId, public_id: str, when: datetime) -> bool:
        result = await self._conn.execute(
            update(t.sessions)
            .where(
                t.sessions.c.member_id == member_id.value,
                t.sessions.c.public_id == public_id,
                t.sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=when)
        )
        return result.rowcount == 1

    async def revoke_all(self, member_id: MemberId, when: datetime, *, keep: bytes | None = None) -> int:
        query = update(t.sessions).where(t.sessions.c.member_id == member_id.value, t.sessions.c.revoked_at.is_(None))
        if keep is not None:
            query = query.where(t.sessions.c.digest != keep)
        return (await self._conn.execute(query.values(revoked_at=when))).rowcount

    async def purge_expired(self, before: datetime) -> int:
        result = await self._conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < before))
        return result.rowcount


def _session(m: RowMapping) -> Session:
    return Session(
        digest=m["digest"],
        member_id=MemberId(m["member_id"]),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        public_id=m["public_id"] or "",
        last_seen_at=m["last_seen_at"],
        user_agent=m["user_agent"] or "",
    )


class CredentialStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @staticmethod
    def _values(c: Credentials) -> dict[str, object]:
        return {
            "salt": c.salt,
            "params": json.dumps(c.params, sort_keys=True),
            "auth_pk": c.auth_pk,
            "wrapped_password": c.wrapped_password,
            "wrapped_recovery": c.wrapped_recovery,
            "bundle_version": c.bundle_version,
            "sig_pk": c.sig_pk,
            "enc_pk": c.enc_pk,
            "totp_sealed": c.totp_sealed,
            "totp_last_step": c.totp_last_step,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    async def add(self, c: Credentials) -> None:
        try:
            await self._conn.execute(insert(t.credentials).values(member_id=c.member_id.value, **self._values(c)))
        except IntegrityError:
            raise Conflict("This account is already activated.") from None

    async def get(self, member_id: MemberId) -> Credentials | None:
        query = select(t.credentials).where(t.credentials.c.member_id == member_id.value)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        return Credentials(
            member_id=member_id,
            salt=m["salt"],
            params=json.loads(m["params"]),
            auth_pk=m["auth_pk"],
            wrapped_password=m["wrapped_password"],
            wrapped_recovery=m["wrapped_recovery"],
            bundle_version=m["bundle_version"],
            sig_pk=m["sig_pk"],
            enc_pk=m["enc_pk"],
            totp_sealed=m["totp_sealed"],
            totp_last_step=m["totp_last_step"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
        )

    async def set_totp_step(self, member_id: MemberId, step: int) -> bool:
        c = t.credentials.c
        result = await self._conn.execute(
            update(t.credentials)
            .where(c.member_id == member_id.value, or_(c.totp_last_step.is_(None), c.totp_last_step < step))
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    async def delete(self, member_id: MemberId) -> None:
        await self._conn.execute(delete(t.credentials).where(t.credentials.c.member_id == member_id.value))

    async def replace(self, c: Credentials) -> None:
        await self._conn.execute(
            update(t.credentials).where(t.credentials.c.member_id == c.member_id.value).values(**self._values(c))
        )


class Challenges:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, challenge: Challenge) -> None:
        await self._conn.execute(
            insert(t.login_challenges).values(
                id=challenge.id,
                username=challenge.username,
                challenge=challenge.challenge,
                expires_at=challenge.expires_at,
                used_at=challenge.used_at,
            )
        )

    async def take(self, challenge_id: bytes, when: datetime) -> Challenge | None:
        c = t.login_challenges.c
        result = await self._conn.execute(
            update(t.login_challenges)
            .where(c.id == challenge_id, c.used_at.is_(None), c.expires_at > when)
            .values(used_at=when)
        )
        if result.rowcount != 1:
            return None
        m = (await self._conn.execute(select(t.login_challenges).where(c.id == challenge_id))).one()._mapping
        return Challenge(m["id"], m["username"], m["challenge"], m["expires_at"], m["used_at"])

    async def purge(self, before: datetime) -> int:
        result = await self._conn.execute(delete(t.login_challenges).where(t.login_challenges.c.expires_at < before))
        return result.rowcount


class Throttle:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, key: str) -> ThrottleState | None:
        row = (await self._conn.execute(select(t.throttle).where(t.throttle.c.key == key))).first()
        if row is None:
            return None
        m = row._mapping
        return ThrottleState(m["key"], m["failures"], m["last_failure_at"], m["blocked_until"])

    async def put(self, state: ThrottleState) -> None:
        values = {
            "failures": state.failures,
            "last_failure_at": state.last_failure_at,
            "blocked_until": state.blocked_until,
        }
        updated = await self._conn.execute(update(t.throttle).where(t.throttle.c.key == state.key).values(**values))
        if updated.rowcount == 0:
            await self._conn.execute(insert(t.throttle).values(key=state.key, **values))

    async def clear(self, key: str) -> None:
        await self._conn.execute(delete(t.throttle).where(t.throttle.c.key == key))


class Applications:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @staticmethod
    def _values(a: Application) -> dict[str, object]:
        return {
            "phone": a.phone,
            "position": a.position,
            "languages": ",".join(a.languages),
            "nominator_email": str(a.nominator_email),
            "submitted_at": a.submitted_at,
            "nominated_by": a.nominated_by.value if a.nominated_by else None,
            "nominated_at": a.nominated_at,
            "authorized_by": a.authorized_by.value if a.authorized_by else None,
            "authorized_at": a.authorized_at,
            "decision_reason": a.decision_reason,
            "membership_expires_at": a.membership_expires_at,
            "renewal_notified_at": a.renewal_notified_at,
        }

    async def add(self, application: Application) -> None:
        await self._conn.execute(
            insert(t.applications).values(member_id=application.member_id.value, **self._values(application))
        )

    async def save(self, application: Application) -> None:
        await self._conn.execute(
            update(t.applications)
            .where(t.applications.c.member_id == application.member_id.value)
            .values(**self._values(application))
        )

    async def get(self, member_id: MemberId) -> Application | None:
        query = select(t.applications).where(t.applications.c.member_id == member_id.value)
        row = (await self._conn.execute(query)).first()
        return None if row is None else _application(row._mapping)

    async def expiring(
        self, before: datetime, *, country: Country | None = None, limit: int | None = None
    ) -> list[tuple[Member, Application]]:
        return await _expiring(self._conn, before, country, limit)

    async def pending(self, status: MemberStatus, country: Country | None) -> list[tuple[Member, Application]]:
        query = (
            select(t.applications.c.member_id)
            .join(t.members, t.members.c.id == t.applications.c.member_id)
            .where(t.members.c.status == status.value)
            .order_by(t.applications.c.submitted_at)
        )
        if country is not None:
            query = query.where(t.members.c.country == country.code)
        found: list[tuple[Member, Application]] = []
        for member_id in (await self._conn.execute(query)).scalars():
            member = await Members(self._conn).get(MemberId(member_id))
            application = await self.get(MemberId(member_id))
            if member is not None and application is not None:
                found.append((member, application))
        return found


async def _expiring(
    conn: AsyncConnection, before: datetime, country: Country | None = None, limit: int | None = None
) -> list[tuple[Member, Application]]:
    query = (
        select(t.applications.c.member_id)
        .join(t.members, t.members.c.id == t.applications.c.member_id)
        .where(
            t.members.c.status.in_([MemberStatus.ACTIVE.value, MemberStatus.SUSPENDED.value]),
            t.applications.c.membership_expires_at.is_not(None),
            t.applications.c.membership_expires_at < before,
        )
        .order_by(t.applications.c.membership_expires_at)
    )
    if country is not None:
        query = query.where(t.members.c.country == country.code)
    if limit is not None:
        query = query.limit(limit)
    found: list[tuple[Member, Application]] = []
    for member_id in (await conn.execute(query)).scalars():
        member = await Members(conn).get(MemberId(member_id))
        application = await Applications(conn).get(MemberId(member_id))
        if member is not None and application is not None:
            found.append((member, application))
    return found


def _application(m: RowMapping) -> Application:
    return Application(
        member_id=MemberId(m["member_id"]),
        phone=m["phone"],
        position=m["position"],
        languages=tuple(x for x in m["languages"].split(",") if x),
        nominator_email=Email.parse(m["nominator_email"]),
        submitted_at=m["submitted_at"],
        nominated_by=MemberId(m["nominated_by"]) if m["nominated_by"] else None,
        nominated_at=m["nominated_at"],
        authorized_by=MemberId(m["authorized_by"]) if m["authorized_by"] else None,
        authorized_at=m["authorized_at"],
        decision_reason=m["decision_reason"],
        membership_expires_at=m["membership_expires_at"],
        renewal_notified_at=m["renewal_notified_at"],
    )


class OutboxStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, mail: OutgoingMail) -> None:
        await self._conn.execute(
            insert(t.outbox).values(
                recipient=str(mail.recipient),
                template=mail.template,
                language=mail.language.value,
                sealed_values=mail.sealed_values,
                created_at=mail.created_at,
                attempts=0,
                next_attempt_at=mail.created_at,
            )
        )

    async def due(self, now: datetime, limit: int) -> list[QueuedMail]:
        o = t.outbox.c
        query = (
            select(t.outbox)
            .where(o.sent_at.is_(None), o.sealed_values.is_not(None), o.next_attempt_at <= now)
            .order_by(o.id)
            .limit(limit)
        )
        return [_queued(row._mapping) for row in await self._conn.execute(query)]

    async def sent(self, mail_id: int, when: datetime) -> None:
        await self._conn.execute(
            update(t.outbox).where(t.outbox.c.id == mail_id).values(sent_at=when, sealed_values=None, last_error=None)
        )

    async def failed(self, mail_id: int, error: str, retry_at: datetime | None) -> None:
        values: dict[str, object] = {"attempts": t.outbox.c.attempts + 1, "last_error": error[:300]}
        if retry_at is None:
            values["sealed_values"] = None  # given up: nothing secret stays behind
        else:
            values["next_attempt_at"] = retry_at
        await self._conn.execute(update(t.outbox).where(t.outbox.c.id == mail_id).values(**values))

    async def stuck(self, limit: int) -> list[QueuedMail]:
        o = t.outbox.c
        query = select(t.outbox).where(o.sent_at.is_(None), o.attempts > 0).order_by(o.id.desc()).limit(limit)
        return [_queued(row._mapping) for row in await self._conn.execute(query)]

    async def health(self, limit: int) -> OutboxHealth:
        o = t.outbox.c
        failing = [o.sent_at.is_(None), o.attempts > 0]
        retrying = (
            await self._conn.execute(select(func.count()).where(*failing, o.sealed_values.is_not(None)))
        ).scalar_one()
        given_up = (
            await self._conn.execute(select(func.count()).where(*failing, o.sealed_values.is_(None)))
        ).scalar_one()
        query = (
            select(o.id, o.template, o.attempts, o.last_error, o.created_at, o.next_attempt_at, o.sealed_values)
            .where(*failing)
            .order_by(o.id.desc())
            .limit(limit)
        )
        recent = [
            OutboxProblem(
                id=row.id,
                template=row.template,
                attempts=row.attempts,
                # "ClassName: text": only the class; the text may quote a relay's reply naming the address
                error_class=(row.last_error or "").split(":", 1)[0][:64],
                created_at=row.created_at,
                next_attempt_at=row.next_attempt_at if row.sealed_values is not None else None,
            )
            for row in await self._conn.execute(query)
        ]
        return OutboxHealth(int(retrying), int(given_up), recent)


def _queued(m: RowMapping) -> QueuedMail:
    return QueuedMail(
        id=m["id"],
        mail=OutgoingMail(
            recipient=Email.parse(m["recipient"]),
            template=m["template"],
            language=Language(m["language"]),
            sealed_values=m["sealed_values"] or b"",
            created_at=m["created_at"],
        ),
        attempts=m["attempts"],
    )

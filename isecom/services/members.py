"""Create members: the first platform administrator, and pre-approved members."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.errors import Conflict, InvalidInput
from isecom.services import tokens
from isecom.services.ports import AuditEntry, Clock, Member, Store, Transaction
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role, parse_name


@dataclass(frozen=True, slots=True)
class Invitation:
    member: Member
    activation_token: str


@dataclass(frozen=True, slots=True)
class NewMember:
    email: Email
    name: str
    country: Country
    agency: str
    roles: frozenset[Role]
    language: Language = Language.EN

    @classmethod
    def parse(
        cls, *, email: str, name: str, country: str, agency: str, roles: list[str], language: str = "en"
    ) -> NewMember:
        return cls(
            email=Email.parse(email),
            name=parse_name(name),
            country=Country.parse(country),
            agency=parse_name(agency, field="agency"),
            roles=frozenset(Role.parse(r) for r in roles) | {Role.MEMBER},
            language=_language(language),
        )


async def create_first_admin(store: Store, clock: Clock, server_key: bytes, new: NewMember) -> Invitation:
    """Create the platform's first administrator; refused once any administrator exists."""
    async with store.transaction() as tx:
        if await tx.members.count_with_role(Role.ADMIN):
            raise Conflict("A platform administrator already exists; use the admin pages to add others.")
        return await create_in(tx, clock, server_key, new, roles=new.roles | {Role.ADMIN}, action="admin.first_created")


async def create_member(
    store: Store, clock: Clock, server_key: bytes, new: NewMember, *, actor: MemberId | None
) -> Invitation:
    """Create a pre-approved member awaiting activation (bulk onboarding, demo data)."""
    async with store.transaction() as tx:
        return await create_in(tx, clock, server_key, new, roles=new.roles, action="member.created", actor=actor)


async def create_in(
    tx: Transaction,
    clock: Clock,
    server_key: bytes,
    new: NewMember,
    *,
    roles: frozenset[Role],
    action: str,
    actor: MemberId | None = None,
) -> Invitation:
    member = Member(
        id=MemberId.new(),
        email=new.email,
        name=new.name,
        country=new.country,
        agency=new.agency,
        roles=roles,
        status=MemberStatus.PENDING_ACTIVATION,
        language=new.language,
        created_at=clock.now(),
    )
    await tx.members.add(member)
    token = await tokens.issue(
        tx, clock, server_key, purpose=tokens.ACTIVATION, member_id=member.id, ttl=tokens.ACTIVATION_TTL
    )
    await tx.audit.record(
        AuditEntry(
            at=member.created_at,
            actor=actor,
            action=action,
            subject=member.id.value,
            detail={"roles": ",".join(sorted(r.value for r in roles)), "country": member.country.code},
        )
    )
    return Invitation(member=member, activation_token=token)


def _language(raw: str) -> Language:
    try:
        return Language(raw)
    except ValueError:
        raise InvalidInput("Language must be one of en, fr, es, ar.", field="language") from None

"""Membership by application: confirm the official address, nomination, authorization.

The network's rule: an applicant is nominated by the head of their national
agency and authorized by the head of their country's National Central Bureau.
Each step is one transaction that records the decision in the audit log and
queues the mail announcing it, so a mail never announces an uncommitted step.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from isecom.crypto import keytrans
from isecom.errors import Forbidden, InvalidInput, NotFound, TokenInvalid
from isecom.services import keydir, keysigned, outbox, tokens
from isecom.services.ports import Application, AuditEntry, Clock, Member, Store, Transaction
from isecom.types import Country, Email, Language, MemberId, MemberStatus, Role, parse_name

CONFIRM = "confirm"
CONFIRM_TTL = timedelta(hours=24)
DEFAULT_TERM = timedelta(days=730)
MAX_TERM = timedelta(days=5 * 365)
LANGUAGES = frozenset({"en", "fr", "es", "ar", "pt", "ru", "zh", "de", "it"})


@dataclass(frozen=True, slots=True)
class ApplicationForm:
    email: Email
    name: str
    phone: str
    agency: str
    country: Country
    position: str
    languages: tuple[str, ...]
    nominator_email: Email
    language: Language

    @classmethod
    def parse(cls, raw: dict[str, object]) -> ApplicationForm:
        def text(name: str, limit: int = 200) -> str:
            value = raw.get(name)
            return parse_name(value if isinstance(value, str) else "", field=name, max_length=limit)

        phone = text("phone", 40)
        if not all(c.isdigit() or c in "+-() ." for c in phone) or sum(c.isdigit() for c in phone) < 6:
            raise InvalidInput("Give a phone number with its country code, e.g. +33 1 23 45 67 89.", field="phone")
        languages = raw.get("languages")
        if not isinstance(languages, list) or not languages or not all(x in LANGUAGES for x in languages):
            raise InvalidInput("Choose at least one working language.", field="languages")
        language = raw.get("language", "en")
        return cls(
            email=Email.parse(str(raw.get("email", "")), field="email"),
            name=text("name"),
            phone=phone,
            agency=text("agency"),
            country=Country.parse(str(raw.get("country", ""))),
            position=text("position"),
            languages=tuple(dict.fromkeys(str(x) for x in languages)),
            nominator_email=Email.parse(str(raw.get("nominator_email", "")), field="nominator_email"),
            language=Language(language) if language in ("en", "fr", "es", "ar") else Language.EN,
        )


async def apply(store: Store, clock: Clock, server_key: bytes, form: ApplicationForm, *, base_url: str) -> None:
    """Record an application and mail a confirmation link to the official address.

    The answer is the same whether or not the address is already known, so the
    form does not reveal who is a member; the known address gets a notice instead.
    """
    now = clock.now()
    async with store.transaction() as tx:
        existing = await tx.members.by_email(form.email)
        if existing is not None:
            await outbox.enqueue(
                tx,
                clock,
                server_key,
                to=form.email,
                template="application.duplicate",
                language=existing.language,
                values={"base_url": base_url},
            )
            return
        member = Member(
            id=MemberId.new(),
            email=form.email,
            name=form.name,
            country=form.country,
            agency=form.agency,
            roles=frozenset({Role.MEMBER}),
            status=MemberStatus.APPLIED,
            language=form.language,
            created_at=now,
        )
        await tx.members.add(member)
        await tx.applications.add(
            Application(
                member_id=member.id,
                phone=form.phone,
                position=form.position,
                languages=form.languages,
                nominator_email=form.nominator_email,
                submitted_at=now,
            )
        )
        token = await tokens.issue(tx, clock, server_key, purpose=CONFIRM, member_id=member.id, ttl=CONFIRM_TTL)
        await outbox.enqueue(
            tx,
            clock,
            server_key,
            to=form.email,
            template="application.confirm",
            language=form.language,
            values={"name": form.name, "link": f"{base_url}/apply/confirm#{token}"},
        )
        await tx.audit.record(AuditEntry(now, None, "application.submitted", member.id.value, {}))


async def confirm(store: Store, clock: Clock, server_key: bytes, token: str, *, base_url: str) -> Member:
    """The address is confirmed: the application goes to the nominating agency head."""
    now = clock.now()
    async with store.transaction() as tx:
        found = await tokens.redeem(tx, clock, server_key, purpose=CONFIRM, token=token)
        member = await tx.members.get(found.member_id)
        application = await tx.applications.get(found.member_id)
        if member is None or application is None or member.status is not MemberStatus.APPLIED:
            raise TokenInvalid()
        await tx.members.set_status(member.id, MemberStatus.PENDING_NOMINATION)
        nominator = await tx.members.by_email(application.nominator_email)
        if nominator is not None and _may_nominate(nominator, member):
            await outbox.enqueue(
                tx,
                clock,
                server_key,
                to=nominator.email,
                template="application.to_nominate",
                language=nominator.language,
                values={"applicant": member.name, "link": f"{base_url}/review"},
            )
        await tx.audit.record(AuditEntry(now, None, "application.confirmed", member.id.value, {}))
    return replace(member, status=MemberStatus.PENDING_NOMINATION)


def _may_nominate(actor: Member, applicant: Member) -> bool:
    if Role.ADMIN in actor.roles:
        return True
    return (
        Role.AGENCY_HEAD in actor.roles
        and actor.country == applicant.country
        and actor.agency.casefold() == applicant.agency.casefold()
    )


def _may_authorize(actor: Member, applicant: Member) -> bool:
    return Role.ADMIN in actor.roles or (Role.NCB_HEAD in actor.roles and actor.country == applicant.country)


def must_sign(actor: Member, applicant: Member, step: str) -> bool:
    """Whether ``actor`` decides as the certified approver, so signs in the browser (PROTOCOL.md §9.3).

    An administrator without the approver's role decides for the platform instead: the
    platform key approves at activation.
    """
    if step == "nomination":
        return (
            Role.AGENCY_HEAD in actor.roles
            and actor.country == applicant.country
            and actor.agency.casefold() == applicant.agency.casefold()
        )
    return Role.NCB_HEAD in actor.roles and actor.country == applicant.country


async def _record(
    tx: Transaction,
    authority: keydir.Authority | None,
    actor: Member,
    member: Member,
    statement: bytes | None,
    kind: keytrans.ApprovalKind,
    now: datetime,
    window: tuple[datetime, datetime] | None = None,
) -> None:
    if authority is None or statement is None:
        raise InvalidInput(
            "Your decision must be signed with your key: approve from the review page.", field="statement"
        )
    await keysigned.record_decision(tx, authority, actor, member, statement, kind=kind, now=now, term=window)


@dataclass(frozen=True, slots=True)
class SigningInfo:
    """What an approver's browser needs to sign a decision (PROTOCOL.md §9.3)."""

    member: Member
    must_sign: bool
    certificate_index: int | None
    certificate_hash: bytes | None
    nomination: bytes | None  # for an authorization: the nomination being authorized


async def signing_info(
    store: Store, authority: keydir.Authority, actor: Member, member_id: MemberId, step: str
) -> SigningInfo:
    status = MemberStatus.PENDING_NOMINATION if step == "nomination" else MemberStatus.PENDING_AUTHORIZATION
    async with store.transaction() as tx:
        member, _ = await _load(tx, member_id, status)
        allowed = _may_nominate(actor, member) if step == "nomination" else _may_authorize(actor, member)
        if not allowed:
            raise NotFound("No such application is waiting for this decision.")
        if not must_sign(actor, member, step):
            return SigningInfo(member, False, None, None, None)
        role = keytrans.CertRole.AGENCY_HEAD if step == "nomination" else keytrans.CertRole.NCB_HEAD
        cert = await keysigned.approver_certificate(tx, authority, actor, role)
        nomination = await keysigned.latest_nomination(tx, member) if step == "authorization" else None
    return SigningInfo(
        member,
        True,
        cert.index if cert else None,
        cert.certificate.hash if cert else None,
        nomination,
    )


async def pending(store: Store, actor: Member) -> dict[str, list[tuple[Member, Application]]]:
    """What ``actor`` may decide: nominations for their agency, authorizations for their country."""
    country = None if Role.ADMIN in actor.roles else actor.country
    async with store.transaction() as tx:
        nominations = await tx.applications.pending(MemberStatus.PENDING_NOMINATION, country)
        authorizations = await tx.applications.pending(MemberStatus.PENDING_AUTHORIZATION, country)
    return {
        "nomination": [(m, a) for m, a in nominations if _may_nominate(actor, m)],
        "authorization": [(m, a) for m, a in authorizations if _may_authorize(actor, m)],
    }


async def _load(tx: Transaction, member_id: MemberId, status: MemberStatus) -> tuple[Member, Application]:
    member = await tx.members.get(member_id)
    application = await tx.applications.get(member_id)
    if member is None or application is None or member.status is not status:
        raise NotFound("No such application is waiting for this decision.")
    return member, application


def _reason(reason: str | None, required: bool) -> str | None:
    if reason is None or not reason.strip():
        if required:
            raise InvalidInput("Give a reason for the rejection; the applicant will read it.", field="reason")
        return None
    if len(reason) > 2000:
        raise InvalidInput("A reason is at most 2000 characters.", field="reason")
    return reason.strip()


async def _reject(
    tx: Transaction, clock: Clock, server_key: bytes, actor: Member, member: Member, reason: str, step: str
) -> None:
    await tx.members.set_status(member.id, MemberStatus.REJECTED)
    await outbox.enqueue(
        tx,
        clock,
        server_key,
        to=member.email,
        template="application.rejected",
        language=member.language,
        values={"name": member.name, "reason": reason, "step": step},
    )
    await tx.audit.record(
        AuditEntry(clock.now(), actor.id, f"application.{step}_rejected", member.id.value, {"reason": reason})
    )


async def nominate(
    store: Store,
    clock: Clock,
    server_key: bytes,
    actor: Member,
    member_id: MemberId,
    *,
    endorse: bool,
    reason: str | None,
    base_url: str,
    authority: keydir.Authority | None = None,
    statement: bytes | None = None,
) -> None:
    now = clock.now()
    async with store.transaction() as tx:
        member, application = await _load(tx, member_id, MemberStatus.PENDING_NOMINATION)
        if not _may_nominate(actor, member):
            raise NotFound("No such application is waiting for this decision.")
        text = _reason(reason, required=not endorse)
        if not endorse:
            await _reject(tx, clock, server_key, actor, member, text or "", "nomination")
            return
        if must_sign(actor, member, "nomination"):
            await _record(tx, authority, actor, member, statement, keytrans.ApprovalKind.NOMINATION, now)
        await tx.applications.save(replace(application, nominated_by=actor.id, nominated_at=now))
        await tx.members.set_status(member.id, MemberStatus.PENDING_AUTHORIZATION)
        for head in await tx.members.with_role(Role.NCB_HEAD, member.country):
            await outbox.enqueue(
                tx,
                clock,
                server_key,
                to=head.email,
                template="application.to_authorize",
                language=head.language,
                values={"applicant": member.name, "link": f"{base_url}/review"},
            )
        await tx.audit.record(
            AuditEntry(now, actor.id, "application.nominated", member.id.value, {"reason": text or ""})
        )


async def authorize(
    store: Store,
    clock: Clock,
    server_key: bytes,
    actor: Member,
    member_id: MemberId,
    *,
    approve: bool,
    reason: str | None,
    term: timedelta = DEFAULT_TERM,
    base_url: str,
    authority: keydir.Authority | None = None,
    statement: bytes | None = None,
) -> None:
    now = clock.now()
    if not timedelta(days=1) <= term <= MAX_TERM:
        raise InvalidInput("A membership lasts between one day and five years.", field="term_days")
    async with store.transaction() as tx:
        member, application = await _load(tx, member_id, MemberStatus.PENDING_AUTHORIZATION)
        if not _may_authorize(actor, member):
            raise NotFound("No such application is waiting for this decision.")
        if application.nominated_by == actor.id:
            raise Forbidden("The person who nominated an applicant cannot also authorize them.")
        text = _reason(reason, required=not approve)
        if not approve:
            await _reject(tx, clock, server_key, actor, member, text or "", "authorization")
            return
        if must_sign(actor, member, "authorization"):
            window = (now + term - timedelta(days=1), now + term + timedelta(days=1))
            await _record(tx, authority, actor, member, statement, keytrans.ApprovalKind.AUTHORIZATION, now, window)
        await tx.applications.save(
            replace(application, authorized_by=actor.id, authorized_at=now, membership_expires_at=now + term)
        )
        await outbox.send_activation_link(
            tx, clock, server_key, member, template="application.approved", base_url=base_url
        )
        await tx.audit.record(
            AuditEntry(
                now,
                actor.id,
                "application.authorized",
                member.id.value,
                {"expires": (now + term).date().isoformat(), "reason": text or ""},
            )
        )


RENEWAL_NOTICE = timedelta(days=30)
RENEWAL_WINDOW = timedelta(days=60)  # what /review shows unless the reviewer asks for another
MAX_RENEWAL_WINDOW = timedelta(days=366)
MAX_RENEWALS_SHOWN = 500


async def renewals_due(
    store: Store, clock: Clock, actor: Member, *, within: timedelta = RENEWAL_WINDOW
) -> list[tuple[Member, Application]]:
    """Memberships that end within ``within``, soonest first: the NCB head's country, or every
    country for an administrator (at most ``MAX_RENEWALS_SHOWN``)."""
    if not (Role.ADMIN in actor.roles or Role.NCB_HEAD in actor.roles):
        raise Forbidden("Only heads of National Central Bureaus and administrators renew memberships.")
    if not timedelta(days=1) <= within <= MAX_RENEWAL_WINDOW:
        raise InvalidInput("Look between 1 and 366 days ahead.", field="within_days")
    country = None if Role.ADMIN in actor.roles else actor.country
    async with store.transaction() as tx:
        return await tx.applications.expiring(clock.now() + within, country=country, limit=MAX_RENEWALS_SHOWN)


async def sweep_terms(store: Store, clock: Clock, server_key: bytes, *, base_url: str) -> tuple[int, int]:
    """Warn 30 days before a term ends (member and NCB heads, once); expire memberships whose term ended.

    Returns (warned, expired). Run by ``isecom serve`` every hour; safe to run at any time.
    """
    now = clock.now()
    warned = expired = 0
    async with store.transaction() as tx:
        for member, application in await tx.applications.expiring(now + RENEWAL_NOTICE):
            ends = application.membership_expires_at or now  # the query only returns rows with an end
            if ends <= now:
                await tx.members.set_status(member.id, MemberStatus.EXPIRED)
                await tx.sessions.revoke_all(member.id, now)
                await tx.audit.record(
                    AuditEntry(now, None, "membership.expire", member.id.value, {"reason": "term ended"})
                )
                expired += 1
            elif application.renewal_notified_at is None:
                values = {"member": member.name, "date": ends.date().isoformat(), "link": f"{base_url}/review"}
                recipients = [member, *await tx.members.with_role(Role.NCB_HEAD, member.country)]
                for person in recipients:
                    await outbox.enqueue(
                        tx,
                        clock,
                        server_key,
                        to=person.email,
                        template="membership.renewal_due",
                        language=person.language,
                        values=values,
                    )
                await tx.applications.save(replace(application, renewal_notified_at=now))
                warned += 1
    return warned, expired


async def renew(
    store: Store, clock: Clock, server_key: bytes, actor: Member, member_id: MemberId, *, term: timedelta = DEFAULT_TERM
) -> datetime:
    """The country's NCB head (or an administrator) extends a membership; returns the new end."""
    if not timedelta(days=1) <= term <= MAX_TERM:
        raise InvalidInput("A membership lasts between one day and five years.", field="term_days")
    now = clock.now()
    async with store.transaction() as tx:
        member = await tx.members.get(member_id)
        application = await tx.applications.get(member_id)
        active = member is not None and member.status in (MemberStatus.ACTIVE, MemberStatus.SUSPENDED)
        if member is None or application is None or not active or not _may_authorize(actor, member):
            raise NotFound("No such membership to renew.")
        start = max(now, application.membership_expires_at or now)
        ends = start + term
        await tx.applications.save(replace(application, membership_expires_at=ends, renewal_notified_at=None))
        await outbox.enqueue(
            tx,
            clock,
            server_key,
            to=member.email,
            template="membership.renewed",
            language=member.language,
            values={"name": member.name, "date": ends.date().isoformat()},
        )
        await tx.audit.record(
            AuditEntry(now, actor.id, "membership.renewed", member.id.value, {"until": ends.date().isoformat()})
        )
    return ends

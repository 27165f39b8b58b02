"""What approvers and members sign in their browsers: decisions (§9.3) and revocations (§9.5)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from isecom.crypto import keytrans
from isecom.crypto.errors import CryptoError
from isecom.errors import Conflict, InvalidInput, NotFound
from isecom.services import keydir
from isecom.services.keydir import Authority
from isecom.services.ports import DirectoryEntry, Member, Store, Transaction
from isecom.types import MemberId, Role

# --- decisions signed in the approvers' browsers (§9.3) ------------------------


@dataclass(frozen=True, slots=True)
class ApproverCert:
    """The certificate an approver signs decisions under, and where it is in the log."""

    index: int
    certificate: keytrans.Certificate


async def approver_certificate(
    tx: Transaction, authority: Authority, actor: Member, role: keytrans.CertRole
) -> ApproverCert | None:
    """The actor's certificate for ``role`` that names their current signing key, if any."""
    current = await keydir.current_statement(tx, actor.id)
    if current is None or current[0].revoke_idx is not None:
        return None
    sig_pk = current[1].sig_pk
    found = None
    for index, raw in await tx.keylog.leaves_of(actor.id.value):
        item = keytrans.parse_leaf(raw)
        if item.kind is keytrans.Kind.CERT:
            cert = keytrans.parse_certificate(item.obj, authority.root_pk)
            if cert.role is role and cert.sig_pk == sig_pk:
                found = ApproverCert(index, cert)
    return found


async def record_decision(
    tx: Transaction,
    authority: Authority,
    actor: Member,
    member: Member,
    statement: bytes,
    *,
    kind: keytrans.ApprovalKind,
    now: datetime,
    term: tuple[datetime, datetime] | None = None,
) -> int:
    """Check a nomination or authorization the approver signed in the browser and log it.

    ``term``: for an authorization, the earliest and latest acceptable end of membership.
    """
    role = keytrans.CertRole.AGENCY_HEAD if kind is keytrans.ApprovalKind.NOMINATION else keytrans.CertRole.NCB_HEAD
    cert = await approver_certificate(tx, authority, actor, role)
    if cert is None:
        raise InvalidInput(
            "Your approver certificate is missing, so your decision cannot be signed; ask a platform administrator.",
            field="statement",
        )
    try:
        decision = keytrans.parse_decision(statement)
        if decision.kind is not kind:
            raise CryptoError("format")
        decision.verify(cert.certificate.sig_pk)
    except CryptoError as exc:
        raise InvalidInput(
            f"The signed decision is not valid ({exc.check}; PROTOCOL.md §9.3).", field="statement"
        ) from None
    if decision.uid != keydir.uid_of(member.id) or (decision.signer_cert, decision.signer_cert_idx) != (
        cert.certificate.hash,
        cert.index,
    ):
        raise InvalidInput("The signed decision names another member or certificate.", field="statement")
    if abs(decision.made - keydir.seconds(now)) > 600:
        raise InvalidInput(
            "The signed decision is dated too far from now; check this computer's clock.", field="statement"
        )
    if kind is keytrans.ApprovalKind.NOMINATION:
        named = (decision.email, decision.name, decision.country, decision.agency)
        if named != _nfc(str(member.email), member.name, member.country.code, member.agency):
            raise InvalidInput("The signed nomination does not describe this applicant.", field="statement")
    else:
        latest = await latest_nomination(tx, member)
        if latest is None or decision.nomination != keytrans.object_hash(latest):
            raise InvalidInput("The signed authorization does not name this applicant's nomination.", field="statement")
        low, high = term or (now, now)
        if not keydir.seconds(low) <= decision.not_after <= keydir.seconds(high):
            raise InvalidInput("The membership end in the signed authorization is out of range.", field="statement")
    index = await keydir.append_leaf(
        tx, authority, keytrans.Kind.APPROVAL, keydir.uid_of(member.id), statement, keydir.seconds(now)
    )
    if kind is keytrans.ApprovalKind.AUTHORIZATION:
        entry = await tx.keylog.entry(member.id) or DirectoryEntry(member.id)
        await tx.keylog.set_entry(
            DirectoryEntry(
                member.id, entry.keys_idx, approval_idx=index, cert_idx=entry.cert_idx, revoke_idx=entry.revoke_idx
            )
        )
    return index


async def latest_nomination(tx: Transaction, member: Member) -> bytes | None:
    """The member's newest signed nomination (the object's bytes), if any."""
    found = None
    for _, raw in await tx.keylog.leaves_of(member.id.value):
        item = keytrans.parse_leaf(raw)
        if item.kind is keytrans.Kind.APPROVAL and keytrans.approval_kind(item.obj) is keytrans.ApprovalKind.NOMINATION:
            found = item.obj
    return found


def _nfc(*values: str) -> tuple[str, ...]:
    return tuple(unicodedata.normalize("NFC", v) for v in values)


# --- revocation by the member or their NCB head (§9.5) ----------------------------


@dataclass(frozen=True, slots=True)
class RevocationPlan:
    """What a browser signs to revoke ``member``'s current key statement."""

    member: Member
    by: keytrans.RevokedBy
    ks_hash: bytes
    certificate: ApproverCert | None  # the NCB head's, when they revoke


MAX_BACKDATE = timedelta(days=365)


async def _revocation_target(
    tx: Transaction, authority: Authority, actor: Member, member_id: MemberId
) -> tuple[Member, DirectoryEntry, keytrans.KeyStatement, keytrans.RevokedBy, ApproverCert | None]:
    member = await tx.members.get(member_id)
    if member is None:
        raise NotFound("No member with published keys has this id.")
    if actor.id == member.id:
        by, cert = keytrans.RevokedBy.SELF, None
    elif Role.NCB_HEAD in actor.roles and actor.country == member.country:
        by = keytrans.RevokedBy.NCB_HEAD
        cert = await approver_certificate(tx, authority, actor, keytrans.CertRole.NCB_HEAD)
        if cert is None:
            raise InvalidInput(
                "Your approver certificate is missing, so you cannot sign a revocation; ask a platform administrator.",
                field="statement",
            )
    else:
        raise NotFound("No member with published keys has this id.")  # not yours to revoke: looks absent
    found = await keydir.current_statement(tx, member.id)
    if found is None:
        raise NotFound("No member with published keys has this id.")
    entry, current = found
    if entry.revoke_idx is not None:
        raise Conflict("These keys are already revoked.")
    return member, entry, current, by, cert


async def plan_revocation(store: Store, authority: Authority, actor: Member, member_id: MemberId) -> RevocationPlan:
    async with store.read() as tx:
        member, _, current, by, cert = await _revocation_target(tx, authority, actor, member_id)
    return RevocationPlan(member, by, current.hash, cert)


async def revoke_signed(
    tx: Transaction, authority: Authority, actor: Member, member_id: MemberId, statement: bytes, *, now: datetime
) -> Member:
    """Check and log a revocation signed in the browser by the member or their country's NCB head."""
    member, entry, current, by, cert = await _revocation_target(tx, authority, actor, member_id)
    try:
        rev = keytrans.parse_revocation(statement)
    except CryptoError as exc:
        raise InvalidInput(
            f"The signed revocation is not valid ({exc.check}; PROTOCOL.md §9.5).", field="statement"
        ) from None
    expected_signer = current.sig_pk if cert is None else cert.certificate.sig_pk
    named = (cert.certificate.hash, cert.index) if cert else (keytrans.ZERO32, 0)
    if (rev.uid, rev.ks_hash, rev.by, rev.signer_pk, (rev.signer_cert, rev.signer_cert_idx)) != (
        current.uid,
        current.hash,
        by,
        expected_signer,
        named,
    ):
        raise InvalidInput("The signed revocation names other keys or another signer.", field="statement")
    t = keydir.seconds(now)
    if abs(rev.made - t) > 600:
        raise InvalidInput("The revocation is dated too far from now; check this computer's clock.", field="statement")
    if not t - MAX_BACKDATE.total_seconds() <= rev.effective <= t:
        raise InvalidInput("The revocation takes effect now or at a time in the past year.", field="effective")
    index = await keydir.append_leaf(tx, authority, keytrans.Kind.REVOKE, current.uid, statement, t)
    await tx.keylog.set_entry(
        DirectoryEntry(member.id, entry.keys_idx, entry.approval_idx, entry.cert_idx, revoke_idx=index)
    )
    return member

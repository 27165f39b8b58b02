"""A member's key history and a look-up answer, checked as a client checks them (PROTOCOL.md §9.8, §9.10).

The objects themselves and their parsers are in ``keytrans``; this is the rule
book a client applies to a sequence of them, the same in Python and in the
browser (``webmail/static/js/crypto/keytrans.js``).
"""

from __future__ import annotations

from dataclasses import dataclass

from isecom.crypto import merkle
from isecom.crypto.errors import CryptoError
from isecom.crypto.keytrans import (
    Approval,
    ApprovalKind,
    Certificate,
    CertRole,
    Checkpoint,
    Decision,
    KeyStatement,
    Kind,
    Leaf,
    Revocation,
    RevokedBy,
    approval_kind,
    parse_approval,
    parse_certificate,
    parse_checkpoint,
    parse_decision,
    parse_key_statement,
    parse_leaf,
    parse_log_key,
    parse_revocation,
)

# --- a member's history (§9.8) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Verified:
    """What a client may rely on after ``check_history``."""

    uid: bytes
    keys: KeyStatement
    approval: Approval
    certificates: tuple[Certificate, ...]
    revoked: Revocation | None

    def usable(self, now: int) -> bool:
        return self.revoked is None and now <= self.approval.not_after


def check_history(
    uid: bytes,
    leaves: list[tuple[int, Leaf]],
    root_pk: bytes,
    approvers: dict[int, Certificate] | None = None,
) -> Verified:
    """Apply §9.8 to every leaf about ``uid``, in log order; raise ``CryptoError`` at the first broken rule.

    ``approvers`` maps a log index to the (root-verified) certificate found there,
    for the nominations and authorizations that name it.

    ``chain``: a key statement without an earlier approval for the same member
    and address, a sequence gap, a ``prev`` that is not the hash of the previous
    statement, a new signing key without a new approval, or a decision not made
    by a certified approver of the member's country (and agency). A revocation
    is returned, not raised, so the caller refuses to encrypt and can say why.
    """
    approvers = approvers or {}
    approval: Approval | None = None
    approval_idx = -1
    nominations: dict[bytes, tuple[Decision, Certificate]] = {}
    current: KeyStatement | None = None
    current_idx = -1
    certs: list[Certificate] = []
    revoked: Revocation | None = None
    last = -1
    for index, item in leaves:
        if index <= last or item.uid != uid:
            raise CryptoError("format")
        last = index
        if item.kind is Kind.APPROVAL:
            kind = approval_kind(item.obj)
            if kind is ApprovalKind.PLATFORM:
                found = parse_approval(item.obj, root_pk)
            else:
                decision = parse_decision(item.obj)
                signer = _approver(decision, approvers)
                if decision.uid != uid:
                    raise CryptoError("chain")
                if kind is ApprovalKind.NOMINATION:
                    _check_nominator(decision, signer)
                    nominations[decision.hash] = (decision, signer)
                    continue
                found = _authorized(decision, signer, nominations)
            if found.uid != uid:
                raise CryptoError("chain")
            approval, approval_idx = found, index
        elif item.kind is Kind.CERT:
            cert = parse_certificate(item.obj, root_pk)
            if cert.uid != uid:
                raise CryptoError("chain")
            certs.append(cert)
        elif item.kind is Kind.KEYS:
            ks = parse_key_statement(item.obj)
            if ks.uid != uid or approval is None or ks.email != approval.email:
                raise CryptoError("chain")
            if current is None:
                if ks.seqno != 0:
                    raise CryptoError("chain")
            elif (
                ks.seqno != current.seqno + 1
                or ks.prev != current.hash
                or (ks.sig_pk != current.sig_pk and approval_idx < current_idx)
            ):
                raise CryptoError("chain")
            current, current_idx, revoked = ks, index, None
        elif item.kind is Kind.REVOKE:
            rev = parse_revocation(item.obj)
            if current is None or rev.uid != uid or rev.ks_hash != current.hash:
                raise CryptoError("chain")
            if rev.by is RevokedBy.SELF and rev.signer_pk != current.sig_pk:
                raise CryptoError("chain")
            if rev.by is RevokedBy.PLATFORM and rev.signer_pk != root_pk:
                raise CryptoError("chain")
            if rev.by is RevokedBy.NCB_HEAD:
                head = approvers.get(rev.signer_cert_idx)
                if (
                    head is None
                    or head.hash != rev.signer_cert
                    or head.role is not CertRole.NCB_HEAD
                    or approval is None
                    or head.country != approval.country
                    or head.sig_pk != rev.signer_pk
                    or rev.made > head.not_after
                ):
                    raise CryptoError("chain")  # only a certified NCB head of the member's country
            revoked = rev
        else:
            raise CryptoError("format")
    if current is None or approval is None:
        raise CryptoError("chain")
    # A certificate for an older signing key no longer vouches for this member.
    return Verified(uid, current, approval, tuple(c for c in certs if c.sig_pk == current.sig_pk), revoked)


def _approver(decision: Decision, approvers: dict[int, Certificate]) -> Certificate:
    cert = approvers.get(decision.signer_cert_idx)
    if cert is None or cert.hash != decision.signer_cert or decision.made > cert.not_after:
        raise CryptoError("chain")
    decision.verify(cert.sig_pk)
    return cert


def _check_nominator(decision: Decision, cert: Certificate) -> None:
    if (
        cert.role is not CertRole.AGENCY_HEAD
        or cert.country != decision.country
        or cert.agency.lower() != decision.agency.lower()  # Unicode default lower-case mapping, as JS
    ):
        raise CryptoError("chain")


def _authorized(
    decision: Decision, cert: Certificate, nominations: dict[bytes, tuple[Decision, Certificate]]
) -> Approval:
    if decision.nomination not in nominations:
        raise CryptoError("chain")
    nom, nominator = nominations[decision.nomination]
    if cert.role is not CertRole.NCB_HEAD or cert.country != nom.country or cert.uid == nominator.uid:
        raise CryptoError("chain")  # the NCB head of the member's country, not the nominator
    return Approval(
        ApprovalKind.AUTHORIZATION,
        decision.uid,
        nom.email,
        nom.name,
        nom.country,
        nom.agency,
        decision.not_after,
        decision.made,
        decision.raw,
    )


def verify_response(
    *,
    root_pk: bytes,
    origin: str,
    log_key: bytes,
    checkpoint_obj: bytes,
    uid: bytes,
    entries: list[tuple[int, bytes, list[bytes]]],
) -> tuple[Verified, Checkpoint]:
    """Check a look-up answer (§9.10): log key, checkpoint, every inclusion proof, then the history rules."""
    lk = parse_log_key(log_key, root_pk)
    if lk.origin != origin:
        raise CryptoError("log")
    cp = parse_checkpoint(checkpoint_obj, lk.log_pk)
    if cp.origin != origin:
        raise CryptoError("log")
    leaves: list[tuple[int, Leaf]] = []
    approvers: dict[int, Certificate] = {}
    for index, data, proof in entries:
        if not merkle.verify_inclusion(merkle.leaf_hash(data), index, cp.size, proof, cp.root):
            raise CryptoError("proof")
        item = parse_leaf(data)
        if item.uid == uid:
            leaves.append((index, item))
        elif item.kind is Kind.CERT:  # an approver's certificate, named by a decision
            approvers[index] = parse_certificate(item.obj, root_pk)
        else:
            raise CryptoError("format")
    return check_history(uid, leaves, root_pk, approvers), cp


def check_progress(old: Checkpoint | None, new: Checkpoint, proof: list[bytes]) -> None:
    """Accept ``new`` after ``old`` only if the log grew consistently (§9.10): no fork, no rollback."""
    if old is None:
        return
    if new.size < old.size:
        raise CryptoError("log")
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
        raise CryptoError("log")

"""Key statements, approvals, certificates, revocations, log leaves and checkpoints (PROTOCOL.md §9).

Every object is ``body ‖ SIGN(signer, body)`` where ``body`` starts with its own
ASCII tag, so a signature made for one kind of object can never be read as
another. Parsers are strict: exact lengths, known tags and kinds, a valid
signature, or ``CryptoError`` naming the check.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import nacl.bindings as b
import nacl.exceptions

from isecom.crypto import merkle
from isecom.crypto.encoding import be32, be64, lp
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import h256, kdf

SUITE = 0x01
KS_TAG = b"ISEC-keys-v1"
APPROVAL_TAG = b"ISEC-approval-v1"
CERT_TAG = b"ISEC-cert-v1"
REVOKE_TAG = b"ISEC-revoke-v1"
LOGKEY_TAG = b"ISEC-logkey-v1"
LEAF_TAG = b"ISEC-leaf-v1"
CHECKPOINT_TAG = b"ISEC-checkpoint-v1"
ZERO32 = bytes(32)
MAX_TEXT = 320
MAX_OBJECT = 4096
SAFETY_ITERATIONS = 5200


class Kind(IntEnum):
    """What a log leaf holds."""

    KEYS = 1
    APPROVAL = 2
    CERT = 3
    REVOKE = 4
    LOGKEY = 5


class ApprovalKind(IntEnum):
    PLATFORM = 1  # signed by the root
    NOMINATION = 2  # signed in the agency head's browser
    AUTHORIZATION = 3  # signed in the NCB head's browser


class CertRole(IntEnum):
    AGENCY_HEAD = 1
    NCB_HEAD = 2


class RevokedBy(IntEnum):
    SELF = 1
    NCB_HEAD = 2
    PLATFORM = 3


# --- signing ---------------------------------------------------------------


def signing_keypair(seed: bytes) -> tuple[bytes, bytes]:
    pk, sk = b.crypto_sign_seed_keypair(seed)
    return bytes(pk), bytes(sk)


def sign(sk: bytes, body: bytes) -> bytes:
    signed: bytes = b.crypto_sign(body, sk)
    return body + signed[:64]


def _verified(obj: bytes, pk: bytes) -> bytes:
    """The body of ``obj`` if its last 64 bytes are pk's signature over the rest."""
    if len(obj) < 64 or len(pk) != 32:
        raise CryptoError("format")
    body, sig = obj[:-64], obj[-64:]
    try:
        b.crypto_sign_open(sig + body, pk)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        raise CryptoError("signature") from None
    return body


def check_signature(obj: bytes, pk: bytes) -> None:
    """``obj`` is body ‖ pk's signature over body, or CryptoError."""
    _verified(obj, pk)


def log_key_seed(server_key: bytes) -> bytes:
    """The log's signing seed, derived from the instance's server key (never stored apart)."""
    return kdf(32, 1, b"ISEClogk", h256(b"ISEC-log-key-v1" + server_key))


# --- reading ---------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes, tag: bytes) -> None:
        if not data.startswith(tag):
            raise CryptoError("version")
        self.data, self.pos = data, len(tag)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CryptoError("format")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def num(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def lp(self, limit: int = MAX_OBJECT) -> bytes:
        n = self.num(4)
        if n > limit:
            raise CryptoError("format")
        return self.take(n)

    def text(self) -> str:
        raw = self.lp(MAX_TEXT)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError("format") from None
        if unicodedata.normalize("NFC", value) != value:
            raise CryptoError("format")
        return value

    def country(self) -> str:
        raw = self.take(2)
        if not (raw.isascii() and raw.isalpha() and raw.isupper()):
            raise CryptoError("format")
        return raw.decode("ascii")

    def end(self) -> None:
        if self.pos != len(self.data):
            raise CryptoError("format")


def _text(value: str) -> bytes:
    raw = unicodedata.normalize("NFC", value).encode("utf-8")
    if len(raw) > MAX_TEXT:
        raise ValueError("text field too long")
    return lp(raw)


Reader = _Reader  # for the other signed objects of PROTOCOL.md (the gateway certificate, §6.6)
text = _text


def _country(value: str) -> bytes:
    raw = value.encode("ascii")
    if len(raw) != 2 or not raw.isupper():
        raise ValueError("country must be an ISO 3166 alpha-2 code")
    return raw


def object_hash(obj: bytes) -> bytes:
    return h256(obj)


# --- key statement (§9.2) --------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyStatement:
    uid: bytes
    email: str
    seqno: int
    prev: bytes
    sig_pk: bytes
    enc_pk: bytes
    created: int
    raw: bytes

    @property
    def hash(self) -> bytes:
        return h256(self.raw)


def key_statement(
    sig_sk: bytes,
    *,
    uid: bytes,
    email: str,
    seqno: int,
    prev: bytes,
    enc_pk: bytes,
    created: int,
) -> bytes:
    sig_pk = sig_sk[32:]
    body = KS_TAG + bytes([SUITE]) + uid + _text(email) + be32(seqno) + prev + sig_pk + enc_pk + be64(created)
    return sign(sig_sk, body)


def parse_key_statement(obj: bytes) -> KeyStatement:
    """Parse and check the self-signature (proof of possession of sig_sk)."""
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, KS_TAG)
    if r.num(1) != SUITE:
        raise CryptoError("version")
    uid, email, seqno = r.take(16), r.text(), r.num(4)
    prev, sig_pk, enc_pk, created = r.take(32), r.take(32), r.take(32), r.num(8)
    r.end()
    if (seqno == 0) != (prev == ZERO32):
        raise CryptoError("format")
    _verified(obj, sig_pk)
    return KeyStatement(uid, email, seqno, prev, sig_pk, enc_pk, created, obj)


# --- approval (§9.3) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Approval:
    kind: ApprovalKind
    uid: bytes
    email: str
    name: str
    country: str
    agency: str
    not_after: int
    made: int
    raw: bytes

    @property
    def hash(self) -> bytes:
        return h256(self.raw)


def platform_approval(root_sk: bytes, **fields: Any) -> bytes:
    return sign(root_sk, platform_approval_body(**fields))


def platform_approval_body(
    *, uid: bytes, email: str, name: str, country: str, agency: str, not_after: int, made: int
) -> bytes:
    """What the root signs to approve a member (for signing elsewhere when the root is offline)."""
    return (
        APPROVAL_TAG
        + bytes([ApprovalKind.PLATFORM])
        + uid
        + _text(email)
        + _text(name)
        + _country(country)
        + _text(agency)
        + be64(not_after)
        + be64(made)
    )


def approval_kind(obj: bytes) -> ApprovalKind:
    if len(obj) <= len(APPROVAL_TAG) or not obj.startswith(APPROVAL_TAG):
        raise CryptoError("version")
    kind = obj[len(APPROVAL_TAG)]
    if kind not in tuple(ApprovalKind):
        raise CryptoError("version")
    return ApprovalKind(kind)


def parse_approval(obj: bytes, root_pk: bytes) -> Approval:
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, APPROVAL_TAG)
    kind = r.num(1)
    if kind != ApprovalKind.PLATFORM:
        raise CryptoError("version")
    uid, email, name, country, agency = r.take(16), r.text(), r.text(), r.country(), r.text()
    not_after, made = r.num(8), r.num(8)
    r.end()
    _verified(obj, root_pk)
    return Approval(ApprovalKind(kind), uid, email, name, country, agency, not_after, made, obj)


@dataclass(frozen=True, slots=True)
class Decision:
    """A nomination or an authorization (§9.3), parsed; ``verify`` checks it under the signer's key."""

    kind: ApprovalKind
    uid: bytes
    signer_cert: bytes  # H256 of the approver's certificate
    signer_cert_idx: int  # its leaf index in the log
    made: int
    raw: bytes
    # a nomination names the member; an authorization names the nomination and the term
    email: str = ""
    name: str = ""
    country: str = ""
    agency: str = ""
    nomination: bytes = ZERO32
    not_after: int = 0

    @property
    def hash(self) -> bytes:
        return h256(self.raw)

    def verify(self, signer_pk: bytes) -> None:
        _verified(self.raw, signer_pk)


def nomination(
    sk: bytes,
    *,
    uid: bytes,
    email: str,
    name: str,
    country: str,
    agency: str,
    signer_cert: bytes,
    signer_cert_idx: int,
    made: int,
) -> bytes:
    body = (
        APPROVAL_TAG
        + bytes([ApprovalKind.NOMINATION])
        + uid
        + _text(email)
        + _text(name)
        + _country(country)
        + _text(agency)
        + signer_cert
        + be64(signer_cert_idx)
        + be64(made)
    )
    return sign(sk, body)


def authorization(
    sk: bytes,
    *,
    uid: bytes,
    nomination_hash: bytes,
    not_after: int,
    signer_cert: bytes,
    signer_cert_idx: int,
    made: int,
) -> bytes:
    body = (
        APPROVAL_TAG
        + bytes([ApprovalKind.AUTHORIZATION])
        + uid
        + nomination_hash
        + be64(not_after)
        + signer_cert
        + be64(signer_cert_idx)
        + be64(made)
    )
    return sign(sk, body)


def parse_decision(obj: bytes) -> Decision:
    """Parse a nomination or authorization; its signature is checked by ``Decision.verify``."""
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, APPROVAL_TAG)
    kind = r.num(1)
    if kind == ApprovalKind.NOMINATION:
        uid, email, name, country, agency = r.take(16), r.text(), r.text(), r.country(), r.text()
        cert, cert_idx, made = r.take(32), r.num(8), r.num(8)
        r.end()
        return Decision(ApprovalKind.NOMINATION, uid, cert, cert_idx, made, obj, email, name, country, agency)
    if kind == ApprovalKind.AUTHORIZATION:
        uid, nom, not_after, cert, cert_idx, made = r.take(16), r.take(32), r.num(8), r.take(32), r.num(8), r.num(8)
        r.end()
        return Decision(ApprovalKind.AUTHORIZATION, uid, cert, cert_idx, made, obj, nomination=nom, not_after=not_after)
    raise CryptoError("version")


# --- approver certificate (§9.4) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Certificate:
    role: CertRole
    uid: bytes
    email: str
    name: str
    country: str
    agency: str
    sig_pk: bytes
    not_after: int
    made: int
    raw: bytes

    @property
    def hash(self) -> bytes:
        return h256(self.raw)


def certificate(root_sk: bytes, **fields: Any) -> bytes:
    return sign(root_sk, certificate_body(**fields))


def certificate_body(
    *,
    role: CertRole,
    uid: bytes,
    email: str,
    name: str,
    country: str,
    agency: str,
    sig_pk: bytes,
    not_after: int,
    made: int,
) -> bytes:
    return (
        CERT_TAG
        + bytes([role])
        + uid
        + _text(email)
        + _text(name)
        + _country(country)
        + _text(agency)
        + sig_pk
        + be64(not_after)
        + be64(made)
    )


def parse_certificate(obj: bytes, root_pk: bytes) -> Certificate:
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, CERT_TAG)
    role = r.num(1)
    if role not in tuple(CertRole):
        raise CryptoError("format")
    uid, email, name, country, agency = r.take(16), r.text(), r.text(), r.country(), r.text()
    sig_pk, not_after, made = r.take(32), r.num(8), r.num(8)
    r.end()
    _verified(obj, root_pk)
    return Certificate(CertRole(role), uid, email, name, country, agency, sig_pk, not_after, made, obj)


# --- revocation (§9.5) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revocation:
    uid: bytes
    ks_hash: bytes
    effective: int
    by: RevokedBy
    signer_pk: bytes
    signer_cert: bytes  # for an NCB head: H256 of their certificate; else zeros
    signer_cert_idx: int  # its leaf index; else 0
    made: int
    raw: bytes


def revocation(
    signer_sk: bytes,
    *,
    uid: bytes,
    ks_hash: bytes,
    effective: int,
    by: RevokedBy,
    made: int,
    signer_cert: bytes = ZERO32,
    signer_cert_idx: int = 0,
) -> bytes:
    body = revocation_body(
        uid=uid,
        ks_hash=ks_hash,
        effective=effective,
        by=by,
        signer_pk=signer_sk[32:],
        made=made,
        signer_cert=signer_cert,
        signer_cert_idx=signer_cert_idx,
    )
    return sign(signer_sk, body)


def revocation_body(
    *,
    uid: bytes,
    ks_hash: bytes,
    effective: int,
    by: RevokedBy,
    signer_pk: bytes,
    made: int,
    signer_cert: bytes = ZERO32,
    signer_cert_idx: int = 0,
) -> bytes:
    return (
        REVOKE_TAG
        + uid
        + ks_hash
        + be64(effective)
        + bytes([by])
        + signer_pk
        + signer_cert
        + be64(signer_cert_idx)
        + be64(made)
    )


def parse_revocation(obj: bytes) -> Revocation:
    """Parse and check the signature by ``signer_pk``; whether that signer may revoke is the caller's rule."""
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, REVOKE_TAG)
    uid, ks_hash, effective, by = r.take(16), r.take(32), r.num(8), r.num(1)
    if by not in tuple(RevokedBy):
        raise CryptoError("format")
    signer_pk, cert, cert_idx, made = r.take(32), r.take(32), r.num(8), r.num(8)
    r.end()
    if (by == RevokedBy.NCB_HEAD) == (cert == ZERO32 and cert_idx == 0):
        raise CryptoError("format")  # a certificate is named exactly when an NCB head revokes
    _verified(obj, signer_pk)
    return Revocation(uid, ks_hash, effective, RevokedBy(by), signer_pk, cert, cert_idx, made, obj)


# --- log key certificate (§9.6) --------------------------------------------


@dataclass(frozen=True, slots=True)
class LogKey:
    origin: str
    log_pk: bytes
    made: int
    raw: bytes


def log_key_certificate(root_sk: bytes, *, origin: str, log_pk: bytes, made: int) -> bytes:
    return sign(root_sk, log_key_body(origin=origin, log_pk=log_pk, made=made))


def log_key_body(*, origin: str, log_pk: bytes, made: int) -> bytes:
    return LOGKEY_TAG + _text(origin) + log_pk + be64(made)


def root_request_summary(body: bytes) -> str:
    """One line saying what signing ``body`` with the root key vouches for (for the offline signer)."""
    if (
        body.startswith(APPROVAL_TAG)
        and len(body) > len(APPROVAL_TAG)
        and body[len(APPROVAL_TAG)] == ApprovalKind.PLATFORM
    ):
        r = _Reader(body, APPROVAL_TAG)
        r.num(1)
        uid, email, name, country, agency = r.take(16), r.text(), r.text(), r.country(), r.text()
        r.num(8), r.num(8)
        r.end()
        return f"approve member {uid.hex()} {name} <{email}>, {agency}, {country}"
    if body.startswith(CERT_TAG):
        r = _Reader(body, CERT_TAG)
        role = r.num(1)
        uid, email, name, country, agency = r.take(16), r.text(), r.text(), r.country(), r.text()
        r.take(32), r.num(8), r.num(8)
        r.end()
        what = "agency head" if role == CertRole.AGENCY_HEAD else "NCB head"
        return f"certify {name} <{email}> ({uid.hex()}) as {what}, {agency}, {country}"
    if body.startswith(LOGKEY_TAG):
        r = _Reader(body, LOGKEY_TAG)
        origin, log_pk = r.text(), r.take(32)
        r.num(8)
        r.end()
        return f"certify the key log of {origin}: {log_pk.hex()}"
    if body.startswith(REVOKE_TAG):
        r = _Reader(body, REVOKE_TAG)
        uid = r.take(16)
        r.take(32), r.num(8)
        if r.num(1) != RevokedBy.PLATFORM:
            raise CryptoError("format")
        r.take(32), r.take(32), r.num(8), r.num(8)
        r.end()
        return f"revoke the keys of member {uid.hex()}"
    raise CryptoError("version")


def parse_log_key(obj: bytes, root_pk: bytes) -> LogKey:
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, LOGKEY_TAG)
    origin, log_pk, made = r.text(), r.take(32), r.num(8)
    r.end()
    _verified(obj, root_pk)
    return LogKey(origin, log_pk, made, obj)


# --- log leaves and checkpoints (§9.7) -------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    kind: Kind
    uid: bytes
    logged: int
    obj: bytes
    raw: bytes

    @property
    def hash(self) -> bytes:
        return merkle.leaf_hash(self.raw)


def leaf(kind: Kind, uid: bytes, logged: int, obj: bytes) -> bytes:
    if len(uid) != 16 or len(obj) > MAX_OBJECT:
        raise ValueError("bad leaf")
    return LEAF_TAG + bytes([kind]) + uid + be64(logged) + lp(obj)


def parse_leaf(data: bytes) -> Leaf:
    r = _Reader(data, LEAF_TAG)
    kind = r.num(1)
    if kind not in tuple(Kind):
        raise CryptoError("format")
    uid, logged, obj = r.take(16), r.num(8), r.lp()
    r.end()
    return Leaf(Kind(kind), uid, logged, obj, data)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: int
    raw: bytes


def checkpoint(log_sk: bytes, *, origin: str, size: int, root: bytes, time: int) -> bytes:
    return sign(log_sk, CHECKPOINT_TAG + _text(origin) + be64(size) + root + be64(time))


def parse_checkpoint(obj: bytes, log_pk: bytes) -> Checkpoint:
    r = _Reader(obj[:-64] if len(obj) >= 64 else obj, CHECKPOINT_TAG)
    origin, size, root, time = r.text(), r.num(8), r.take(32), r.num(8)
    r.end()
    _verified(obj, log_pk)
    return Checkpoint(origin, size, root, time, obj)


# --- safety numbers (§9.9) -------------------------------------------------


def fingerprint(uid: bytes, sig_pk: bytes) -> str:
    """30 digits for one member: SHA-512 iterated 5200 times, 6 groups of 5 bytes mod 100000."""
    h = b"\x00\x00" + sig_pk + uid
    for _ in range(SAFETY_ITERATIONS):
        h = bytes(b.crypto_hash_sha512(h + sig_pk))
    return "".join(f"{int.from_bytes(h[i : i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def safety_number(a: tuple[bytes, bytes], b_: tuple[bytes, bytes]) -> str:
    """60 digits for a pair of members (uid, sig_pk): both fingerprints, the smaller first."""
    one, two = sorted((fingerprint(*a), fingerprint(*b_)))
    return one + two

"""The SMTP gateway's signing identity and its certificate (docs/PROTOCOL.md §6.6).

Mail that arrives over SMTP carries no member's signature. The gateway seals
it and signs it with an Ed25519 key derived from the instance's server key
(like the log key, under its own KDF context), as the fixed uid 0^16 that no
member has. Clients learn the gateway key from a certificate signed by the log
key, whose own certificate (leaf 0 of the key log) is signed by the pinned
root: root → log key → gateway key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nacl.bindings as b

from isecom.crypto import keytrans
from isecom.crypto.envelope import GATEWAY_UID
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import h256, kdf

GATEWAY_TAG = b"ISEC-gateway-v1"


def gateway_seed(server_key: bytes) -> bytes:
    """The gateway's signing seed, derived from the server key (never stored apart)."""
    return kdf(32, 1, b"ISECgate", h256(b"ISEC-gateway-key-v1" + server_key))


@dataclass(frozen=True, slots=True)
class Gateway:
    """The gateway's signing key; ``uid`` is the fixed gateway uid."""

    seed: bytes = field(repr=False)

    @property
    def uid(self) -> bytes:
        return GATEWAY_UID

    @property
    def sig_pk(self) -> bytes:
        pk, _ = b.crypto_sign_seed_keypair(self.seed)
        return bytes(pk)

    @property
    def sig_sk(self) -> bytes:
        _, sk = b.crypto_sign_seed_keypair(self.seed)
        return bytes(sk)

    @property
    def sig_kid(self) -> bytes:
        return h256(self.sig_pk)


def certificate_body(*, origin: str, gateway_pk: bytes) -> bytes:
    if len(gateway_pk) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return GATEWAY_TAG + keytrans.text(origin) + gateway_pk


def certificate(log_sk: bytes, *, origin: str, gateway_pk: bytes) -> bytes:
    """``"ISEC-gateway-v1" ‖ text(origin) ‖ gateway_pk ‖ SIGN(log_sk, …)`` (deterministic)."""
    return keytrans.sign(log_sk, certificate_body(origin=origin, gateway_pk=gateway_pk))


def parse_certificate(obj: bytes, *, log_pk: bytes, origin: str) -> bytes:
    """The gateway's verified signing key, or CryptoError (``format``, ``signature``, ``origin``)."""
    if len(obj) < 64:
        raise CryptoError("format")
    r = keytrans.Reader(obj[:-64], GATEWAY_TAG)
    found_origin, gateway_pk = r.text(), r.take(32)
    r.end()
    keytrans.check_signature(obj, log_pk)
    if found_origin != origin:
        raise CryptoError("origin")
    return gateway_pk

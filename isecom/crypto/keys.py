"""Account keys: the bundle, its wraps, password-derived keys, login proofs, recovery codes.

docs/PROTOCOL.md §2–§5.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.bindings as b
import nacl.exceptions
import nacl.utils

from isecom.crypto.encoding import be32, be64, lp, read_int
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import h256, kdf

Random = Callable[[int], bytes]

BUNDLE_MAGIC = b"ISK1"
WRAP_MAGIC = b"ISW1"
SUITE = 0x01
WRAP_PASSWORD = 0x01
WRAP_RECOVERY = 0x02
MAX_ENC_KEYS = 64

ARGON2ID13 = "argon2id13"
DEFAULT_PARAMS = {"alg": ARGON2ID13, "ops": 3, "mem": 64 * 1024 * 1024}
MIN_OPS, MAX_OPS = 3, 10
MIN_MEM, MAX_MEM = 64 * 1024 * 1024, 1024 * 1024 * 1024
SALT_BYTES = 16
RECOVERY_BYTES = 16
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def random_bytes(n: int) -> bytes:
    out: bytes = nacl.utils.random(n)
    return out


@dataclass(frozen=True, slots=True)
class EncKey:
    created: int
    sk: bytes = field(repr=False)

    @property
    def pk(self) -> bytes:
        out: bytes = b.crypto_scalarmult_base(self.sk)
        return out

    @property
    def kid(self) -> bytes:
        return h256(self.pk)


@dataclass(frozen=True, slots=True)
class Identity:
    """A member's private identity keys (the plaintext of the bundle) and uid."""

    uid: bytes
    sig_seed: bytes = field(repr=False)
    enc_keys: tuple[EncKey, ...]

    @classmethod
    def generate(cls, uid: bytes, created: int, rng: Random = random_bytes) -> Identity:
        return cls(uid=uid, sig_seed=rng(32), enc_keys=(EncKey(created, _x25519_sk(rng)),))

    @property
    def sig_pk(self) -> bytes:
        pk, _ = b.crypto_sign_seed_keypair(self.sig_seed)
        out: bytes = pk
        return out

    @property
    def sig_sk(self) -> bytes:
        _, sk = b.crypto_sign_seed_keypair(self.sig_seed)
        out: bytes = sk
        return out

    @property
    def sig_kid(self) -> bytes:
        return h256(self.sig_pk)

    @property
    def current(self) -> EncKey:
        return self.enc_keys[-1]

    def rotated(self, created: int, rng: Random = random_bytes) -> Identity:
        """A new current encryption key; the old ones stay so old mail opens."""
        return Identity(self.uid, self.sig_seed, (*self.enc_keys, EncKey(created, _x25519_sk(rng))))


def _x25519_sk(rng: Random) -> bytes:
    # crypto_box_keypair draws 32 random bytes as the secret key; drawing them
    # through ``rng`` lets the vectors be reproducible.
    return rng(32)


def bundle_bytes(identity: Identity) -> bytes:
    if not 1 <= len(identity.enc_keys) <= MAX_ENC_KEYS:
        raise ValueError("a bundle holds 1 to 64 encryption keys")
    out = BUNDLE_MAGIC + bytes([SUITE]) + identity.sig_seed + len(identity.enc_keys).to_bytes(2, "big")
    for key in identity.enc_keys:
        out += be64(key.created) + key.sk
    return out


def parse_bundle(data: bytes, uid: bytes) -> Identity:
    if len(data) >= 5 and (data[:4] != BUNDLE_MAGIC or data[4] != SUITE):
        raise CryptoError("version")
    if len(data) < 39:
        raise CryptoError("format")
    count = read_int(data, 37, 2)
    if not 1 <= count <= MAX_ENC_KEYS or len(data) != 39 + 40 * count:
        raise CryptoError("format")
    keys = tuple(EncKey(read_int(data, 39 + 40 * i, 8), data[47 + 40 * i : 79 + 40 * i]) for i in range(count))
    return Identity(uid=uid, sig_seed=data[5:37], enc_keys=keys)


def _wrap_ad(uid: bytes, version: int, kind: int) -> bytes:
    return b"ISEC-bundle-v1" + uid + be32(version) + bytes([kind])


def wrap_bundle(identity: Identity, key: bytes, *, kind: int, version: int, rng: Random = random_bytes) -> bytes:
    nonce = rng(24)
    ct = b.crypto_aead_xchacha20poly1305_ietf_encrypt(
        bundle_bytes(identity), _wrap_ad(identity.uid, version, kind), nonce, key
    )
    return WRAP_MAGIC + bytes([SUITE, kind]) + be32(version) + nonce + ct


def unwrap_bundle(wrapped: bytes, key: bytes, *, uid: bytes, kind: int) -> tuple[Identity, int]:
    """The identity and bundle version; ``decrypt`` for a wrong password or recovery code."""
    if len(wrapped) >= 5 and (wrapped[:4] != WRAP_MAGIC or wrapped[4] != SUITE):
        raise CryptoError("version")
    if len(wrapped) < 34 + 39 + 16 or wrapped[5] != kind:
        raise CryptoError("format")
    version = read_int(wrapped, 6, 4)
    try:
        plain = b.crypto_aead_xchacha20poly1305_ietf_decrypt(
            wrapped[34:], _wrap_ad(uid, version, kind), wrapped[10:34], key
        )
    except nacl.exceptions.CryptoError:
        raise CryptoError("decrypt") from None
    return parse_bundle(plain, uid), version


@dataclass(frozen=True, slots=True)
class PasswordKeys:
    auth_seed: bytes = field(repr=False)
    kek: bytes = field(repr=False)

    @property
    def auth_pk(self) -> bytes:
        pk, _ = b.crypto_sign_seed_keypair(self.auth_seed)
        out: bytes = pk
        return out


def check_params(params: object) -> tuple[int, int]:
    if (
        not isinstance(params, dict)
        or set(params) != {"alg", "ops", "mem"}
        or params["alg"] != ARGON2ID13
        or not isinstance(params["ops"], int)
        or not isinstance(params["mem"], int)
        or isinstance(params["ops"], bool)
        or not MIN_OPS <= params["ops"] <= MAX_OPS
        or not MIN_MEM <= params["mem"] <= MAX_MEM
    ):
        raise CryptoError("params")
    return params["ops"], params["mem"]


def derive_password_keys(password: str, salt: bytes, params: object) -> PasswordKeys:
    ops, mem = check_params(params)
    if len(salt) != SALT_BYTES:
        raise CryptoError("format")
    pw = unicodedata.normalize("NFKC", password).encode("utf-8")
    master: bytes = b.crypto_pwhash_alg(32, pw, salt, ops, mem, b.crypto_pwhash_ALG_ARGON2ID13)
    return PasswordKeys(auth_seed=kdf(32, 1, b"ISECauth", master), kek=kdf(32, 2, b"ISECkek_", master))


def fake_salt(server_key: bytes, username: str) -> bytes:
    from isecom.crypto.hashing import mac

    return mac(h256(server_key), b"ISEC-fake-salt-v1" + lp(username.lower().encode("utf-8")))[:SALT_BYTES]


ACCOUNT_PURPOSES = ("login", "rekey", "recover")


def account_transcript(
    purpose: str,
    *,
    origin: str,
    username: str,
    challenge_id: bytes,
    challenge: bytes,
    totp_code: str,
    material: bytes = b"",
) -> bytes:
    """PROTOCOL.md §4: what a login, password change (rekey) or recovery proof signs."""
    if purpose not in ACCOUNT_PURPOSES:
        raise ValueError("unknown purpose")
    if len(challenge_id) != 16 or len(challenge) != 32:
        raise CryptoError("format")
    if len(totp_code) != 6 or not totp_code.isascii() or not totp_code.isdigit():
        raise CryptoError("format")
    transcript = (
        b"ISEC-"
        + purpose.encode("ascii")
        + b"-v1\0"
        + lp(origin.encode("ascii"))
        + lp(username.lower().encode("utf-8"))
        + challenge_id
        + challenge
        + lp(totp_code.encode("ascii"))
    )
    return transcript + (h256(material) if material else b"")


def fake_auth_pk(server_key: bytes, username: str) -> bytes:
    """A stand-in login key for a user name that is not a member (timing parity only)."""
    from isecom.crypto.hashing import mac

    seed = mac(h256(server_key), b"ISEC-fake-auth-v1" + lp(username.lower().encode("utf-8")))
    pk, _ = b.crypto_sign_seed_keypair(seed)
    out: bytes = pk
    return out


def login_transcript(*, origin: str, username: str, challenge_id: bytes, challenge: bytes, totp_code: str) -> bytes:
    return account_transcript(
        "login", origin=origin, username=username, challenge_id=challenge_id, challenge=challenge, totp_code=totp_code
    )


def material_bytes(
    *, salt: bytes, params: dict[str, object], auth_pk: bytes, wrapped_password: bytes, wrapped_recovery: bytes = b""
) -> bytes:
    """The new credentials a rekey or recovery proof binds (PROTOCOL.md §4.1)."""
    ops, mem = check_params(params)
    return (
        lp(salt)
        + lp(ARGON2ID13.encode("ascii"))
        + be32(ops)
        + be64(mem)
        + lp(auth_pk)
        + lp(wrapped_password)
        + lp(wrapped_recovery)
    )


def login_proof(auth_seed: bytes, transcript: bytes) -> bytes:
    _, sk = b.crypto_sign_seed_keypair(auth_seed)
    signed: bytes = b.crypto_sign(transcript, sk)
    return signed[:64]


def identity_sign(identity: Identity, message: bytes) -> bytes:
    """A detached Ed25519 signature with the identity signing key (a recovery proof)."""
    signed: bytes = b.crypto_sign(message, identity.sig_sk)
    return signed[:64]


def verify_login_proof(auth_pk: bytes, transcript: bytes, proof: bytes) -> bool:
    if len(proof) != 64 or len(auth_pk) != 32:
        return False
    try:
        b.crypto_sign_open(proof + transcript, auth_pk)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def new_recovery_code(rng: Random = random_bytes) -> str:
    encoded = base64.b32encode(rng(RECOVERY_BYTES)).decode("ascii").rstrip("=")
    return "-".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def parse_recovery_code(code: str) -> bytes:
    compact = code.replace("-", "").replace(" ", "").upper() if isinstance(code, str) else ""
    if len(compact) != 26 or any(c not in _B32 for c in compact) or _B32.index(compact[-1]) & 0b11:
        raise CryptoError("format")
    try:
        return base64.b32decode(compact + "======")
    except (binascii.Error, ValueError):
        raise CryptoError("format") from None


def recovery_key(code: str) -> bytes:
    return kdf(32, 4, b"ISECrcvr", h256(b"ISEC-recovery-v1" + parse_recovery_code(code)))

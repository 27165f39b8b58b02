"""Message envelopes and drafts (docs/PROTOCOL.md §6, §7).

``seal`` encrypts a payload once under a random content key, wraps that key for
every recipient and for the sender's own copy, and signs header and payload
inside the ciphertext. ``open_envelope`` runs the checks of §6.5 in order and
returns plaintext only when every one has passed. ``seal_smtp``/``open_smtp``
are the same envelope for mail that arrived over SMTP (§6.6): magic "ISS1",
signed by the gateway key, no sender entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import nacl.bindings as b
import nacl.exceptions

from isecom.crypto import padding
from isecom.crypto import payload as payloads
from isecom.crypto.encoding import be16, be32, be64, read_int
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import equal, h256, h512, mac
from isecom.crypto.keys import Identity, Random, random_bytes

MESSAGE_MAGIC = b"ISM1"
DRAFT_MAGIC = b"ISD1"
SMTP_MAGIC = b"ISS1"
GATEWAY_UID = bytes(16)  # the SMTP gateway's fixed uid (§6.6); never a member's
SUITE = 0x01
FIXED = 79  # bytes before the entries
ENTRY = 144
WRAP = 96
TAIL = 32 + 24  # key_commit and nonce
MAX_ENTRIES = 500
MIN_CT = padding.MIN_PADDED + 64 + 16
MAX_CT = 64 * 1024 * 1024
MAX_SMTP_CT = 128 * 1024 * 1024  # a 64 MiB raw message in base64url, padded
SIG_CONTEXT = b"ISEC-v1-msg-sig\0"
SMTP_SIG_CONTEXT = b"ISEC-v1-smtp-sig"
COMMIT_CONTEXT = b"ISEC-v1-key-commitment"


class Signer(Protocol):
    @property
    def uid(self) -> bytes: ...
    @property
    def sig_kid(self) -> bytes: ...
    @property
    def sig_sk(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    uid: bytes
    enc_pk: bytes

    @property
    def kid(self) -> bytes:
        return h256(self.enc_pk)


@dataclass(frozen=True, slots=True)
class Entry:
    uid: bytes
    enc_kid: bytes
    wrap: bytes


@dataclass(frozen=True, slots=True)
class Header:
    magic: bytes
    msg_id: bytes
    created_ms: int
    sender_uid: bytes
    sender_sig_kid: bytes
    entries: tuple[Entry, ...]
    key_commit: bytes
    nonce: bytes
    raw: bytes  # every byte from the magic up to and including the nonce (the AEAD associated data)


@dataclass(frozen=True, slots=True)
class Opened:
    header: Header
    payload_bytes: bytes
    payload: dict[str, Any]


def commitment(cek: bytes, msg_id: bytes) -> bytes:
    return mac(cek, COMMIT_CONTEXT + msg_id)


def signature_input(header_raw: bytes, padded: bytes) -> bytes:
    context = SMTP_SIG_CONTEXT if header_raw[:4] == SMTP_MAGIC else SIG_CONTEXT
    return context + h512(header_raw) + h512(padded)


def header_bytes(
    *,
    magic: bytes,
    msg_id: bytes,
    created_ms: int,
    sender: Signer,
    entries: list[Entry],
    key_commit: bytes,
    nonce: bytes,
) -> bytes:
    out = magic + bytes([SUITE]) + msg_id + be64(created_ms) + sender.uid + sender.sig_kid + be16(len(entries))
    for entry in entries:
        out += entry.uid + entry.enc_kid + entry.wrap
    return out + key_commit + nonce


def wrap_key(cek: bytes, msg_id: bytes, enc_pk: bytes) -> bytes:
    out: bytes = b.crypto_box_seal(cek + msg_id, enc_pk)
    return out


def seal(
    sender: Identity,
    recipients: list[Recipient],
    payload: bytes,
    *,
    created_ms: int,
    draft: bool = False,
    rng: Random = random_bytes,
) -> bytes:
    """Encrypt ``payload`` (built with ``isecom.crypto.payload.build``) for the recipients and the sender."""
    msg_id, cek, nonce = rng(16), rng(32), rng(24)
    own = Recipient(sender.uid, sender.current.pk)
    chosen = [own] if draft else [own, *(r for r in recipients if r.uid != sender.uid)]
    if len({r.uid for r in chosen}) != len(chosen) or len(chosen) > MAX_ENTRIES:
        raise ValueError("recipients must be distinct and at most 500")
    entries = sorted(
        (Entry(r.uid, r.kid, wrap_key(cek, msg_id, r.enc_pk)) for r in chosen), key=lambda e: (e.uid, e.enc_kid)
    )
    header = header_bytes(
        magic=DRAFT_MAGIC if draft else MESSAGE_MAGIC,
        msg_id=msg_id,
        created_ms=created_ms,
        sender=sender,
        entries=entries,
        key_commit=commitment(cek, msg_id),
        nonce=nonce,
    )
    return finish(header, cek, nonce, payload, sender)


def seal_smtp(
    gateway: Signer, recipients: list[Recipient], payload: bytes, *, created_ms: int, rng: Random = random_bytes
) -> bytes:
    """Seal mail that arrived over SMTP (a ``type: "smtp"`` payload) to its recipients, signed by the gateway."""
    msg_id, cek, nonce = rng(16), rng(32), rng(24)
    if gateway.uid != GATEWAY_UID or any(r.uid == GATEWAY_UID for r in recipients):
        raise ValueError("the gateway signs as the gateway uid and is never a recipient")
    if not 1 <= len({r.uid for r in recipients}) == len(recipients) <= MAX_ENTRIES:
        raise ValueError("recipients must be distinct, 1 to 500")
    entries = sorted(
        (Entry(r.uid, r.kid, wrap_key(cek, msg_id, r.enc_pk)) for r in recipients), key=lambda e: (e.uid, e.enc_kid)
    )
    header = header_bytes(
        magic=SMTP_MAGIC,
        msg_id=msg_id,
        created_ms=created_ms,
        sender=gateway,
        entries=entries,
        key_commit=commitment(cek, msg_id),
        nonce=nonce,
    )
    return finish(header, cek, nonce, payload, gateway)


def finish(header: bytes, cek: bytes, nonce: bytes, payload: bytes, sender: Signer) -> bytes:
    """Sign and encrypt under a prepared header (the vector generator also builds hostile headers)."""
    padded = padding.pad(payload)
    signed: bytes = b.crypto_sign(signature_input(header, padded), sender.sig_sk)
    ct: bytes = b.crypto_aead_xchacha20poly1305_ietf_encrypt(padded + signed[:64], header, nonce, cek)
    return header + be32(len(ct)) + ct


def parse_header(envelope: bytes, *, draft: bool | None = None, smtp: bool = False) -> tuple[Header, bytes]:
    """Step 1 (version, then format): strict framing; returns the header and the ciphertext.

    ``draft`` names the object the caller expects (None: either); the other kind is ``version``.
    ``smtp``: an SMTP-sealed message ("ISS1", §6.6) is accepted as well as a message.
    """
    if len(envelope) < 5:
        raise CryptoError("format")
    magic = envelope[:4]
    expected = {None: (MESSAGE_MAGIC, DRAFT_MAGIC), False: (MESSAGE_MAGIC,), True: (DRAFT_MAGIC,)}[draft]
    if smtp and draft is not True:
        expected = (*expected, SMTP_MAGIC)
    if magic not in expected or envelope[4] != SUITE:
        raise CryptoError("version")
    if len(envelope) < FIXED:
        raise CryptoError("format")
    count = read_int(envelope, 77, 2)
    end = FIXED + ENTRY * count + TAIL
    if not 1 <= count <= MAX_ENTRIES or len(envelope) < end + 4:
        raise CryptoError("format")
    ct_len = read_int(envelope, end, 4)
    if not MIN_CT <= ct_len <= (MAX_SMTP_CT if magic == SMTP_MAGIC else MAX_CT) or len(envelope) != end + 4 + ct_len:
        raise CryptoError("format")
    entries = tuple(
        Entry(
            envelope[FIXED + ENTRY * i : FIXED + ENTRY * i + 16],
            envelope[FIXED + ENTRY * i + 16 : FIXED + ENTRY * i + 48],
            envelope[FIXED + ENTRY * i + 48 : FIXED + ENTRY * (i + 1)],
        )
        for i in range(count)
    )
    keys = [(e.uid, e.enc_kid) for e in entries]
    if keys != sorted(keys) or len({e.uid for e in entries}) != count:
        raise CryptoError("format")
    sender_uid = envelope[29:45]
    if magic == SMTP_MAGIC:  # the gateway signs and is never an entry (§6.6)
        if sender_uid != GATEWAY_UID or any(e.uid == GATEWAY_UID for e in entries):
            raise CryptoError("format")
    elif sum(e.uid == sender_uid for e in entries) != 1 or (magic == DRAFT_MAGIC and count != 1):
        raise CryptoError("format")
    header = Header(
        magic=magic,
        msg_id=envelope[5:21],
        created_ms=read_int(envelope, 21, 8),
        sender_uid=sender_uid,
        sender_sig_kid=envelope[45:77],
        entries=entries,
        key_commit=envelope[end - TAIL : end - 24],
        nonce=envelope[end - 24 : end],
        raw=envelope[:end],
    )
    return header, envelope[end + 4 :]


def open_envelope(envelope: bytes, reader: Identity, sender_sig_pk: bytes, *, draft: bool = False) -> Opened:
    """Open a message (or a draft) for ``reader``; every check of PROTOCOL.md §6.5, in order."""
    header, ct = parse_header(envelope, draft=draft)
    if draft and header.sender_uid != reader.uid:
        raise CryptoError("recipient")
    body = _decrypt_verified(header, ct, reader, sender_sig_pk)
    # 9. payload
    value = payloads.parse(body)
    if value["type"] != ("draft" if draft else "mail") or value["from"]["uid"] != header.sender_uid.hex():
        raise CryptoError("payload")
    if not draft and payloads.parties(value) != {e.uid.hex() for e in header.entries}:
        raise CryptoError("payload")
    return Opened(header=header, payload_bytes=body, payload=value)


def open_smtp(envelope: bytes, reader: Identity, gateway_sig_pk: bytes) -> Opened:
    """Open mail that arrived over SMTP ("ISS1", §6.6): the checks of §6.5 with the gateway's verified key."""
    if envelope[:4] != SMTP_MAGIC:
        raise CryptoError("version")
    header, ct = parse_header(envelope, draft=False, smtp=True)
    body = _decrypt_verified(header, ct, reader, gateway_sig_pk)
    value = payloads.parse(body)
    if value["type"] != "smtp":
        raise CryptoError("payload")
    return Opened(header=header, payload_bytes=body, payload=value)


def _decrypt_verified(header: Header, ct: bytes, reader: Identity, sender_sig_pk: bytes) -> bytes:
    """Steps 2–8 of §6.5; the unpadded payload bytes."""
    # 2. recipient
    own = {key.kid: key for key in reader.enc_keys}
    entry = next((e for e in header.entries if e.uid == reader.uid and e.enc_kid in own), None)
    if entry is None:
        raise CryptoError("recipient")
    key = own[entry.enc_kid]
    # 3. unwrap
    try:
        unwrapped: bytes = b.crypto_box_seal_open(entry.wrap, key.pk, key.sk)
    except nacl.exceptions.CryptoError:
        raise CryptoError("unwrap") from None
    if len(unwrapped) != 48 or not equal(unwrapped[32:], header.msg_id):
        raise CryptoError("unwrap")
    cek = unwrapped[:32]
    # 4. commitment
    if not equal(commitment(cek, header.msg_id), header.key_commit):
        raise CryptoError("commitment")
    # 5. decrypt
    try:
        inner: bytes = b.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, header.raw, header.nonce, cek)
    except nacl.exceptions.CryptoError:
        raise CryptoError("decrypt") from None
    # 6. padding
    padded, signature = inner[:-64], inner[-64:]
    body = padding.unpad(padded)
    # 7. sender key
    if len(sender_sig_pk) != 32 or not equal(h256(sender_sig_pk), header.sender_sig_kid):
        raise CryptoError("sender_key")
    # 8. signature
    try:
        b.crypto_sign_open(signature + signature_input(header.raw, padded), sender_sig_pk)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        raise CryptoError("signature") from None
    return body

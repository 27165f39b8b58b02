"""Case copies of the 24-hour checklist (docs/PROTOCOL.md §12), byte for byte as js/crypto/casefile.js.

A random case key per case, wrapped to each participant's X25519 key with a sealed box; the
label and the notes are XChaCha20-Poly1305 under the case key; each note is signed by its
author's Ed25519 key inside the ciphertext. The server never calls these: it stores what
clients make. The Python client and the tests do.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.bindings as b
import nacl.exceptions

from isecom.crypto import padding
from isecom.crypto.encoding import be64, read_int
from isecom.crypto.errors import CryptoError
from isecom.crypto.hashing import equal, h256, h512, mac
from isecom.crypto.keys import Identity, Random, random_bytes

ID_BYTES = 16
KEY_BYTES = 32
NONCE = 24
SIGNATURE = 64
WRAP_BYTES = KEY_BYTES + ID_BYTES + 48
LABEL_MAGIC = b"ISL1"
NOTE_MAGIC = b"ISN1"
SUITE = 0x01
COMMIT_LABEL = b"ISEC-v1-case-commitment"
NOTE_SIG_LABEL = b"ISEC-v1-case-note-sig"
NOTE_HEAD = 4 + 1 + 3 * ID_BYTES + 8 + NONCE


@dataclass(frozen=True, slots=True)
class Note:
    case_id: bytes
    note_id: bytes
    author_uid: bytes
    created_ms: int
    text: str


def commitment(case_key: bytes, case_id: bytes) -> bytes:
    return mac(case_key, COMMIT_LABEL + case_id)


def wrap(case_key: bytes, case_id: bytes, enc_pk: bytes) -> tuple[bytes, bytes]:
    """(enc_kid, SEAL(case_key ‖ case_id, enc_pk))."""
    sealed: bytes = b.crypto_box_seal(case_key + case_id, enc_pk)
    return h256(enc_pk), sealed


def unwrap(reader: Identity, enc_kid: bytes, wrapped: bytes, case_id: bytes, key_commit: bytes) -> bytes:
    own = {key.kid: key for key in reader.enc_keys}
    key = own.get(enc_kid)
    if key is None:
        raise CryptoError("recipient")
    try:
        opened: bytes = b.crypto_box_seal_open(wrapped, key.pk, key.sk)
    except nacl.exceptions.CryptoError:
        raise CryptoError("unwrap") from None
    if len(opened) != KEY_BYTES + ID_BYTES or not equal(opened[KEY_BYTES:], case_id):
        raise CryptoError("unwrap")
    case_key = opened[:KEY_BYTES]
    if not equal(commitment(case_key, case_id), key_commit):
        raise CryptoError("commitment")
    return case_key


def seal_label(case_key: bytes, case_id: bytes, text: str, rng: Random = random_bytes) -> bytes:
    nonce = rng(NONCE)
    ct: bytes = b.crypto_aead_xchacha20poly1305_ietf_encrypt(
        padding.pad(text.encode("utf-8")), LABEL_MAGIC + case_id + nonce, nonce, case_key
    )
    return LABEL_MAGIC + nonce + ct


def open_label(case_key: bytes, case_id: bytes, sealed: bytes) -> str:
    if len(sealed) < 4 + NONCE + 16 or sealed[:4] != LABEL_MAGIC:
        raise CryptoError("format")
    nonce = sealed[4 : 4 + NONCE]
    try:
        plain: bytes = b.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[4 + NONCE :], LABEL_MAGIC + case_id + nonce, nonce, case_key
        )
    except nacl.exceptions.CryptoError:
        raise CryptoError("decrypt") from None
    return _text(padding.unpad(plain))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CryptoError("payload") from None


def _transcript(header: bytes, padded: bytes) -> bytes:
    return NOTE_SIG_LABEL + h512(header) + h512(padded)


def seal_note(
    case_key: bytes, case_id: bytes, author: Identity, text: str, created_ms: int, rng: Random = random_bytes
) -> bytes:
    note_id, nonce = rng(ID_BYTES), rng(NONCE)
    header = NOTE_MAGIC + bytes([SUITE]) + case_id + note_id + author.uid + be64(created_ms) + nonce
    padded = padding.pad(text.encode("utf-8"))
    signed: bytes = b.crypto_sign(_transcript(header, padded), author.sig_sk)
    ct: bytes = b.crypto_aead_xchacha20poly1305_ietf_encrypt(padded + signed[:SIGNATURE], header, nonce, case_key)
    return header + ct


def open_note(case_key: bytes, case_id: bytes, sealed: bytes, author_sig_pk: bytes) -> Note:
    if len(sealed) < NOTE_HEAD + padding.MIN_PADDED + SIGNATURE + 16:
        raise CryptoError("format")
    if sealed[:4] != NOTE_MAGIC or sealed[4] != SUITE:
        raise CryptoError("version")
    header = sealed[:NOTE_HEAD]
    note_case, note_id, author_uid = header[5:21], header[21:37], header[37:53]
    created_ms = read_int(header, 53, 8)
    nonce = header[61:NOTE_HEAD]
    if not equal(note_case, case_id):
        raise CryptoError("recipient")
    try:
        inner: bytes = b.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed[NOTE_HEAD:], header, nonce, case_key)
    except nacl.exceptions.CryptoError:
        raise CryptoError("decrypt") from None
    padded, signature = inner[:-SIGNATURE], inner[-SIGNATURE:]
    try:
        b.crypto_sign_open(signature + _transcript(header, padded), author_sig_pk)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        raise CryptoError("signature") from None
    return Note(note_case, note_id, author_uid, created_ms, _text(padding.unpad(padded)))

"""Byte encodings of docs/PROTOCOL.md §1: strict base64url, hex uids, big-endian integers."""

from __future__ import annotations

import base64
import binascii
import re

from isecom.crypto.errors import CryptoError

_B64_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_B64_VALUE = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}
# The bits the last character carries beyond the data: zero in the canonical form (RFC 4648 §3.5).
_SPARE_BITS = {0: 0, 2: 0x0F, 3: 0x03}


def b64e(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: object, *, size: int | None = None) -> bytes:
    """Decode strict base64url-no-padding; refuse padding, other characters and non-canonical forms."""
    if not isinstance(text, str) or not _B64_RE.match(text) or len(text) % 4 == 1:
        raise CryptoError("format")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CryptoError("format") from None
    # Canonical: the spare bits of the last character are zero (the same as re-encoding and
    # comparing, without a second pass over a message-sized text).
    if (text and _B64_VALUE[text[-1]] & _SPARE_BITS[len(text) % 4]) or (size is not None and len(raw) != size):
        raise CryptoError("format")
    return raw


def uid_hex(uid: bytes) -> str:
    return uid.hex()


def uid_bytes(text: object) -> bytes:
    if not isinstance(text, str) or len(text) != 32 or text != text.lower():
        raise CryptoError("format")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CryptoError("format") from None


def be16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def be32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def be64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def lp(data: bytes) -> bytes:
    """A length-prefixed field: BE32(len) ‖ data."""
    return be32(len(data)) + data


def read_int(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset : offset + size], "big")

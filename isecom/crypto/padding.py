"""Padmé padding to size buckets (docs/PROTOCOL.md §6.3)."""

from __future__ import annotations

import nacl.bindings as b
import nacl.exceptions

from isecom.crypto.errors import CryptoError

MIN_PADDED = 256


def padme(length: int) -> int:
    if length < 4:
        return length
    exponent = length.bit_length() - 1
    size_bits = exponent.bit_length()
    mask = (1 << (exponent - size_bits)) - 1
    return (length + mask) & ~mask


def target(length: int) -> int:
    return max(MIN_PADDED, padme(length + 1))


def pad(payload: bytes) -> bytes:
    out: bytes = b.sodium_pad(payload, target(len(payload)))
    return out


def unpad(padded: bytes) -> bytes:
    size = len(padded)
    if size < MIN_PADDED or max(MIN_PADDED, padme(size)) != size:
        raise CryptoError("padding")
    try:
        out: bytes = b.sodium_unpad(padded, size)
    except (nacl.exceptions.CryptoError, ValueError):
        raise CryptoError("padding") from None
    if target(len(out)) != size:
        raise CryptoError("padding")
    return out

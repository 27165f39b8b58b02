"""TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps), wrapped in one small module.

``verify`` takes the time as an argument and returns the time step that the
code matched, so the caller can store it and refuse any code from the same or
an earlier step (replay). One step of clock drift either way is accepted.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

INTERVAL = 30
DIGITS = 6
WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account: str, issuer: str = "isecom") -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(name=account, issuer_name=issuer)


def code_at(secret: str, when: datetime) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(when)


def verify(secret: str, code: str, when: datetime, *, last_step: int | None) -> int | None:
    """The matched time step, or None for a wrong, malformed or replayed code."""
    if not isinstance(code, str) or len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now_step = totp.timecode(when)
    for offset in range(-WINDOW, WINDOW + 1):
        step = now_step + offset
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None

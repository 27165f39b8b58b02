"""Value types, parsed once at the edge.

Inside the core an email address is never a bare ``str``: it is an ``Email``
made by ``Email.parse``, which normalises it and rejects anything that could
inject a header (CR, LF, NUL) or is not a plain ``local@domain`` address.
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass

from isecom.countries import COUNTRIES
from isecom.errors import InvalidInput

_LOCAL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class Email:
    """A normalised address, lower-cased (member addresses are case-insensitive)."""

    local: str
    domain: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "email") -> Email:
        if not isinstance(raw, str):
            raise InvalidInput("An email address is required.", field=field)
        if any(c in raw for c in "\r\n\x00"):
            raise InvalidInput("An email address cannot contain line breaks.", field=field)
        value = raw.strip()
        if len(value) > 254 or value.count("@") != 1:
            raise InvalidInput("This is not a valid email address.", field=field)
        local, domain = value.lower().split("@")
        domain = domain.rstrip(".")
        if not _LOCAL_RE.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
            raise InvalidInput("This is not a valid email address.", field=field)
        labels = domain.split(".")
        if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
            raise InvalidInput("This is not a valid email address.", field=field)
        return cls(local=local, domain=domain)

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"


@dataclass(frozen=True, slots=True)
class Country:
    """An ISO 3166-1 alpha-2 country code."""

    code: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "country") -> Country:
        code = raw.strip().upper() if isinstance(raw, str) else ""
        if code not in COUNTRIES:
            raise InvalidInput("Unknown country code (use ISO 3166 alpha-2, e.g. FR).", field=field)
        return cls(code)

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True, slots=True)
class MemberId:
    """Opaque identifier of a member account (32 lower-case hex digits)."""

    value: str

    @classmethod
    def new(cls) -> MemberId:
        return cls(secrets.token_hex(16))

    @classmethod
    def parse(cls, raw: str, *, field: str = "member_id") -> MemberId:
        if not isinstance(raw, str) or not _ID_RE.match(raw):
            raise InvalidInput("This is not a valid member id.", field=field)
        return cls(raw)

    def __str__(self) -> str:
        return self.value


def parse_name(raw: str, *, field: str = "name", max_length: int = 200) -> str:
    """A display name: trimmed, printable, one line, bounded."""
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        raise InvalidInput("A name is required.", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"A name is at most {max_length} characters.", field=field)
    if any(not c.isprintable() for c in value):
        raise InvalidInput("A name cannot contain control characters or line breaks.", field=field)
    return value


class Role(enum.StrEnum):
    MEMBER = "member"
    AGENCY_HEAD = "agency_head"
    NCB_HEAD = "ncb_head"
    ADMIN = "admin"

    @classmethod
    def parse(cls, raw: str) -> Role:
        try:
            return cls(raw.strip().lower())
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise InvalidInput(f"Unknown role {raw!r} (one of: {allowed}).", field="role") from None


class MemberStatus(enum.StrEnum):
    APPLIED = "applied"  # official address not confirmed yet
    PENDING_NOMINATION = "pending_nomination"
    PENDING_AUTHORIZATION = "pending_authorization"
    REJECTED = "rejected"
    PENDING_ACTIVATION = "pending_activation"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Language(enum.StrEnum):
    EN = "en"
    FR = "fr"
    ES = "es"
    AR = "ar"

    @property
    def rtl(self) -> bool:
        return self is Language.AR

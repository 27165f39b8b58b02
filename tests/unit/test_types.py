from __future__ import annotations

import pytest

from isecom.errors import InvalidInput
from isecom.types import Country, Email, MemberId, Role, parse_name


def test_email_is_normalised() -> None:
    email = Email.parse("  Jane.Doe@Agency.EXAMPLE ")
    assert str(email) == "jane.doe@agency.example"


@pytest.mark.parametrize(
    "raw",
    [
        "a@b.example\r\nBcc: x@y.example",
        "a@b.example\n",
        "no-at-sign",
        "two@@b.example",
        "a@localhost",
        ".a@b.example",
        "a..b@b.example",
        "a@-bad.example",
        "a" * 65 + "@b.example",
        "",
    ],
)
def test_bad_emails_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidInput):
        Email.parse(raw)


def test_country_codes_are_iso_3166() -> None:
    assert Country.parse("fr").code == "FR"
    for bad in ("EU", "XX", "FRA", "", "UN"):
        with pytest.raises(InvalidInput):
            Country.parse(bad)


def test_member_ids_and_roles() -> None:
    new = MemberId.new()
    assert MemberId.parse(new.value) == new
    with pytest.raises(InvalidInput):
        MemberId.parse("../../etc/passwd")
    assert Role.parse(" NCB_Head ") is Role.NCB_HEAD
    with pytest.raises(InvalidInput, match="one of"):
        Role.parse("king")


def test_names_are_one_printable_line() -> None:
    assert parse_name("  Rania Haddad ") == "Rania Haddad"
    assert parse_name("رانيا حداد") == "رانيا حداد"
    for bad in ("", "   ", "a\nb", "x" * 201, "bell\x07"):
        with pytest.raises(InvalidInput):
            parse_name(bad)

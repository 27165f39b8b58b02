"""The message payload (docs/PROTOCOL.md §6.2, §6.6): built canonically, parsed strictly."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from isecom.crypto.attachments import Descriptor
from isecom.crypto.encoding import b64d
from isecom.crypto.errors import CryptoError

HANDLING = frozenset({"H0", "H1", "H2", "H3"})
MEMBERS = frozenset(
    {
        "v",
        "type",
        "from",
        "to",
        "cc",
        "subject",
        "body",
        "date",
        "in_reply_to",
        "references",
        "handling",
        "attachments",
        "forwarded",
    }
)
SMTP_MEMBERS = frozenset({"v", "type", "smtp_from", "smtp_to", "received", "raw"})
MAX_SMTP_TO = 500
MAX_SUBJECT = 1000
MAX_REFERENCES = 100
MAX_ATTACHMENTS = 100
MAX_PARTIES = 500
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,6})?Z$")


def build(payload: dict[str, Any]) -> bytes:
    """Serialise a payload once; the signature covers exactly these bytes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CryptoError("payload")
        result[key] = value
    return result


def _no_constants(_: str) -> Any:
    raise CryptoError("payload")


def parse(data: bytes) -> dict[str, Any]:
    """Strict parse and validation of the payload's shape (recipient sets are checked by the envelope)."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # refuses lone surrogates
    except (UnicodeError, ValueError, RecursionError):
        raise CryptoError("payload") from None
    _check(value)
    return value  # type: ignore[no-any-return]


def _is_date(value: Any) -> bool:
    """RFC 3339 UTC, ASCII digits, at most six fraction digits, a real calendar date."""
    match = _DATE.match(value) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _require(condition: bool) -> None:
    if not condition:
        raise CryptoError("payload")


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_str(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _party(value: Any) -> str:
    _require(isinstance(value, dict) and set(value) == {"uid", "name", "email"})
    _require(isinstance(value["uid"], str) and bool(_HEX32.match(value["uid"])))
    _require(_is_str(value["name"], 200) and _is_str(value["email"], 254))
    return str(value["uid"])


def _check_smtp(value: dict[str, Any]) -> None:
    """§6.6: mail the gateway received; the addresses are transport data, shown as such."""
    _require(set(value) == SMTP_MEMBERS and type(value["v"]) is int and value["v"] == 1)
    _require(_is_str(value["smtp_from"], 254) and _is_date(value["received"]))
    _require(isinstance(value["smtp_to"], list) and 1 <= len(value["smtp_to"]) <= MAX_SMTP_TO)
    _require(all(_is_str(address, 254) and address for address in value["smtp_to"]))
    try:
        b64d(value["raw"])
    except CryptoError:
        raise CryptoError("payload") from None


def _check(value: Any) -> None:
    if isinstance(value, dict) and value.get("type") == "smtp":
        _check_smtp(value)
        return
    _require(isinstance(value, dict) and set(value) == MEMBERS)
    _require(type(value["v"]) is int and value["v"] == 1 and value["type"] in ("mail", "draft"))
    _party(value["from"])
    for key in ("to", "cc"):
        _require(isinstance(value[key], list) and len(value[key]) <= MAX_PARTIES)
        for party in value[key]:
            _party(party)
    _require(_is_str(value["subject"], MAX_SUBJECT) and isinstance(value["body"], str))
    _require(_is_date(value["date"]))
    reply = value["in_reply_to"]
    _require(reply is None or (isinstance(reply, str) and bool(_HEX32.match(reply))))
    refs = value["references"]
    _require(isinstance(refs, list) and len(refs) <= MAX_REFERENCES)
    _require(all(isinstance(r, str) and _HEX32.match(r) for r in refs))
    _require(value["handling"] in HANDLING)
    _require(isinstance(value["attachments"], list) and len(value["attachments"]) <= MAX_ATTACHMENTS)
    for descriptor in value["attachments"]:
        try:
            Descriptor.from_json(descriptor)
        except CryptoError:
            raise CryptoError("payload") from None
    forwarded = value["forwarded"]
    _require(isinstance(forwarded, list) and len(forwarded) <= MAX_REFERENCES)
    for item in forwarded:
        _require(isinstance(item, dict) and set(item) == {"msg_id", "from", "date"})
        _require(isinstance(item["msg_id"], str) and bool(_HEX32.match(item["msg_id"])))
        _require(isinstance(item["from"], str) and bool(_HEX32.match(item["from"])))
        _require(_is_date(item["date"]))


def parties(value: dict[str, Any]) -> set[str]:
    """The uids the sender addressed, the sender included."""
    return {value["from"]["uid"], *(p["uid"] for p in value["to"]), *(p["uid"] for p in value["cc"])}

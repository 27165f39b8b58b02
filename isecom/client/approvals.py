"""Membership decisions from the command line or a script, signed like the review page signs them.

An agency head's nomination and an NCB head's authorization are signed with the
approver's own key (docs/PROTOCOL.md §9.3); an administrator deciding without
that role needs no signature (the platform approves at activation).
"""

from __future__ import annotations

from typing import Any

from isecom.client.session import Client
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e

DAY = 86400


class NotSignable(Exception):
    """The decision cannot be signed: no certificate, or a nomination that is not this applicant's."""


async def nominate(client: Client, application_id: str, *, endorse: bool, reason: str | None = None) -> None:
    body: dict[str, Any] = {"endorse": endorse, "reason": reason}
    if endorse:
        info = await client.get(f"/api/v1/applications/{application_id}/signing?step=nomination")
        if info["must_sign"]:
            sk, cert, member = _signing(client, info)
            body["statement"] = b64e(
                keytrans.nomination(
                    sk,
                    uid=bytes.fromhex(member["id"]),
                    email=member["email"],
                    name=member["name"],
                    country=member["country"],
                    agency=member["agency"],
                    signer_cert=b64d(cert["hash"], size=32),
                    signer_cert_idx=int(cert["index"]),
                    made=int(info["now"]),
                )
            )
    await client.post(f"/api/v1/applications/{application_id}/nomination", body)


async def authorize(
    client: Client, application_id: str, *, approve: bool, term_days: int = 730, reason: str | None = None
) -> None:
    body: dict[str, Any] = {"approve": approve, "term_days": term_days, "reason": reason}
    if approve:
        info = await client.get(f"/api/v1/applications/{application_id}/signing?step=authorization")
        if info["must_sign"]:
            sk, cert, member = _signing(client, info)
            if info["nomination"] is None:
                raise NotSignable("this application has no signed nomination to authorize")
            nomination = b64d(info["nomination"])
            nominated = keytrans.parse_decision(nomination)
            # Sign only a nomination of the applicant shown, never an object the server chose.
            shown = (bytes.fromhex(member["id"]), member["email"], member["name"], member["country"], member["agency"])
            if (nominated.uid, nominated.email, nominated.name, nominated.country, nominated.agency) != shown:
                raise NotSignable("the nomination does not describe this applicant")
            body["statement"] = b64e(
                keytrans.authorization(
                    sk,
                    uid=bytes.fromhex(member["id"]),
                    nomination_hash=keytrans.object_hash(nomination),
                    not_after=int(info["now"]) + term_days * DAY,
                    signer_cert=b64d(cert["hash"], size=32),
                    signer_cert_idx=int(cert["index"]),
                    made=int(info["now"]),
                )
            )
    await client.post(f"/api/v1/applications/{application_id}/authorization", body)


def _signing(client: Client, info: dict[str, Any]) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    if client.signed is None:
        raise NotSignable("sign in first: decisions are signed with your key")
    if info["certificate"] is None:
        raise NotSignable("you have no approver certificate; ask a platform administrator")
    return client.signed.identity.sig_sk, info["certificate"], info["member"]

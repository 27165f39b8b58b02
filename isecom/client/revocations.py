"""Revoke a member's keys from a script, signed like the browser signs it (PROTOCOL.md §9.5).

A member revokes their own keys; the head of a country's NCB revokes a member of that country.
Either way the revocation is signed with the revoker's own key, unlocked at sign-in.
"""

from __future__ import annotations

from isecom.client.session import Client
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e


class NotRevocable(Exception):
    """The revocation cannot be signed here (not signed in, or no NCB head certificate)."""


async def revoke(client: Client, member_id: str, *, reason: str = "", effective: int | None = None) -> None:
    """Sign and send a revocation of ``member_id``'s current keys, effective now or at ``effective``."""
    if client.signed is None:
        raise NotRevocable("sign in first: a revocation is signed with your key")
    plan = await client.get(f"/keys/v1/revocations/plan?member={member_id}")
    by = keytrans.RevokedBy.SELF if plan["by"] == "self" else keytrans.RevokedBy.NCB_HEAD
    cert = plan["certificate"]
    if by is keytrans.RevokedBy.NCB_HEAD and cert is None:
        raise NotRevocable("you have no NCB head certificate; ask a platform administrator")
    now = int(plan["now"])
    statement = keytrans.revocation(
        client.signed.identity.sig_sk,
        uid=bytes.fromhex(member_id),
        ks_hash=b64d(plan["key_statement"], size=32),
        effective=now if effective is None else effective,
        by=by,
        made=now,
        signer_cert=b64d(cert["hash"], size=32) if cert else keytrans.ZERO32,
        signer_cert_idx=int(cert["index"]) if cert else 0,
    )
    await client.post("/keys/v1/revocations", {"member_id": member_id, "statement": b64e(statement), "reason": reason})

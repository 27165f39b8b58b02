"""Account activation: the browser (or ``isecom client activate``) sends only what PROTOCOL.md allows.

``start`` shows whom a link is for and the TOTP secret to enrol, derived from the
token so nothing is stored before the activation completes; ``complete`` checks
the material's shape and one TOTP code, stores the credentials, consumes the
link and makes the member active, all in one transaction.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any

from isecom.auth import two_factor
from isecom.crypto import keys
from isecom.crypto.errors import CryptoError
from isecom.crypto.tokens import derive, seal_at_rest, token_digest
from isecom.errors import Conflict, InvalidInput, TokenInvalid
from isecom.services import keydir, tokens
from isecom.services.ports import AuditEntry, Clock, Credentials, Member, Store
from isecom.types import MemberStatus


@dataclass(frozen=True, slots=True)
class Started:
    member: Member
    totp_secret: str
    totp_uri: str
    next_seqno: int = 0  # the key statement this activation publishes (PROTOCOL.md §9.2)
    prev_statement: bytes = bytes(32)


@dataclass(frozen=True, slots=True)
class Material:
    """Public or wrapped values only (PROTOCOL.md §2–§5)."""

    salt: bytes
    params: dict[str, Any]
    auth_pk: bytes
    wrapped_password: bytes
    wrapped_recovery: bytes
    sig_pk: bytes
    enc_pk: bytes
    key_statement: bytes

    def check(self) -> None:
        try:
            keys.check_params(self.params)
        except CryptoError:
            raise InvalidInput("Password hashing parameters are outside the allowed range.", field="params") from None
        for name, size in (("salt", 16), ("auth_pk", 32), ("sig_pk", 32), ("enc_pk", 32)):
            if len(getattr(self, name)) != size:
                raise InvalidInput(f"{name} must be {size} bytes.", field=name)
        for name, kind in (("wrapped_password", keys.WRAP_PASSWORD), ("wrapped_recovery", keys.WRAP_RECOVERY)):
            wrapped: bytes = getattr(self, name)
            if len(wrapped) < 34 + 79 + 16 or wrapped[:4] != keys.WRAP_MAGIC or wrapped[4] != 1 or wrapped[5] != kind:
                raise InvalidInput(f"{name} is not a wrapped key bundle (PROTOCOL.md §2.2).", field=name)
        if self.wrapped_password[6:10] != self.wrapped_recovery[6:10]:
            raise InvalidInput("Both wraps must carry the same bundle version.", field="wrapped_recovery")

    @property
    def bundle_version(self) -> int:
        return int.from_bytes(self.wrapped_password[6:10], "big")


def totp_secret_for(server_key: bytes, token: str) -> str:
    digest = token_digest(token, purpose=tokens.ACTIVATION, server_key=server_key)
    if digest is None:
        raise TokenInvalid()
    return base64.b32encode(derive(server_key, "totp-seed", digest, size=20)).decode("ascii")


async def start(store: Store, clock: Clock, server_key: bytes, token: str) -> Started:
    async with store.transaction() as tx:
        found = await tokens.check(tx, clock, server_key, purpose=tokens.ACTIVATION, token=token)
        member = await tx.members.get(found.member_id)
        seqno, prev = await keydir.next_statement(tx, found.member_id)
    if member is None or member.status is not MemberStatus.PENDING_ACTIVATION:
        raise TokenInvalid()
    secret = totp_secret_for(server_key, token)
    uri = two_factor.provisioning_uri(secret, account=str(member.email))
    return Started(member, secret, uri, next_seqno=seqno, prev_statement=prev)


async def complete(
    store: Store,
    clock: Clock,
    server_key: bytes,
    authority: keydir.Authority,
    token: str,
    material: Material,
    totp_code: str,
) -> Member:
    material.check()
    secret = totp_secret_for(server_key, token)
    now = clock.now()
    step = two_factor.verify(secret, totp_code, now, last_step=None)
    if step is None:
        raise InvalidInput("The authentication code is not correct; check the time on your phone.", field="totp_code")
    async with store.transaction() as tx:
        found = await tokens.redeem(tx, clock, server_key, purpose=tokens.ACTIVATION, token=token)
        member = await tx.members.get(found.member_id)
        if member is None or member.status is not MemberStatus.PENDING_ACTIVATION:
            raise TokenInvalid()
        if await tx.credentials.get(member.id) is not None:
            raise Conflict("This account is already activated.")
        await tx.credentials.add(
            Credentials(
                member_id=member.id,
                salt=material.salt,
                params=material.params,
                auth_pk=material.auth_pk,
                wrapped_password=material.wrapped_password,
                wrapped_recovery=material.wrapped_recovery,
                bundle_version=material.bundle_version,
                sig_pk=material.sig_pk,
                enc_pk=material.enc_pk,
                totp_sealed=seal_at_rest(server_key, secret.encode("ascii")),
                totp_last_step=step,
                created_at=now,
                updated_at=now,
            )
        )
        application = await tx.applications.get(member.id)
        await keydir.enrol(
            tx,
            authority,
            member,
            material.key_statement,
            sig_pk=material.sig_pk,
            enc_pk=material.enc_pk,
            not_after=application.membership_expires_at if application else None,
            now=now,
        )
        await tx.members.set_status(member.id, MemberStatus.ACTIVE)
        await tx.audit.record(AuditEntry(now, member.id, "member.activated", member.id.value, {}))
    return replace(member, status=MemberStatus.ACTIVE)

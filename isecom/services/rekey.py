"""Password change and recovery: new wraps of the same identity keys (PROTOCOL.md §4.1, §5).

A password change is proven with the *current* login key; a recovery with the
identity signing key, which only someone who opened the recovery wrap holds.
Both need a fresh challenge and a TOTP code, both bind the new credentials into
the signed transcript, and both raise the bundle version so an old wrap cannot
be replayed. A change signs out every other session; a recovery signs out all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from isecom.auth import two_factor
from isecom.crypto import keys
from isecom.crypto.errors import CryptoError
from isecom.crypto.tokens import derive, open_at_rest
from isecom.errors import InvalidInput, Unauthenticated
from isecom.services import outbox, sessions, throttle
from isecom.services.ports import AuditEntry, Clock, Credentials, Member, Store, Transaction
from isecom.services.signin import FAILED
from isecom.types import Email, MemberStatus, Role


@dataclass(frozen=True, slots=True)
class NewCredentials:
    salt: bytes
    params: dict[str, Any]
    auth_pk: bytes
    wrapped_password: bytes
    wrapped_recovery: bytes = b""

    def material(self) -> bytes:
        try:
            return keys.material_bytes(
                salt=self.salt,
                params=self.params,
                auth_pk=self.auth_pk,
                wrapped_password=self.wrapped_password,
                wrapped_recovery=self.wrapped_recovery,
            )
        except CryptoError:
            raise InvalidInput("Password hashing parameters are outside the allowed range.", field="params") from None

    def applied_to(self, credentials: Credentials, step: int, now: datetime) -> Credentials:
        """The stored credentials after this change: new password material, next bundle version."""
        return replace(
            credentials,
            salt=self.salt,
            params=self.params,
            auth_pk=self.auth_pk,
            wrapped_password=self.wrapped_password,
            wrapped_recovery=self.wrapped_recovery or credentials.wrapped_recovery,
            bundle_version=credentials.bundle_version + 1,
            totp_last_step=step,
            updated_at=now,
        )

    def check(self, version: int) -> None:
        if len(self.salt) != keys.SALT_BYTES or len(self.auth_pk) != 32:
            raise InvalidInput("salt or auth_pk has the wrong length.", field="salt")
        wraps = [(self.wrapped_password, keys.WRAP_PASSWORD)]
        if self.wrapped_recovery:
            wraps.append((self.wrapped_recovery, keys.WRAP_RECOVERY))
        for wrapped, kind in wraps:
            if len(wrapped) < 34 + 79 + 16 or wrapped[:4] != keys.WRAP_MAGIC or wrapped[4] != 1 or wrapped[5] != kind:
                raise InvalidInput("A wrap is not a wrapped key bundle (PROTOCOL.md §2.2).", field="wrapped_password")
            if int.from_bytes(wrapped[6:10], "big") != version:
                raise InvalidInput(f"New wraps must carry bundle version {version}.", field="wrapped_password")


@dataclass(frozen=True, slots=True)
class RecoveryStart:
    member_uid: bytes
    wrapped_recovery: bytes
    # The current bundle version: new wraps carry the next one. After a password change it is
    # higher than the recovery wrap's own, which that change could not re-wrap.
    bundle_version: int = 1


async def check_proof(
    tx: Transaction,
    store_key: bytes,
    clock: Clock,
    *,
    purpose: str,
    verify_key: bytes,
    origin: str,
    username: str,
    challenge_id: bytes,
    totp_code: str,
    proof: bytes,
    credentials: Credentials,
    material: bytes,
) -> int | None:
    """The accepted TOTP step when challenge, proof and code all check; else None."""
    now = clock.now()
    challenge = await tx.challenges.take(challenge_id, now) if len(challenge_id) == 16 else None
    if challenge is None or challenge.username != username:
        return None
    try:
        transcript = keys.account_transcript(
            purpose,
            origin=origin,
            username=username,
            challenge_id=challenge.id,
            challenge=challenge.challenge,
            totp_code=totp_code,
            material=material,
        )
    except CryptoError:
        return None
    if not keys.verify_login_proof(verify_key, transcript, proof):
        return None
    secret = open_at_rest(store_key, credentials.totp_sealed).decode("ascii")
    return two_factor.verify(secret, totp_code, now, last_step=credentials.totp_last_step)


async def current_wrap(store: Store, member: Member) -> Credentials:
    """The signed-in member's credentials, for the password page to open and re-wrap."""
    async with store.transaction() as tx:
        credentials = await tx.credentials.get(member.id)
    if credentials is None:
        raise Unauthenticated("This account has no keys yet.")
    return credentials


async def change_password(
    store: Store,
    clock: Clock,
    server_key: bytes,
    current: sessions.Current,
    *,
    origin: str,
    challenge_id: bytes,
    totp_code: str,
    proof: bytes,
    new: NewCredentials,
) -> None:
    member, now = current.member, clock.now()
    username = str(member.email)
    async with store.transaction() as tx:
        await throttle.check(tx, [throttle.account_key(username)], now)
        credentials = await tx.credentials.get(member.id)
    if credentials is None:
        raise Unauthenticated(FAILED)
    new.check(credentials.bundle_version + 1)
    async with store.transaction() as tx:
        step = await check_proof(
            tx,
            server_key,
            clock,
            purpose="rekey",
            verify_key=credentials.auth_pk,
            origin=origin,
            username=username,
            challenge_id=challenge_id,
            totp_code=totp_code,
            proof=proof,
            credentials=credentials,
            material=new.material(),
        )
        if step is None or not await tx.credentials.set_totp_step(member.id, step):
            await throttle.fail(tx, throttle.account_key(username), now)
            await tx.audit.record(AuditEntry(now, member.id, "password.change_failed", member.id.value, {}))
            failed = True
        else:
            await tx.credentials.replace(new.applied_to(credentials, step, now))
            await tx.sessions.revoke_all(member.id, now, keep=current.session.digest)
            await tx.audit.record(AuditEntry(now, member.id, "password.changed", member.id.value, {}))
            await outbox.enqueue(
                tx,
                clock,
                server_key,
                to=member.email,
                template="security.password_changed",
                language=member.language,
                values={"name": member.name},
            )
            failed = False
    if failed:
        raise Unauthenticated("The current password or the authentication code is not correct.")


async def _member_credentials(tx: Transaction, username: str) -> tuple[Member, Credentials] | None:
    try:
        member = await tx.members.by_email(Email.parse(username))
    except InvalidInput:
        return None
    if member is None or member.status is not MemberStatus.ACTIVE:
        return None
    credentials = await tx.credentials.get(member.id)
    return None if credentials is None else (member, credentials)


async def recovery_start(store: Store, clock: Clock, server_key: bytes, username: str, address: str) -> RecoveryStart:
    """The recovery wrap to open with the recovery code; a plausible fake for unknown users."""
    username = username.strip().lower()
    async with store.transaction() as tx:
        await throttle.check(tx, [throttle.address_key(address)], clock.now())
        found = await _member_credentials(tx, username)
    if found is None:
        fake = derive(server_key, "fake-recovery", username.encode("utf-8"), size=64)
        # As long as a real one-key wrap: header 10, nonce 24, bundle 79, tag 16 bytes.
        body = derive(server_key, "fake-wrap", fake, size=64) + derive(server_key, "fake-wrap-tail", fake, size=31)
        wrapped = keys.WRAP_MAGIC + bytes([1, keys.WRAP_RECOVERY]) + (1).to_bytes(4, "big") + fake[:24] + body
        return RecoveryStart(fake[24:40], wrapped, 1)
    member, credentials = found
    return RecoveryStart(bytes.fromhex(member.id.value), credentials.wrapped_recovery, credentials.bundle_version)


async def recover(
    store: Store,
    clock: Clock,
    server_key: bytes,
    *,
    origin: str,
    username: str,
    challenge_id: bytes,
    totp_code: str,
    proof: bytes,
    new: NewCredentials,
    address: str,
) -> Member:
    username = username.strip().lower()
    now = clock.now()
    keys_to_check = [throttle.account_key(username), throttle.address_key(address)]
    async with store.transaction() as tx:
        await throttle.check(tx, keys_to_check, now)
        found = await _member_credentials(tx, username)
    if found is not None:
        new.check(found[1].bundle_version + 1)
    async with store.transaction() as tx:
        step = None
        if found is not None and new.wrapped_recovery:
            member, credentials = found
            step = await check_proof(
                tx,
                server_key,
                clock,
                purpose="recover",
                verify_key=credentials.sig_pk,
                origin=origin,
                username=username,
                challenge_id=challenge_id,
                totp_code=totp_code,
                proof=proof,
                credentials=credentials,
                material=new.material(),
            )
            if step is not None and await tx.credentials.set_totp_step(member.id, step):
                await tx.credentials.replace(new.applied_to(credentials, step, now))
                await tx.sessions.revoke_all(member.id, now)
                await tx.audit.record(AuditEntry(now, member.id, "recovery.used", member.id.value, {}))
                # The member and the NCB heads of their country hear of it.
                for person in [member, *await tx.members.with_role(Role.NCB_HEAD, member.country)]:
                    await outbox.enqueue(
                        tx,
                        clock,
                        server_key,
                        to=person.email,
                        template="security.recovery_used",
                        language=person.language,
                        values={"member": member.name},
                    )
                return member
        for key in keys_to_check:
            await throttle.fail(tx, key, now)
        await tx.audit.record(AuditEntry(now, None, "recovery.failed", found[0].id.value if found else None, {}))
    raise Unauthenticated("Recovery failed. Check your email address, recovery code and authentication code.")

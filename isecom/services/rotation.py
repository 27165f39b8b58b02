"""Key rotation: a new encryption key in the bundle and in the key log (PROTOCOL.md §4.2, §9.2).

The member's browser adds a new X25519 key to the bundle (the old ones stay, so old mail
opens), wraps the new bundle again under the password *and* under the recovery code (so a
later recovery restores the new key too), signs the next key statement with the identity
signing key, and proves the password with a "rekey" transcript over both new wraps. Here
the proof and the TOTP code are checked like a password change; the wraps, the new
``enc_pk`` and the key statement are stored and logged in one transaction. The signing key
and the safety number stay the same, so no approval is needed (§9.8 rule 2). Other
sessions stay signed in: nothing about signing in changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from isecom.crypto import keytrans
from isecom.crypto.errors import CryptoError
from isecom.errors import Conflict, InvalidInput, Unauthenticated
from isecom.services import keydir, outbox, rekey, sessions, throttle
from isecom.services.ports import AuditEntry, Clock, Credentials, Member, Store, Transaction
from isecom.services.signin import FAILED

WRONG = "The password or the authentication code is not correct."


@dataclass(frozen=True, slots=True)
class RotationStart:
    """What the browser needs to rotate: both wraps, their version and the statement to follow."""

    wrapped_password: bytes
    wrapped_recovery: bytes
    bundle_version: int
    statement: bytes  # the current key statement; the next one carries seqno + 1 and H256(it)


@dataclass(frozen=True, slots=True)
class Rotated:
    seqno: int
    enc_pk: bytes
    bundle_version: int


async def _current_statement(tx: Transaction, member: Member) -> bytes:
    found = await keydir.current_statement(tx, member.id)
    if found is None:
        raise InvalidInput("You have no published keys to renew.", field="key_statement")
    if found[0].revoke_idx is not None:
        raise InvalidInput("Your keys are revoked; ask for new keys instead.", field="key_statement")
    return found[1].raw


async def start(store: Store, member: Member) -> RotationStart:
    async with store.transaction() as tx:
        credentials = await tx.credentials.get(member.id)
        if credentials is None:
            raise Unauthenticated("This account has no keys yet.")
        statement = await _current_statement(tx, member)
    return RotationStart(
        credentials.wrapped_password, credentials.wrapped_recovery, credentials.bundle_version, statement
    )


def _checked_statement(statement: bytes, member: Member, credentials: Credentials) -> keytrans.KeyStatement:
    """The clear refusals, before any proof is checked; keydir.rotate checks the chain again."""
    try:
        ks = keytrans.parse_key_statement(statement)
    except CryptoError as exc:
        raise InvalidInput(
            f"The key statement is not valid ({exc.check}; PROTOCOL.md §9.2).", field="key_statement"
        ) from None
    if ks.uid != bytes.fromhex(member.id.value):
        raise InvalidInput("The key statement names another member.", field="key_statement")
    if ks.sig_pk != credentials.sig_pk:
        raise InvalidInput("A new signing key needs a fresh approval, not a rotation.", field="key_statement")
    if ks.enc_pk == credentials.enc_pk:
        raise InvalidInput("A rotation needs a new encryption key.", field="key_statement")
    return ks


async def rotate(
    store: Store,
    clock: Clock,
    server_key: bytes,
    authority: keydir.Authority,
    current: sessions.Current,
    *,
    origin: str,
    challenge_id: bytes,
    totp_code: str,
    proof: bytes,
    wrapped_password: bytes,
    wrapped_recovery: bytes,
    key_statement: bytes,
) -> Rotated:
    member, now = current.member, clock.now()
    username = str(member.email)
    async with store.transaction() as tx:
        await throttle.check(tx, [throttle.account_key(username)], now)
        credentials = await tx.credentials.get(member.id)
    if credentials is None:
        raise Unauthenticated(FAILED)
    if not wrapped_recovery:
        raise InvalidInput("A rotation wraps the keys again under the recovery code too.", field="wrapped_recovery")
    # Same password material: only the wraps change, and the proof binds both.
    new = rekey.NewCredentials(
        credentials.salt, credentials.params, credentials.auth_pk, wrapped_password, wrapped_recovery
    )
    version = credentials.bundle_version + 1
    new.check(version)
    ks = _checked_statement(key_statement, member, credentials)
    async with store.transaction() as tx:
        step = await rekey.check_proof(
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
        failed = step is None or not await tx.credentials.set_totp_step(member.id, step)
        if failed or step is None:
            await throttle.fail(tx, throttle.account_key(username), now)
            await tx.audit.record(AuditEntry(now, member.id, "keys.rotate_failed", member.id.value, {}))
        else:
            # The row is locked now: a rotation or password change that committed meanwhile shows here.
            latest = await tx.credentials.get(member.id)
            if latest is None or latest.bundle_version != credentials.bundle_version:
                raise Conflict("Your keys changed meanwhile; reload the page and try again.")
            await keydir.rotate(tx, authority, member, key_statement, now=now)
            await tx.credentials.replace(replace(new.applied_to(credentials, step, now), enc_pk=ks.enc_pk))
            await tx.audit.record(AuditEntry(now, member.id, "keys.rotated", member.id.value, {"seqno": str(ks.seqno)}))
            await outbox.enqueue(
                tx,
                clock,
                server_key,
                to=member.email,
                template="security.keys_rotated",
                language=member.language,
                values={"name": member.name},
            )
    if failed:
        raise Unauthenticated(WRONG)
    return Rotated(ks.seqno, ks.enc_pk, version)

"""Sign-in by proof of the login key (PROTOCOL.md §3–§4) and a TOTP code.

One answer for every failure (unknown user, wrong password, wrong or replayed
code, stale challenge), and throttling checked before any work is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from isecom.auth import two_factor
from isecom.crypto import keys
from isecom.crypto.errors import CryptoError
from isecom.crypto.keys import random_bytes
from isecom.crypto.tokens import open_at_rest
from isecom.errors import InvalidInput, Unauthenticated
from isecom.services import outbox, sessions, throttle
from isecom.services.ports import AuditEntry, Challenge, Clock, Credentials, Member, Store, Transaction
from isecom.types import Email, MemberStatus

CHALLENGE_TTL = timedelta(seconds=60)
FAILED = "Sign-in failed. Check your email address, password and authentication code."


@dataclass(frozen=True, slots=True)
class Prelogin:
    salt: bytes
    params: dict[str, Any]
    challenge_id: bytes
    challenge: bytes
    expires_in: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    member: Member
    cookie: str
    csrf: str
    credentials: Credentials


def _username(raw: str) -> str:
    try:
        return str(Email.parse(raw, field="username"))
    except InvalidInput:
        raise Unauthenticated(FAILED) from None


async def prelogin(store: Store, clock: Clock, server_key: bytes, raw_username: str, address: str) -> Prelogin:
    """The salt and parameters to derive the login key, and a single-use challenge.

    An unknown address gets a deterministic fake salt and the default parameters,
    so the answer does not tell who is a member.
    """
    username = raw_username.strip().lower() if isinstance(raw_username, str) else ""
    now = clock.now()
    challenge = Challenge(random_bytes(16), username[:254], random_bytes(32), now + CHALLENGE_TTL, None)
    async with store.transaction() as tx:
        await throttle.check(tx, [throttle.address_key(address)], now)
        credentials = await _credentials(tx, username)
        await tx.challenges.add(challenge)
        await tx.challenges.purge(now - timedelta(hours=1))
    if credentials is None:
        salt, params = keys.fake_salt(server_key, username), dict(keys.DEFAULT_PARAMS)
    else:
        salt, params = credentials.salt, credentials.params
    return Prelogin(salt, params, challenge.id, challenge.challenge, int(CHALLENGE_TTL.total_seconds()))


async def _credentials(tx: Transaction, username: str) -> Credentials | None:
    try:
        member = await tx.members.by_email(Email.parse(username))
    except InvalidInput:
        return None
    if member is None or member.status is not MemberStatus.ACTIVE:
        return None
    return await tx.credentials.get(member.id)


async def login(
    store: Store,
    clock: Clock,
    server_key: bytes,
    *,
    origin: str,
    username: str,
    challenge_id: bytes,
    totp_code: str,
    proof: bytes,
    address: str,
    user_agent: str,
    limits: sessions.Limits = sessions.DEFAULT_LIMITS,
) -> SignedIn:
    username = _username(username)
    now = clock.now()
    keys_to_check = [throttle.account_key(username), throttle.address_key(address)]
    # One transaction, one commit: the challenge is consumed, the outcome recorded and the
    # session created together (the proof and TOTP checks are cheap; Argon2id ran on the client).
    async with store.transaction() as tx:
        await throttle.check(tx, keys_to_check, now)  # before any expensive work
        challenge = await tx.challenges.take(challenge_id, now) if len(challenge_id) == 16 else None
        member = await tx.members.by_email(Email.parse(username))
        credentials = await _credentials(tx, username)
        reason = _verify(server_key, origin, username, challenge, credentials, totp_code, proof)
        step: int | None = None
        if reason is None and credentials is not None:
            secret = open_at_rest(server_key, credentials.totp_sealed).decode("ascii")
            step = two_factor.verify(secret, totp_code, now, last_step=credentials.totp_last_step)
            reason = "totp" if step is None else None
        if reason is None and member is not None and step is not None:
            reason = None if await tx.credentials.set_totp_step(member.id, step) else "totp_replay"
        if reason is None and member is not None and credentials is not None:
            await throttle.clear_key(tx, throttle.account_key(username))
            await tx.audit.record(AuditEntry(now, member.id, "signin.success", member.id.value, {}))
            cookie, digest = await sessions.add_session(
                tx, clock, server_key, member.id, user_agent=user_agent, limits=limits
            )
            return SignedIn(member, cookie, sessions.csrf_token(server_key, digest), credentials)
        await _record_failure(tx, clock, server_key, keys_to_check, member, credentials, reason or "unknown")
    raise Unauthenticated(FAILED)


async def _record_failure(
    tx: Transaction,
    clock: Clock,
    server_key: bytes,
    keys_to_check: list[str],
    member: Member | None,
    credentials: Credentials | None,
    reason: str,
) -> None:
    now = clock.now()
    subject = member.id.value if member else None
    for key in keys_to_check:
        state = await throttle.fail(tx, key, now)
        first_block = state.failures == throttle.FREE_FAILURES[key.partition(":")[0]] + 1
        if state.blocked_until is not None and first_block:
            await tx.audit.record(AuditEntry(now, None, "signin.throttled", subject, {"key": key[:8]}))
            if member is not None and key.startswith("account:") and credentials is not None:
                await outbox.enqueue(
                    tx,
                    clock,
                    server_key,
                    to=member.email,
                    template="security.signin_failures",
                    language=member.language,
                    values={"name": member.name},
                )
    await tx.audit.record(AuditEntry(now, None, "signin.failure", subject, {"reason": reason}))


def _verify(
    server_key: bytes,
    origin: str,
    username: str,
    challenge: Challenge | None,
    credentials: Credentials | None,
    totp_code: str,
    proof: bytes,
) -> str | None:
    """Why the proof fails (for the audit log only), or None."""
    if challenge is None or challenge.username != username:
        return "challenge"
    try:
        transcript = keys.login_transcript(
            origin=origin,
            username=username,
            challenge_id=challenge.id,
            challenge=challenge.challenge,
            totp_code=totp_code,
        )
    except CryptoError:
        return "format"
    # An unknown user's proof is checked too, against a key derived for that name, so the
    # answer takes as long as for a member (the fake salt already hides who is one).
    auth_pk = credentials.auth_pk if credentials else keys.fake_auth_pk(server_key, username)
    if not keys.verify_login_proof(auth_pk, transcript, proof):
        return "password" if credentials else "unknown"
    return None if credentials else "unknown"

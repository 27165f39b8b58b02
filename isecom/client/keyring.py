"""Fetch and verify member keys like the browser does (docs/PROTOCOL.md §9.10).

A ``KeyRing`` pins the root key, remembers the last checkpoint it accepted and,
per member, the newest log entry it has seen and any key the user marked as
verified. Nothing the server says is used before it is checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from isecom.client.session import Client
from isecom.crypto import keytrans, khistory
from isecom.crypto.encoding import b64d
from isecom.crypto.errors import CryptoError


class KeyProblem(Exception):
    """A key cannot be used: ``reason`` is what to tell the user."""

    def __init__(self, reason: str, *, check: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check = check


_REASONS = {
    "proof": "The server's answer is not in its signed key log: it may be showing you a key nobody else sees.",
    "log": "The key log is not consistent with what this device saw before (a fork or a rollback).",
    "chain": "This key is not certified by the platform as belonging to this member.",
    "signature": "A signature in this member's key history is forged.",
    "revoked": "This member's key has been revoked.",
    "replay": "The server is showing an older state of this member's keys than this device has already seen.",
    "expired": "This member's approval has expired.",
    "changed": "This member's key changed since you verified it; compare safety numbers again before sending.",
    "pending": "This member's newest key is not in a signed checkpoint yet; try again in a few seconds.",
}


@dataclass
class KeyRing:
    root_pk: bytes
    origin: str
    checkpoint: keytrans.Checkpoint | None = None
    log_pk: bytes | None = None
    seen: dict[bytes, int] = field(default_factory=dict)
    verified: dict[bytes, bytes] = field(default_factory=dict)  # uid -> sig_pk the user compared

    def problem(self, check: str) -> KeyProblem:
        return KeyProblem(_REASONS.get(check, "This key cannot be verified."), check=check)

    async def lookup(self, client: Client, *, email: str | None = None, member_id: str | None = None) -> Any:
        path = f"/keys/v1/members/{member_id}" if member_id else f"/keys/v1/lookup?email={quote(email or '')}"
        return await client.get(path)

    async def fetch(
        self,
        client: Client,
        *,
        email: str | None = None,
        member_id: str | None = None,
        now: int | None = None,
        signed_at: int | None = None,
    ) -> khistory.Verified:
        """The member's verified current keys, or ``KeyProblem`` saying why they cannot be used.

        ``signed_at``: checking a signature made then (reading mail), so a revocation that
        takes effect later, or a membership that ended later, does not count against it.
        """
        answer = await self.lookup(client, email=email, member_id=member_id)
        return await self.verify(client, answer, now=now, signed_at=signed_at)

    async def verify(
        self, client: Client, answer: dict[str, Any], *, now: int | None = None, signed_at: int | None = None
    ) -> khistory.Verified:
        if answer.get("pending"):
            raise self.problem("pending")
        try:
            uid = bytes.fromhex(answer["member"]["id"])
            entries = [
                (int(e["index"]), b64d(e["leaf"]), [b64d(p, size=32) for p in e["proof"]]) for e in answer["entries"]
            ]
            verified, cp = khistory.verify_response(
                root_pk=self.root_pk,
                origin=self.origin,
                log_key=b64d(answer["log_key"]),
                checkpoint_obj=b64d(answer["checkpoint"]),
                uid=uid,
                entries=entries,
            )
            log_pk = keytrans.parse_log_key(b64d(answer["log_key"]), self.root_pk).log_pk
            if self.log_pk is not None and log_pk != self.log_pk:
                raise CryptoError("log")
            self.log_pk = log_pk
        except CryptoError as exc:
            raise self.problem(exc.check) from None
        except (KeyError, TypeError, ValueError):
            raise self.problem("format") from None
        await self.advance(client, cp)
        newest = max(index for index, _, _ in entries)
        if newest < self.seen.get(uid, -1):
            raise self.problem("replay")
        self.seen[uid] = newest
        at = signed_at if signed_at is not None else (int(time.time()) if now is None else now)
        if verified.revoked is not None and (signed_at is None or verified.revoked.effective <= signed_at):
            raise self.problem("revoked")
        if at > verified.approval.not_after:
            raise self.problem("expired")
        pinned = self.verified.get(uid)
        if pinned is not None and pinned != verified.keys.sig_pk:
            raise self.problem("changed")
        return verified

    async def advance(self, client: Client, cp: keytrans.Checkpoint) -> None:
        """Move the remembered checkpoint forward, only along a consistency proof."""
        old = self.checkpoint
        if old is not None and (old.size, old.root) != (cp.size, cp.root):
            if cp.size <= old.size:
                raise self.problem("log")
            answer = await client.get(f"/keys/v1/checkpoint?from={old.size}")
            proof = [b64d(p, size=32) for p in answer["consistency"]]
            try:
                latest = keytrans.parse_checkpoint(b64d(answer["checkpoint"]), self.log_pk or b"")
                if (latest.size, latest.root) != (cp.size, cp.root):
                    # The log moved on between the two requests: the proof is not about the
                    # checkpoint this answer was made against, so nothing is accepted; ask again.
                    raise self.problem("pending")
                khistory.check_progress(old, cp, proof)
            except CryptoError as exc:
                raise self.problem(exc.check) from None
        self.checkpoint = cp

    def mark_verified(self, verified: khistory.Verified) -> None:
        self.verified[verified.uid] = verified.keys.sig_pk

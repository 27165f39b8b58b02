"""The root key offline: what waits for its signature, and importing the signatures (§9.6.1)."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.crypto import keytrans
from isecom.crypto.errors import CryptoError
from isecom.errors import Conflict, InvalidInput
from isecom.services import keydir
from isecom.services.keydir import Authority
from isecom.services.ports import Clock, PendingItem, Store
from isecom.types import MemberId

# --- the root key offline: requests out, signatures in (isecom keys root …) ----------------


async def root_requests(store: Store) -> list[PendingItem]:
    """The bodies waiting for the root's signature, oldest first."""
    async with store.read() as tx:
        return [p for p in await tx.keylog.pending() if p.needs_root and p.signed is None]


@dataclass(frozen=True, slots=True)
class Imported:
    signed: int
    published: int  # groups appended to the log (a member's activation, a revocation, the log key)
    waiting: int  # groups still missing a signature


async def import_signatures(store: Store, clock: Clock, authority: Authority, signatures: dict[int, bytes]) -> Imported:
    """Attach root signatures (each checked against the pinned root key), then publish every complete group.

    All or nothing: one signature that does not verify refuses the whole file.
    """
    t = keydir.seconds(clock.now())
    async with store.transaction() as tx:
        by_id = {p.id: p for p in await tx.keylog.pending()}
        for item_id, signature in signatures.items():
            item = by_id.get(item_id)
            if item is None or not item.needs_root or item.signed is not None:
                raise InvalidInput(f"Request {item_id} is not waiting for the root's signature.", field="signatures")
            try:
                keytrans.check_signature(item.body + signature, authority.root_pk)
            except CryptoError:
                raise InvalidInput(
                    f"The signature for request {item_id} was not made by the platform root key (root.pub).",
                    field="signatures",
                ) from None
            await tx.keylog.set_signed(item_id, item.body + signature)
        groups: dict[str, list[PendingItem]] = {}
        for item in await tx.keylog.pending():
            groups.setdefault(item.group, []).append(item)
        published = 0
        for group, items in sorted(groups.items(), key=lambda g: (g[0] != keydir.LOGKEY_GROUP, g[1][0].id)):
            if any(i.needs_root and i.signed is None for i in items):
                continue
            if group != keydir.LOGKEY_GROUP and await tx.keylog.size() == 0:
                continue  # the log key certificate must come first
            appended: list[tuple[keytrans.Kind, int]] = []
            for item in items:
                obj = item.signed if item.needs_root and item.signed is not None else item.body
                kind = keytrans.Kind(item.kind)
                if kind is keytrans.Kind.LOGKEY:
                    if await tx.keylog.lock_size() != 0:
                        raise Conflict("The key log already has its log key certificate.")
                    await keydir.write_leaf(tx, 0, kind, bytes(16), obj, t, {})
                else:
                    appended.append(
                        (kind, await keydir.append_leaf(tx, authority, kind, bytes.fromhex(item.uid), obj, t))
                    )
            if group != keydir.LOGKEY_GROUP:
                await keydir.point_directory(tx, MemberId(group), appended)
            await tx.keylog.drop_group(group)
            published += 1
    return Imported(len(signatures), published, len(groups) - published)

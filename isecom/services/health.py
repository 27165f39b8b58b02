"""Liveness and readiness."""

from __future__ import annotations

from isecom.errors import Unavailable
from isecom.services.ports import BlobStore, Store


async def readiness(store: Store, blobs: BlobStore) -> dict[str, str]:
    """Each dependency's state; raises Unavailable naming the first that fails."""
    await store.ping()
    try:
        await blobs.check_writable()
    except Unavailable as exc:
        raise Unavailable("The blob store is not writable.", debug=exc.debug) from exc
    return {"database": "ok", "blobs": "ok"}

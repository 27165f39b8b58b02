"""The audit log's hash chain: each entry's hash covers the previous hash and the entry.

``hash_n = H256("ISEC-audit-v1" ‖ hash_{n-1} ‖ lp(seq) ‖ lp(at) ‖ lp(actor) ‖ lp(action) ‖
lp(subject) ‖ lp(detail))`` with ``hash_0 = 32 zero bytes``; ``at`` is ISO 8601 UTC with
microseconds, ``detail`` the JSON text as stored. Editing, inserting, deleting or reordering
any entry changes every later hash, which ``isecom audit verify`` recomputes.
"""

from __future__ import annotations

from datetime import datetime

from isecom.crypto.encoding import lp
from isecom.crypto.hashing import h256

GENESIS = bytes(32)


def entry_hash(
    prev: bytes, *, seq: int, at: datetime, actor: str | None, action: str, subject: str | None, detail: str
) -> bytes:
    fields = (str(seq), at.isoformat(timespec="microseconds"), actor or "", action, subject or "", detail)
    return h256(b"ISEC-audit-v1" + prev + b"".join(lp(f.encode("utf-8")) for f in fields))

"""The one error every opener raises: which check of docs/PROTOCOL.md §10 failed."""

from __future__ import annotations

from isecom.errors import IsecomError

CHECKS = frozenset(
    {
        "version",
        "format",
        "params",
        "recipient",
        "unwrap",
        "commitment",
        "decrypt",
        "padding",
        "sender_key",
        "signature",
        "payload",
        "manifest",
        "truncated",
        "sha256",
        "chain",
        "proof",
        "revoked",
        "log",
    }
)


class CryptoError(IsecomError):
    code = "crypto.invalid"
    default_message = "This encrypted object could not be opened: it is damaged, not for you, or forged."

    def __init__(self, check: str, *, debug: str | None = None) -> None:
        if check not in CHECKS:
            raise ValueError(f"unknown check {check!r}")
        super().__init__(debug=debug)
        self.check = check

    def __repr__(self) -> str:
        return f"CryptoError({self.check!r})"

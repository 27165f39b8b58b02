"""What the command-line client remembers between runs, in one JSON file (mode 0600).

The pinned root key, the ``KeyRing``'s state (the last checkpoint it accepted, the newest
log entry seen per member, the keys the user verified) and the session cookie. No key
material and no password: the keys are unwrapped again with the password on every run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isecom.client.keyring import KeyRing
from isecom.crypto import keytrans
from isecom.crypto.encoding import b64d, b64e
from isecom.crypto.errors import CryptoError

VERSION = 1


class StateError(Exception):
    """The state file cannot be used; the message says why."""


@dataclass
class State:
    path: Path
    origin: str
    email: str
    root_pk: bytes | None = None
    cookies: dict[str, str] = field(default_factory=dict, repr=False)
    ring: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, *, origin: str, email: str) -> State:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, origin, email.lower())
        except OSError as exc:
            raise StateError(f"cannot read the state file {path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != VERSION:
                raise ValueError
            root = data.get("root_key")
            state = cls(
                path,
                str(data["origin"]),
                str(data["email"]),
                bytes.fromhex(root) if root else None,
                dict(data.get("cookies", {})),
                dict(data.get("keyring", {})),
            )
        except (ValueError, KeyError, TypeError):
            raise StateError(f"the state file {path} is damaged; move it away to start again") from None
        if state.origin != origin or state.email != email.lower():
            raise StateError(
                f"the state file {path} belongs to {state.email} on {state.origin}; use another --state-file"
            )
        return state

    def save(self) -> None:
        data = {
            "v": VERSION,
            "origin": self.origin,
            "email": self.email,
            "root_key": self.root_pk.hex() if self.root_pk else None,
            "cookies": self.cookies,
            "keyring": self.ring,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(temp, self.path)

    def keyring(self, key_origin: str) -> KeyRing:
        """A ``KeyRing`` with the remembered checkpoint, seen entries and verified keys."""
        if self.root_pk is None:
            raise StateError("no root key is pinned yet")
        ring = KeyRing(root_pk=self.root_pk, origin=key_origin)
        saved = self.ring
        try:
            if saved.get("log_pk"):
                ring.log_pk = b64d(saved["log_pk"], size=32)
            if saved.get("checkpoint") and ring.log_pk:
                ring.checkpoint = keytrans.parse_checkpoint(b64d(saved["checkpoint"]), ring.log_pk)
            ring.seen = {bytes.fromhex(uid): int(n) for uid, n in saved.get("seen", {}).items()}
            ring.verified = {bytes.fromhex(uid): b64d(pk, size=32) for uid, pk in saved.get("verified", {}).items()}
        except (CryptoError, ValueError, TypeError, AttributeError):
            raise StateError(
                f"the key log state in {self.path} is damaged; move the file away to start again"
            ) from None
        return ring

    def remember(self, ring: KeyRing) -> None:
        self.ring = {
            "log_pk": b64e(ring.log_pk) if ring.log_pk else None,
            "checkpoint": b64e(ring.checkpoint.raw) if ring.checkpoint else None,
            "seen": {uid.hex(): n for uid, n in sorted(ring.seen.items())},
            "verified": {uid.hex(): b64e(pk) for uid, pk in sorted(ring.verified.items())},
        }


def default_path(totp_secret_file: Path | None, email: str) -> Path:
    """Next to the TOTP secret file, else in the user's configuration folder."""
    if totp_secret_file is not None:
        return totp_secret_file.with_name(totp_secret_file.name + ".state.json")
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "isecom" / f"{email.lower()}.state.json"

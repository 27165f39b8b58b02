"""Value types and readers shared by the configuration's sections (isecom/config.py): host:port,
secret files, paths relative to the data directory, and the plain type check of a key's value."""

from __future__ import annotations

import ipaddress
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isecom.errors import ConfigError

MIN_SECRET_CHARS = 32
# Values that appear in examples and documentation; never accepted as secrets.
_DEFAULT_SECRET_MARKERS = ("change-me", "changeme", "example", "secret", "password", "isecom")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def read_secret(key: str, path: Path) -> bytes:
    """Read a secret file; refuse missing, readable-by-others, short or default ones."""
    try:
        info = path.stat()
        value = path.read_bytes().strip()
    except FileNotFoundError:
        raise ConfigError(f"{key}: secret file {path} does not exist (run `isecom init`)") from None
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{key}: secret file {path} is readable by others (chmod 600)")
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(f"{key}: secret in {path} is too short (at least {MIN_SECRET_CHARS} characters)")
    lowered = value.lower()
    if any(marker.encode() in lowered for marker in _DEFAULT_SECRET_MARKERS) or len(set(value)) < 8:
        raise ConfigError(f"{key}: secret in {path} is a default or example value; generate a random one")
    return value


def parse_host_port(key: str, text: str) -> HostPort:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: expected HOST:PORT, got {text!r}")
    return HostPort(host.strip("[]"), int(port))


def resolve_path(data_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else data_dir / path


def read_secret_text(key: str, path: Path) -> str:
    """A secret that is not a key (a URL with a password): must exist and be private."""
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{key}: secret file {path} is readable by others (chmod 600)")
    if not text:
        raise ConfigError(f"{key}: {path} is empty")
    return text


def check_type(key: str, kind: type, value: Any) -> Any:
    """``value`` if it is a ``kind`` (a bool is not an int; a list holds strings), else ``ConfigError``."""
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is list and ok:
        ok = all(isinstance(item, str) for item in value)
    if not ok:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value

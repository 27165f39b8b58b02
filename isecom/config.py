"""Frozen configuration: a TOML file in the data directory, then ``ISECOM_*``.

Every key lives in a ``[section]`` of ``DATA/isecom.toml``; the environment
variable ``ISECOM_<SECTION>_<KEY>`` (upper case) overrides it. Secrets are
never values in the file or the environment: only *paths* to files (``*_file``
keys). Start-up fails closed on a missing, short or default secret and names
the key. ``Config.describe()`` is what ``isecom serve`` logs: no secrets.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from isecom.config_deploy import MetricsSettings, ObjectStore, metrics_settings, object_store
from isecom.config_smtp import SenderRule, SmtpSettings, check_tls_files, smtp_settings
from isecom.config_values import (
    HostPort,
    Network,
    check_type,
    parse_host_port,
    read_secret,
    read_secret_text,
    resolve_path,
)
from isecom.errors import ConfigError
from isecom.types import Email, Language

# Re-exported: the sections' types are part of this module's interface.
__all__ = [
    "CONFIG_NAME",
    "Config",
    "HostPort",
    "MetricsSettings",
    "ObjectStore",
    "SenderRule",
    "SmtpSettings",
    "check_tls_files",
    "load",
    "parse_host_port",
    "read_secret",
    "read_secret_text",
    "redact_url",
]

CONFIG_NAME = "isecom.toml"
GIB = 1024**3
MAX_FILE_LIMIT = 1 << 40  # docs/PROTOCOL.md §8.4: 0 ≤ size ≤ 2⁴⁰

# section -> key -> (type, default). A default of None means "derived".
_SCHEMA: dict[str, dict[str, tuple[type, Any]]] = {
    "server": {
        "public_url": (str, "http://127.0.0.1:8080"),
        "http": (str, "127.0.0.1:8080"),
        "smtp": (str, "127.0.0.1:2525"),
        "max_request_bytes": (int, 8 * 1024 * 1024),
        "trusted_proxies": (list, []),  # reverse proxies whose X-Real-IP names the client (deploy/nginx)
    },
    "database": {"url": (str, "sqlite:///isecom.db"), "url_file": (str, "")},
    "blobs": {
        "path": (str, "blobs"),
        "backend": (str, "files"),  # or "s3": an S3-compatible object store (docs/operations.md)
        "s3_endpoint": (str, ""),
        "s3_bucket": (str, ""),
        "s3_region": (str, "us-east-1"),
        "s3_prefix": (str, ""),
        "s3_addressing": (str, "path"),
        "s3_access_key_file": (str, ""),
        "s3_secret_key_file": (str, ""),
    },
    "metrics": {"listen": (str, ""), "token_file": (str, "")},
    "mail": {"domains": (list, ["isecom.example"])},
    "secrets": {"server_key_file": (str, "secrets/server.key"), "root_key_file": (str, "secrets/root.key")},
    "keys": {"root_public_file": (str, "root.pub"), "checkpoint_seconds": (int, 5)},
    "log": {"format": (str, "plain"), "level": (str, "INFO")},
    "i18n": {"default_language": (str, "en")},
    "sessions": {"idle_minutes": (int, 30), "absolute_hours": (int, 12)},
    "outbound": {"relay": (str, ""), "sender": (str, "isecom <no-reply@isecom.example>"), "require_tls": (bool, False)},
    "files": {"max_file_bytes": (int, 20 * GIB), "quota_bytes": (int, 100 * GIB), "abandon_hours": (int, 24)},
    "library": {"max_document_bytes": (int, 50 * 1024 * 1024)},  # knowledge-library uploads
    "notify": {"interval_minutes": (int, 15), "digest_hour": (int, 7)},
    "smtp": {
        "tls_cert_file": (str, ""),
        "tls_key_file": (str, ""),
        "require_tls": (bool, None),  # None: true when server.public_url is https (production)
        "max_message_bytes": (int, 50 * 1024 * 1024),
        "max_recipients": (int, 100),
        "max_line_bytes": (int, 1001),
        "idle_timeout_seconds": (int, 300),
    },
}
# Tables below a section that are not plain keys: [smtp.senders.CC], one per member country.
_SUBTABLES = {"smtp": "senders"}


@dataclass(frozen=True)
class Config:
    data_dir: Path
    public_url: str
    http: HostPort
    smtp: HostPort
    max_request_bytes: int
    database_url: str
    blob_dir: Path
    mail_domains: tuple[str, ...]
    log_format: str
    log_level: str
    default_language: Language
    session_idle: timedelta
    session_absolute: timedelta
    outbound_relay: HostPort | None  # None: mail goes to the sink folder DATA/mail-sink
    outbound_sender: str
    outbound_require_tls: bool
    server_key: bytes = field(repr=False)
    root_pk: bytes = b""  # the platform root's public key (public, from DATA/root.pub)
    root_seed: bytes | None = field(default=None, repr=False)  # None: the root key lives elsewhere
    checkpoint_interval: timedelta = timedelta(seconds=5)
    max_file_bytes: int = 20 * GIB  # largest evidence file (plaintext bytes)
    quota_bytes: int = 100 * GIB  # per member: the declared size of every file they uploaded
    library_max_bytes: int = 50 * 1024 * 1024  # largest knowledge-library document (read whole, then stored)
    abandon_after: timedelta = timedelta(hours=24)  # an upload never committed is then swept
    inbound: SmtpSettings = field(default_factory=SmtpSettings)  # the SMTP gateway's [smtp] section
    object_store: ObjectStore | None = None  # [blobs] backend = "s3"; None: files under blob_dir
    metrics: MetricsSettings | None = None  # [metrics] listen; None: no metrics endpoint
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Real-IP header is the client's address
    notify_interval: timedelta = timedelta(minutes=15)  # at most one new-mail notice per member per interval
    notify_digest_hour: int = 7  # UTC hour of the daily digest notice

    @property
    def mail_sink(self) -> Path:
        return self.data_dir / "mail-sink"

    @property
    def uses_tls(self) -> bool:
        return self.public_url.startswith("https://")

    def describe(self) -> dict[str, str]:
        """The effective configuration, safe to log (no secrets, no DB password)."""
        return {
            "data_dir": str(self.data_dir),
            "public_url": self.public_url,
            "http": str(self.http),
            "smtp": str(self.smtp),
            "max_request_bytes": str(self.max_request_bytes),
            "database": redact_url(self.database_url),
            "blobs": str(self.object_store) if self.object_store else str(self.blob_dir),
            "metrics": str(self.metrics) if self.metrics else "off",
            "mail_domains": ",".join(self.mail_domains),
            "log": f"{self.log_format}/{self.log_level}",
            "default_language": self.default_language.value,
            "sessions": f"idle {self.session_idle}, absolute {self.session_absolute}",
            "outbound": str(self.outbound_relay) if self.outbound_relay else f"sink {self.mail_sink}",
            "server_key": "<from file>",
            "root_key": "on this machine" if self.root_seed else "offline",
            "checkpoint_interval": str(self.checkpoint_interval),
            "files": f"max {self.max_file_bytes} bytes per file, quota {self.quota_bytes} bytes per member",
            "smtp_tls": ("required" if self.inbound.require_tls else "offered") if self.inbound.tls else "off",
            "smtp_limits": (
                f"{self.inbound.max_message_bytes} bytes, {self.inbound.max_recipients} recipients, "
                f"lines {self.inbound.max_line_bytes}, idle {self.inbound.idle_timeout_seconds}s"
            ),
            "smtp_senders": ",".join(str(rule.country) for rule in self.inbound.senders) or "none",
            "trusted_proxies": ",".join(str(net) for net in self.trusted_proxies) or "none",
        }


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def load(
    data_dir: Path, env: Mapping[str, str] | None = None, *, require_secrets: bool = True, smtp_files: bool = True
) -> Config:
    """Read ``DATA/isecom.toml`` and the environment; raise ConfigError naming the key.

    ``smtp_files=False`` (an HTTP-only process) skips reading the SMTP TLS certificate and key,
    which only the process serving SMTP needs; the settings are still validated."""
    env = os.environ if env is None else env
    data_dir = data_dir.resolve()
    path = data_dir / CONFIG_NAME
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    subtables = _split_subtables(raw)
    values = _merge(raw, env)
    http = parse_host_port("server.http", values["server"]["http"])
    smtp = parse_host_port("server.smtp", values["server"]["smtp"])
    public_url = values["server"]["public_url"].rstrip("/")
    if urlsplit(public_url).scheme not in ("http", "https") or not urlsplit(public_url).netloc:
        raise ConfigError(f"server.public_url: expected http(s)://host[:port], got {public_url!r}")
    max_request = values["server"]["max_request_bytes"]
    if not 1024 <= max_request <= 1024**3:
        raise ConfigError("server.max_request_bytes: must be between 1024 and 1073741824")
    language = values["i18n"]["default_language"]
    if language not in {lang.value for lang in Language}:
        raise ConfigError(f"i18n.default_language: one of en, fr, es, ar, got {language!r}")
    log_format = values["log"]["format"]
    if log_format not in ("plain", "json"):
        raise ConfigError(f"log.format: 'plain' or 'json', got {log_format!r}")
    log_level = str(values["log"]["level"]).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log.level: DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    domains = []
    for item in values["mail"]["domains"]:
        try:
            domains.append(Email.parse(f"postmaster@{item}").domain)
        except Exception:
            raise ConfigError(f"mail.domains: {item!r} is not a domain name") from None
    if not domains:
        raise ConfigError("mail.domains: at least one domain is required")
    idle, absolute = values["sessions"]["idle_minutes"], values["sessions"]["absolute_hours"]
    if not 1 <= idle <= 24 * 60:
        raise ConfigError("sessions.idle_minutes: between 1 and 1440")
    if not 1 <= absolute <= 24 * 7:
        raise ConfigError("sessions.absolute_hours: between 1 and 168")
    relay_text = values["outbound"]["relay"]
    relay = parse_host_port("outbound.relay", relay_text) if relay_text else None
    sender = values["outbound"]["sender"]
    if "@" not in sender or any(c in sender for c in "\r\n"):
        raise ConfigError(f"outbound.sender: expected an address like 'isecom <no-reply@example.org>', got {sender!r}")
    key_file = resolve_path(data_dir, values["secrets"]["server_key_file"])
    server_key = read_secret("secrets.server_key_file", key_file) if require_secrets else b""
    root_pk, root_seed = _root_key(data_dir, values, require_secrets)
    interval = values["keys"]["checkpoint_seconds"]
    if not 1 <= interval <= 24 * 3600:
        raise ConfigError("keys.checkpoint_seconds: between 1 and 86400")
    max_file, quota = values["files"]["max_file_bytes"], values["files"]["quota_bytes"]
    if not 0 < max_file <= MAX_FILE_LIMIT:
        raise ConfigError(f"files.max_file_bytes: between 1 and {MAX_FILE_LIMIT}")
    if not 0 <= quota <= 1 << 60:
        raise ConfigError(f"files.quota_bytes: between 0 and {1 << 60}")
    abandon_hours = values["files"]["abandon_hours"]
    if not 1 <= abandon_hours <= 24 * 365:
        raise ConfigError("files.abandon_hours: between 1 and 8760")
    return Config(
        data_dir=data_dir,
        public_url=public_url,
        http=http,
        smtp=smtp,
        max_request_bytes=max_request,
        database_url=_database_url(data_dir, values["database"]),
        blob_dir=resolve_path(data_dir, values["blobs"]["path"]),
        mail_domains=tuple(domains),
        log_format=log_format,
        log_level=log_level,
        default_language=Language(language),
        session_idle=timedelta(minutes=idle),
        session_absolute=timedelta(hours=absolute),
        outbound_relay=relay,
        outbound_sender=sender,
        outbound_require_tls=values["outbound"]["require_tls"],
        server_key=server_key,
        root_pk=root_pk,
        root_seed=root_seed,
        checkpoint_interval=timedelta(seconds=interval),
        max_file_bytes=max_file,
        quota_bytes=quota,
        library_max_bytes=_library_max(values["library"]["max_document_bytes"]),
        abandon_after=timedelta(hours=abandon_hours),
        inbound=smtp_settings(
            data_dir,
            values["smtp"],
            subtables["senders"],
            production=public_url.startswith("https://"),
            require=require_secrets and smtp_files,
        ),
        trusted_proxies=tuple(_proxy_network(item) for item in values["server"]["trusted_proxies"]),
        object_store=object_store(data_dir, values["blobs"], require_secrets),
        metrics=metrics_settings(data_dir, values["metrics"], require_secrets),
        notify_interval=timedelta(
            minutes=_between("notify.interval_minutes", values["notify"]["interval_minutes"], 1, 1440)
        ),
        notify_digest_hour=_between("notify.digest_hour", values["notify"]["digest_hour"], 0, 23),
    )


def _between(key: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ConfigError(f"{key}: between {low} and {high}")
    return value


def _proxy_network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(
            f"server.trusted_proxies: {text!r} is not an IP address or network (e.g. 127.0.0.1)"
        ) from None


def _root_key(data_dir: Path, values: dict[str, Any], require: bool) -> tuple[bytes, bytes | None]:
    """The root's public key (required) and, when it lives on this machine, its seed."""
    pub_file = resolve_path(data_dir, values["keys"]["root_public_file"])
    try:
        pub_text = pub_file.read_text(encoding="ascii").strip()
        root_pk = bytes.fromhex(pub_text)
    except FileNotFoundError:
        if not require:
            return b"", None
        raise ConfigError(f"keys.root_public_file: {pub_file} does not exist (run `isecom init`)") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise ConfigError(f"keys.root_public_file: {pub_file} must hold 64 hexadecimal digits") from None
    if len(root_pk) != 32:
        raise ConfigError(f"keys.root_public_file: {pub_file} must hold 64 hexadecimal digits")
    seed_file = resolve_path(data_dir, values["secrets"]["root_key_file"])
    if not require or not seed_file.exists():
        return root_pk, None
    try:
        seed = bytes.fromhex(read_secret("secrets.root_key_file", seed_file).decode("ascii"))
    except ValueError:
        raise ConfigError(f"secrets.root_key_file: {seed_file} must hold 64 hexadecimal digits") from None
    if len(seed) != 32:
        raise ConfigError(f"secrets.root_key_file: {seed_file} must hold 64 hexadecimal digits")
    return root_pk, seed


def _split_subtables(raw: dict[str, Any]) -> dict[str, Any]:
    """Take the nested tables (``[smtp.senders.*]``) out of ``raw`` before the flat merge."""
    found: dict[str, Any] = {}
    for section, name in _SUBTABLES.items():
        given = raw.get(section)
        found[name] = given.pop(name, {}) if isinstance(given, dict) else {}
        if not isinstance(found[name], dict):
            raise ConfigError(f"{section}.{name}: expected tables like [{section}.{name}.FR]")
    return found


def _merge(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    unknown = set(raw) - set(_SCHEMA)
    if unknown:
        raise ConfigError(f"unknown section [{sorted(unknown)[0]}] in {CONFIG_NAME}")
    merged: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{section}: expected a [section] table")
        for name in set(given) - set(keys):
            raise ConfigError(f"{section}.{name}: unknown key")
        merged[section] = {}
        for name, (kind, default) in keys.items():
            env_name = f"ISECOM_{section}_{name}".upper()
            if env_name in env:
                value: Any = _from_env(f"{section}.{name}", kind, env[env_name])
            else:
                value = given.get(name, default)
            merged[section][name] = _check_type(f"{section}.{name}", kind, value)
    return merged


def _from_env(key: str, kind: type, text: str) -> Any:
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{key}: expected a whole number, got {text!r}") from None
    if kind is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _check_type(key: str, kind: type, value: Any) -> Any:
    if value is None and _derived(key):
        return None
    return check_type(key, kind, value)


def _derived(key: str) -> bool:
    """A key whose default is None: left unset, its value is worked out from others."""
    section, _, name = key.partition(".")
    return section in _SCHEMA and _SCHEMA[section].get(name, (None, 0))[1] is None


def _database_url(data_dir: Path, section: dict[str, Any]) -> str:
    url: str = section["url"]
    if section["url_file"]:
        url = read_secret_text("database.url_file", resolve_path(data_dir, section["url_file"]))
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"database.url: expected sqlite:///FILE or postgresql://..., got {redact_url(url)!r}")
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        file = rest[1:] if rest.startswith("/") else rest
        if not file:
            raise ConfigError("database.url: a SQLite URL needs a file name")
        return f"sqlite+aiosqlite:///{resolve_path(data_dir, file)}"
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"database.url: unsupported database {scheme!r} (sqlite or postgresql)")


def _library_max(value: int) -> int:
    """library.max_document_bytes: an upload is held in memory while its text is extracted."""
    if not 0 < value <= 1024 * 1024 * 1024:
        raise ConfigError("library.max_document_bytes: between 1 and 1073741824")
    return value

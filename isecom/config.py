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
import re
import ssl
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from isecom.errors import ConfigError
from isecom.types import Country, Email, Language

CONFIG_NAME = "isecom.toml"
GIB = 1024**3
MAX_FILE_LIMIT = 1 << 40  # docs/PROTOCOL.md §8.4: 0 ≤ size ≤ 2⁴⁰
MIN_SECRET_CHARS = 32
# Values that appear in examples and documentation; never accepted as secrets.
_DEFAULT_SECRET_MARKERS = ("change-me", "changeme", "example", "secret", "password", "isecom")

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
_SENDER_KEYS = frozenset({"domains", "relays", "auth_user", "auth_secret_file"})
_MIN_PREFIX = {4: 8, 6: 16}  # a relay network wider than this is the open internet, not a relay

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class SenderRule:
    """Who may send mail in over SMTP for the members of one country.

    A sender is accepted for this country when its envelope domain is in
    ``domains`` *and* the connection comes from one of ``relays`` or signed in
    (SMTP AUTH, over TLS) as ``auth_user``.
    """

    country: Country
    domains: frozenset[str]
    relays: tuple[Network, ...] = ()
    auth_user: str | None = None
    auth_secret: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class SmtpSettings:
    """The inbound gateway's transport and policy settings (section ``[smtp]``)."""

    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    require_tls: bool = False
    max_message_bytes: int = 50 * 1024 * 1024
    max_recipients: int = 100
    max_line_bytes: int = 1001
    idle_timeout_seconds: int = 300
    senders: tuple[SenderRule, ...] = ()

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None


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
    key_file = _resolve(data_dir, values["secrets"]["server_key_file"])
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
        blob_dir=_resolve(data_dir, values["blobs"]["path"]),
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
        inbound=_smtp_settings(
            data_dir,
            values["smtp"],
            subtables["senders"],
            production=public_url.startswith("https://"),
            require=require_secrets and smtp_files,
        ),
        trusted_proxies=tuple(_proxy_network(item) for item in values["server"]["trusted_proxies"]),
        object_store=_object_store(data_dir, values["blobs"], require_secrets),
        metrics=_metrics(data_dir, values["metrics"], require_secrets),
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
    pub_file = _resolve(data_dir, values["keys"]["root_public_file"])
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
    seed_file = _resolve(data_dir, values["secrets"]["root_key_file"])
    if not require or not seed_file.exists():
        return root_pk, None
    try:
        seed = bytes.fromhex(read_secret("secrets.root_key_file", seed_file).decode("ascii"))
    except ValueError:
        raise ConfigError(f"secrets.root_key_file: {seed_file} must hold 64 hexadecimal digits") from None
    if len(seed) != 32:
        raise ConfigError(f"secrets.root_key_file: {seed_file} must hold 64 hexadecimal digits")
    return root_pk, seed


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


def _split_subtables(raw: dict[str, Any]) -> dict[str, Any]:
    """Take the nested tables (``[smtp.senders.*]``) out of ``raw`` before the flat merge."""
    found: dict[str, Any] = {}
    for section, name in _SUBTABLES.items():
        given = raw.get(section)
        found[name] = given.pop(name, {}) if isinstance(given, dict) else {}
        if not isinstance(found[name], dict):
            raise ConfigError(f"{section}.{name}: expected tables like [{section}.{name}.FR]")
    return found


def _smtp_settings(
    data_dir: Path, section: dict[str, Any], senders: dict[str, Any], *, production: bool, require: bool
) -> SmtpSettings:
    require_tls = section["require_tls"]
    if require_tls is None:
        require_tls = production
    elif production and not require_tls:
        raise ConfigError("smtp.require_tls: cannot be false when server.public_url is https (production)")
    cert_text, key_text = section["tls_cert_file"], section["tls_key_file"]
    if bool(cert_text) != bool(key_text):
        missing = "smtp.tls_key_file" if cert_text else "smtp.tls_cert_file"
        raise ConfigError(f"{missing}: smtp.tls_cert_file and smtp.tls_key_file go together")
    if require_tls and not cert_text:
        raise ConfigError("smtp.tls_cert_file: required when smtp.require_tls is true (and in production)")
    cert = _resolve(data_dir, cert_text) if cert_text else None
    key = _resolve(data_dir, key_text) if key_text else None
    if cert is not None and key is not None and require:
        check_tls_files(cert, key)
    limits = {
        "max_message_bytes": (1024, 1024**3),
        "max_recipients": (1, 1000),
        "max_line_bytes": (1001, 65536),
        "idle_timeout_seconds": (10, 3600),
    }
    for name, (low, high) in limits.items():
        if not low <= section[name] <= high:
            raise ConfigError(f"smtp.{name}: between {low} and {high}")
    return SmtpSettings(
        tls_cert_file=cert,
        tls_key_file=key,
        require_tls=require_tls,
        max_message_bytes=section["max_message_bytes"],
        max_recipients=section["max_recipients"],
        max_line_bytes=section["max_line_bytes"],
        idle_timeout_seconds=section["idle_timeout_seconds"],
        senders=_sender_rules(data_dir, senders, require),
    )


def check_tls_files(cert: Path, key: Path) -> None:
    """The certificate chain and its private key must load together; the key must be private."""
    for name, path in (("smtp.tls_cert_file", cert), ("smtp.tls_key_file", key)):
        try:
            info = path.stat()
            with path.open("rb"):
                pass
        except OSError as exc:
            raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
        if name == "smtp.tls_key_file" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{name}: private key file {path} is readable by others (chmod 600)")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError:
        raise ConfigError(
            f"smtp.tls_key_file: {key} and smtp.tls_cert_file {cert} are not a PEM certificate and its key"
        ) from None


def _sender_rules(data_dir: Path, senders: dict[str, Any], require: bool) -> tuple[SenderRule, ...]:
    rules: list[SenderRule] = []
    users: set[str] = set()
    for code, table in senders.items():
        key = f"smtp.senders.{code}"
        try:
            country = Country.parse(code, field=key)
        except Exception:
            raise ConfigError(f"{key}: {code!r} is not an ISO 3166 country code (e.g. FR)") from None
        if code != country.code:
            raise ConfigError(f"{key}: write the country code in capitals ({country.code})")
        if not isinstance(table, dict):
            raise ConfigError(f"{key}: expected a table with domains and relays")
        for name in set(table) - _SENDER_KEYS:
            raise ConfigError(f"{key}.{name}: unknown key")
        domains = _check_type(f"{key}.domains", list, table.get("domains", []))
        relays = _check_type(f"{key}.relays", list, table.get("relays", []))
        user = _check_type(f"{key}.auth_user", str, table.get("auth_user", ""))
        secret_file = _check_type(f"{key}.auth_secret_file", str, table.get("auth_secret_file", ""))
        parsed_domains = set()
        for item in domains:
            try:
                parsed_domains.add(Email.parse(f"postmaster@{item}").domain)
            except Exception:
                raise ConfigError(f"{key}.domains: {item!r} is not a domain name") from None
        if not parsed_domains:
            raise ConfigError(f"{key}.domains: at least one agency mail domain is required")
        networks = tuple(_relay_network(f"{key}.relays", item) for item in relays)
        if bool(user) != bool(secret_file):
            raise ConfigError(f"{key}.auth_secret_file: auth_user and auth_secret_file go together")
        if user and (not user.isprintable() or " " in user or len(user) > 64):
            raise ConfigError(f"{key}.auth_user: up to 64 printable characters without spaces")
        if user in users:
            raise ConfigError(f"{key}.auth_user: {user!r} is already used by another country")
        if not networks and not user:
            raise ConfigError(f"{key}: needs relays or auth_user, or it admits no one")
        secret = b""
        if user:
            users.add(user)
            if require:
                secret = read_secret(f"{key}.auth_secret_file", _resolve(data_dir, secret_file))
        rules.append(SenderRule(country, frozenset(parsed_domains), networks, user or None, secret))
    return tuple(rules)


def _relay_network(key: str, text: str) -> Network:
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(f"{key}: {text!r} is not an IP address or network (e.g. 192.0.2.0/24)") from None
    if network.prefixlen < _MIN_PREFIX[network.version]:
        raise ConfigError(f"{key}: {text} is too wide to be an agency relay")
    return network


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
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is list and ok:
        ok = all(isinstance(item, str) for item in value)
    if not ok:
        raise ConfigError(f"{key}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _derived(key: str) -> bool:
    """A key whose default is None: left unset, its value is worked out from others."""
    section, _, name = key.partition(".")
    return section in _SCHEMA and _SCHEMA[section].get(name, (None, 0))[1] is None


def parse_host_port(key: str, text: str) -> HostPort:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{key}: expected HOST:PORT, got {text!r}")
    return HostPort(host.strip("[]"), int(port))


def _resolve(data_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else data_dir / path


def _database_url(data_dir: Path, section: dict[str, Any]) -> str:
    url: str = section["url"]
    if section["url_file"]:
        url = read_secret_text("database.url_file", _resolve(data_dir, section["url_file"]))
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"database.url: expected sqlite:///FILE or postgresql://..., got {redact_url(url)!r}")
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        file = rest[1:] if rest.startswith("/") else rest
        if not file:
            raise ConfigError("database.url: a SQLite URL needs a file name")
        return f"sqlite+aiosqlite:///{_resolve(data_dir, file)}"
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"database.url: unsupported database {scheme!r} (sqlite or postgresql)")


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


# --- [blobs] backend = "s3" and [metrics] (docs/operations.md) ------------------------------------


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible bucket for the blobs. Empty keys: botocore's own chain (env, instance role)."""

    bucket: str
    endpoint: str = ""  # empty: AWS's endpoint for the region
    region: str = "us-east-1"
    prefix: str = ""
    addressing: str = "path"  # "path" (MinIO, Ceph RGW, Garage) or "virtual" (AWS)
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"s3 {self.endpoint or 'aws'}/{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class MetricsSettings:
    """The Prometheus endpoint: its own listener, never on the public port."""

    listen: HostPort
    token: bytes = field(default=b"", repr=False)  # empty: loopback only, no token

    def __str__(self) -> str:
        return f"http://{self.listen}/metrics" + (" (bearer token)" if self.token else " (loopback)")


_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _object_store(data_dir: Path, section: dict[str, Any], require: bool) -> ObjectStore | None:
    backend = section["backend"]
    if backend == "files":
        return None
    if backend != "s3":
        raise ConfigError(f"blobs.backend: 'files' or 's3', got {backend!r}")
    bucket, endpoint, prefix = section["s3_bucket"], section["s3_endpoint"], section["s3_prefix"]
    if not _BUCKET_RE.fullmatch(bucket):
        raise ConfigError(f"blobs.s3_bucket: 3-63 lower-case letters, digits, dots and hyphens, got {bucket!r}")
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc):
        raise ConfigError(f"blobs.s3_endpoint: expected https://host[:port], got {endpoint!r}")
    if prefix and not re.fullmatch(r"[A-Za-z0-9._/-]{1,200}/", prefix):
        raise ConfigError(f"blobs.s3_prefix: letters, digits, . _ - / ending with '/', got {prefix!r}")
    if section["s3_addressing"] not in ("path", "virtual"):
        raise ConfigError(f"blobs.s3_addressing: 'path' or 'virtual', got {section['s3_addressing']!r}")
    key_file, secret_file = section["s3_access_key_file"], section["s3_secret_key_file"]
    if bool(key_file) != bool(secret_file):
        raise ConfigError("blobs.s3_secret_key_file: s3_access_key_file and s3_secret_key_file go together")
    access = secret = ""
    if key_file and require:
        access = read_secret_text("blobs.s3_access_key_file", _resolve(data_dir, key_file))
        secret = read_secret_text("blobs.s3_secret_key_file", _resolve(data_dir, secret_file))
    return ObjectStore(bucket, endpoint, section["s3_region"], prefix, section["s3_addressing"], access, secret)


def _metrics(data_dir: Path, section: dict[str, Any], require: bool) -> MetricsSettings | None:
    if not section["listen"]:
        if section["token_file"]:
            raise ConfigError("metrics.token_file: set metrics.listen too, or remove it")
        return None
    listen = parse_host_port("metrics.listen", section["listen"])
    token = b""
    if section["token_file"] and require:
        token = read_secret("metrics.token_file", _resolve(data_dir, section["token_file"]))
    if not token and not section["token_file"]:
        try:
            loopback = ipaddress.ip_address(listen.host).is_loopback
        except ValueError:
            loopback = listen.host == "localhost"
        if not loopback:
            raise ConfigError(
                f"metrics.listen: {listen} is not a loopback address; set metrics.token_file to serve it there"
            )
    return MetricsSettings(listen, token)


def _library_max(value: int) -> int:
    """library.max_document_bytes: an upload is held in memory while its text is extracted."""
    if not 0 < value <= 1024 * 1024 * 1024:
        raise ConfigError("library.max_document_bytes: between 1 and 1073741824")
    return value

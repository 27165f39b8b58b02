"""The SMTP gateway's settings (section ``[smtp]`` and its ``[smtp.senders.CC]`` tables).

Part of the configuration (isecom/config.py loads them): TLS files, limits, and which agency
mail servers may send in for the members of each country.
"""

from __future__ import annotations

import ipaddress
import ssl
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from isecom.config_values import Network, check_type, read_secret, resolve_path
from isecom.errors import ConfigError
from isecom.types import Country, Email

_SENDER_KEYS = frozenset({"domains", "relays", "auth_user", "auth_secret_file"})
_MIN_PREFIX = {4: 8, 6: 16}  # a relay network wider than this is the open internet, not a relay


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


def smtp_settings(
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
    cert = resolve_path(data_dir, cert_text) if cert_text else None
    key = resolve_path(data_dir, key_text) if key_text else None
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
        domains = check_type(f"{key}.domains", list, table.get("domains", []))
        relays = check_type(f"{key}.relays", list, table.get("relays", []))
        user = check_type(f"{key}.auth_user", str, table.get("auth_user", ""))
        secret_file = check_type(f"{key}.auth_secret_file", str, table.get("auth_secret_file", ""))
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
                secret = read_secret(f"{key}.auth_secret_file", resolve_path(data_dir, secret_file))
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

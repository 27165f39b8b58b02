"""The [smtp] section: TLS files, limits and the per-country sender allowlist."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import pytest
import trustme

from isecom import config
from isecom.errors import ConfigError


def write(data_dir: Path, toml: str) -> None:
    (data_dir / "isecom.toml").write_text(toml)


def tls_files(data_dir: Path) -> tuple[Path, Path]:
    cert = trustme.CA().issue_cert("mx.isecom.example")
    cert_file, key_file = data_dir / "smtp.crt", data_dir / "smtp.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    key_file.touch(mode=0o600)
    cert.private_key_pem.write_to_path(str(key_file))
    return cert_file, key_file


def secret_file(data_dir: Path, name: str = "smtp-ke.secret", mode: int = 0o600) -> Path:
    path = data_dir / "secrets" / name
    path.write_text(secrets.token_hex(24) + "\n")
    path.chmod(mode)
    return path


def test_a_fresh_instance_has_development_defaults(data_dir: Path) -> None:
    smtp = config.load(data_dir, env={}).inbound
    assert not smtp.tls and not smtp.require_tls
    assert (smtp.max_message_bytes, smtp.max_recipients, smtp.max_line_bytes) == (50 * 1024 * 1024, 100, 1001)
    assert smtp.idle_timeout_seconds == 300
    # The template admits only the demo's fictional relay on this machine.
    [rule] = smtp.senders
    assert str(rule.country) == "FR" and rule.domains == {"agency-relay.example"}
    assert rule.relays == (ipaddress.ip_network("127.0.0.1/32"),) and rule.auth_user is None


def test_sender_rules_with_relays_and_auth(data_dir: Path) -> None:
    secret_file(data_dir)
    write(
        data_dir,
        """
[smtp.senders.FR]
domains = ["Interieur.Gouv.FR", "justice.example"]
relays = ["192.0.2.0/24", "2001:db8::/32"]

[smtp.senders.KE]
domains = ["eacc.example"]
auth_user = "ke-relay"
auth_secret_file = "secrets/smtp-ke.secret"
""",
    )
    cfg = config.load(data_dir, env={})
    fr, ke = cfg.inbound.senders
    assert fr.domains == {"interieur.gouv.fr", "justice.example"}
    assert [str(n) for n in fr.relays] == ["192.0.2.0/24", "2001:db8::/32"]
    assert ke.auth_user == "ke-relay" and len(ke.auth_secret) == 48
    assert ke.auth_secret.decode() not in repr(ke)
    described = str(cfg.describe())
    assert ke.auth_secret.decode() not in described and "FR,KE" in described


def test_tls_files_are_loaded_and_checked(data_dir: Path) -> None:
    cert, key = tls_files(data_dir)
    write(data_dir, f'[smtp]\ntls_cert_file = "{cert.name}"\ntls_key_file = "{key.name}"\nrequire_tls = true\n')
    smtp = config.load(data_dir, env={}).inbound
    assert smtp.tls_cert_file == cert and smtp.require_tls


def test_production_requires_tls(data_dir: Path) -> None:
    write(data_dir, '[server]\npublic_url = "https://isecom.example"\n')
    with pytest.raises(ConfigError, match=r"smtp\.tls_cert_file: required"):
        config.load(data_dir, env={})
    cert, key = tls_files(data_dir)
    write(
        data_dir,
        f'[server]\npublic_url = "https://isecom.example"\n'
        f'[smtp]\ntls_cert_file = "{cert.name}"\ntls_key_file = "{key.name}"\nrequire_tls = false\n',
    )
    with pytest.raises(ConfigError, match=r"smtp\.require_tls"):
        config.load(data_dir, env={})


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[smtp]\ntls_cert_file = "missing.crt"\ntls_key_file = "missing.key"\n', "smtp.tls_cert_file"),
        ('[smtp]\ntls_cert_file = "smtp.crt"\n', "smtp.tls_key_file"),
        ('[smtp]\ntls_cert_file = "smtp.key"\ntls_key_file = "smtp.key"\n', "smtp.tls_key_file"),
        ("[smtp]\nrequire_tls = true\n", "smtp.tls_cert_file"),
        ("[smtp]\nmax_message_bytes = 10\n", "smtp.max_message_bytes"),
        ("[smtp]\nmax_recipients = 0\n", "smtp.max_recipients"),
        ("[smtp]\nmax_line_bytes = 80\n", "smtp.max_line_bytes"),
        ("[smtp]\nidle_timeout_seconds = 'long'\n", "smtp.idle_timeout_seconds"),
        ("[smtp]\nbogus = 1\n", "smtp.bogus"),
        ("[smtp]\nsenders = 'everyone'\n", "smtp.senders"),
        ('[smtp.senders.XX]\ndomains = ["a.example"]\nrelays = ["192.0.2.1/32"]\n', "smtp.senders.XX"),
        ('[smtp.senders.fr]\ndomains = ["a.example"]\nrelays = ["192.0.2.1/32"]\n', "smtp.senders.fr"),
        ('[smtp.senders.FR]\nrelays = ["192.0.2.1/32"]\n', "smtp.senders.FR.domains"),
        ('[smtp.senders.FR]\ndomains = ["not a domain"]\nrelays = ["192.0.2.1/32"]\n', "smtp.senders.FR.domains"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\n', "smtp.senders.FR"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nrelays = ["192.0.2.1/24"]\n', "smtp.senders.FR.relays"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nrelays = ["0.0.0.0/0"]\n', "smtp.senders.FR.relays"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nrelays = ["::/0"]\n', "smtp.senders.FR.relays"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nrelays = ["mail.example"]\n', "smtp.senders.FR.relays"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nauth_user = "fr"\n', "smtp.senders.FR.auth_secret_file"),
        ('[smtp.senders.FR]\ndomains = ["a.example"]\nauth_secret = "hunter2"\n', "smtp.senders.FR.auth_secret"),
    ],
)
def test_malformed_smtp_config_names_the_key(data_dir: Path, toml: str, named: str) -> None:
    tls_files(data_dir)
    write(data_dir, toml)
    with pytest.raises(ConfigError) as caught:
        config.load(data_dir, env={})
    assert named in caught.value.message


def test_auth_secret_must_be_a_private_strong_file(data_dir: Path) -> None:
    rule = '[smtp.senders.KE]\ndomains = ["eacc.example"]\nauth_user = "ke"\nauth_secret_file = "secrets/{name}"\n'
    write(data_dir, rule.format(name="absent"))
    with pytest.raises(ConfigError, match=r"smtp\.senders\.KE\.auth_secret_file: .* does not exist"):
        config.load(data_dir, env={})
    secret_file(data_dir, "open", mode=0o644)
    write(data_dir, rule.format(name="open"))
    with pytest.raises(ConfigError, match=r"readable by others"):
        config.load(data_dir, env={})
    weak = data_dir / "secrets" / "weak"
    weak.write_text("short")
    weak.chmod(0o600)
    write(data_dir, rule.format(name="weak"))
    with pytest.raises(ConfigError, match=r"too short"):
        config.load(data_dir, env={})


def test_one_auth_user_per_country(data_dir: Path) -> None:
    secret_file(data_dir, "a")
    secret_file(data_dir, "b")
    write(
        data_dir,
        '[smtp.senders.KE]\ndomains = ["a.example"]\nauth_user = "relay"\nauth_secret_file = "secrets/a"\n'
        '[smtp.senders.FR]\ndomains = ["b.example"]\nauth_user = "relay"\nauth_secret_file = "secrets/b"\n',
    )
    with pytest.raises(ConfigError, match=r"smtp\.senders\.FR\.auth_user: 'relay' is already used"):
        config.load(data_dir, env={})


def test_private_tls_key_must_not_be_readable_by_others(data_dir: Path) -> None:
    cert, key = tls_files(data_dir)
    key.chmod(0o644)
    write(data_dir, f'[smtp]\ntls_cert_file = "{cert.name}"\ntls_key_file = "{key.name}"\n')
    with pytest.raises(ConfigError, match=r"smtp\.tls_key_file: .* readable by others"):
        config.load(data_dir, env={})


def test_an_http_only_process_does_not_need_the_smtp_tls_files(data_dir: Path) -> None:
    cert, key = tls_files(data_dir)
    key.chmod(0o644)  # unusable for SMTP, and never opened by a process that serves HTTP only
    write(data_dir, f'[smtp]\ntls_cert_file = "{cert.name}"\ntls_key_file = "{key.name}"\n')
    with pytest.raises(ConfigError, match=r"smtp\.tls_key_file"):
        config.load(data_dir, env={})
    assert config.load(data_dir, env={}, smtp_files=False).inbound.tls_key_file == key


def test_environment_overrides_smtp_limits(data_dir: Path) -> None:
    smtp = config.load(data_dir, env={"ISECOM_SMTP_MAX_RECIPIENTS": "7"}).inbound
    assert smtp.max_recipients == 7

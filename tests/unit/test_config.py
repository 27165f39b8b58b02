from __future__ import annotations

import os
from pathlib import Path

import pytest

from isecom import config, instance
from isecom.errors import ConfigError


def test_defaults_from_a_fresh_instance(data_dir: Path) -> None:
    cfg = config.load(data_dir, env={})
    assert str(cfg.http) == "127.0.0.1:8080"
    assert str(cfg.smtp) == "127.0.0.1:2525"
    assert cfg.database_url == f"sqlite+aiosqlite:///{data_dir.resolve() / 'isecom.db'}"
    assert cfg.blob_dir == data_dir.resolve() / "blobs"
    assert len(cfg.server_key) == 64


def test_environment_overrides_the_file(data_dir: Path) -> None:
    cfg = config.load(
        data_dir,
        env={
            "ISECOM_SERVER_HTTP": "127.0.0.1:9999",
            "ISECOM_MAIL_DOMAINS": "a.example, b.example",
            "ISECOM_LOG_FORMAT": "json",
        },
    )
    assert cfg.http.port == 9999
    assert cfg.mail_domains == ("a.example", "b.example")
    assert cfg.log_format == "json"


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[server]\nhttp = 'nope'\n", "server.http"),
        ("[server]\nmax_request_bytes = 'big'\n", "server.max_request_bytes"),
        ("[server]\nbogus = 1\n", "server.bogus"),
        ("[nosuch]\n", "[nosuch]"),
        ("[database]\nurl = 'mysql://x/y'\n", "database.url"),
        ("[log]\nformat = 'xml'\n", "log.format"),
        ("[i18n]\ndefault_language = 'de'\n", "i18n.default_language"),
        ("[mail]\ndomains = ['not a domain']\n", "mail.domains"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_malformed_config_names_the_key(data_dir: Path, toml: str, named: str) -> None:
    (data_dir / "isecom.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        config.load(data_dir, env={})
    assert named in caught.value.message


def test_bad_environment_value_names_the_key(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"server\.max_request_bytes"):
        config.load(data_dir, env={"ISECOM_SERVER_MAX_REQUEST_BYTES": "lots"})


def _key(data_dir: Path) -> Path:
    return data_dir / "secrets" / "server.key"


def test_missing_secret_is_refused_by_name(data_dir: Path) -> None:
    _key(data_dir).unlink()
    with pytest.raises(ConfigError, match=r"secrets\.server_key_file.*does not exist"):
        config.load(data_dir, env={})


@pytest.mark.parametrize(
    ("value", "reason"),
    [("0123456789abcdef", "too short"), ("change-me-change-me-change-me-change-me", "default"), ("a" * 64, "default")],
)
def test_short_or_default_secret_is_refused(data_dir: Path, value: str, reason: str) -> None:
    _key(data_dir).write_text(value)
    with pytest.raises(ConfigError, match=reason):
        config.load(data_dir, env={})


def test_secret_readable_by_others_is_refused(data_dir: Path) -> None:
    os.chmod(_key(data_dir), 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        config.load(data_dir, env={})


def test_describe_never_shows_secrets(data_dir: Path) -> None:
    url_file = data_dir / "secrets" / "db.url"
    url_file.write_text("postgresql://isecom:hunter2-password@db.internal/isecom")
    url_file.chmod(0o600)
    (data_dir / "isecom.toml").write_text("[database]\nurl_file = 'secrets/db.url'\n")
    cfg = config.load(data_dir, env={})
    described = " ".join(cfg.describe().values())
    assert "hunter2" not in described
    assert cfg.server_key.decode() not in described
    assert "server_key" not in repr(cfg)
    assert cfg.database_url.startswith("postgresql+asyncpg://isecom:hunter2-password@")


def test_database_url_file_must_be_private(data_dir: Path) -> None:
    url_file = data_dir / "secrets" / "db.url"
    url_file.write_text("postgresql://isecom:pw@db.internal/isecom")
    url_file.chmod(0o644)
    (data_dir / "isecom.toml").write_text("[database]\nurl_file = 'secrets/db.url'\n")
    with pytest.raises(ConfigError, match=r"database\.url_file.*readable by others"):
        config.load(data_dir, env={})


def test_init_is_idempotent_and_private(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    first = instance.create(data)
    key = _key(data).read_bytes()
    assert instance.create(data) == []
    assert first and _key(data).read_bytes() == key
    assert (_key(data).stat().st_mode & 0o777) == 0o600
    assert (data.stat().st_mode & 0o777) == 0o700

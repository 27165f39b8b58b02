from __future__ import annotations

import shutil
from pathlib import Path

import trustme

from isecom import config, instance

REPO = Path(__file__).resolve().parents[2]


def test_example_production_config_is_valid(tmp_path: Path) -> None:
    data = tmp_path / "data"
    instance.create(data)
    shutil.copy(REPO / "deploy" / "isecom.example.toml", data / "isecom.toml")
    url = data / "secrets" / "database.url"
    url.write_text("postgresql://isecom:pw@127.0.0.1/isecom")
    url.chmod(0o600)
    (data / "tls").mkdir()
    cert = trustme.CA().issue_cert("mx.isecom.example")
    cert.cert_chain_pems[0].write_to_path(str(data / "tls" / "smtp.crt"))
    (data / "tls" / "smtp.key").touch(mode=0o600)
    cert.private_key_pem.write_to_path(str(data / "tls" / "smtp.key"))
    cfg = config.load(data, env={})
    assert cfg.uses_tls and cfg.log_format == "json"
    assert cfg.database_url.startswith("postgresql+asyncpg://")
    assert str(cfg.smtp) == "0.0.0.0:25"
    assert cfg.inbound.require_tls and cfg.inbound.tls  # production: STARTTLS required
    assert [str(rule.country) for rule in cfg.inbound.senders] == ["FR"]

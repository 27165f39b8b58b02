"""deploy/: the systemd units, the nginx template and its renderer, and the proxy settings.

The units' content is checked here everywhere; ``systemd-analyze verify`` runs as well when
the machine has it (CI's Debian does). nginx itself runs in tests/deploy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path

import pytest

from isecom import config
from isecom.cli.parser import build_parser
from isecom.errors import ConfigError
from isecom.services.files import MAX_CHUNK_BLOB
from webmail.middleware import CSP
from webmail.proxy import client_address

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "deploy" / "systemd"
RENDER = REPO / "deploy" / "nginx" / "render.py"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ReadWritePaths": "/var/lib/isecom",
    "User": "isecom",
    "Group": "isecom",
    "RestrictSUIDSGID": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectControlGroups": "yes",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
}


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections and keys (a key may repeat, as systemd allows)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


@pytest.mark.parametrize("name", ["isecom@.service", "isecom-smtp.service"])
def test_units_run_one_role_each_as_a_dedicated_user_with_hardening(name: str, tmp_path: Path) -> None:
    service = unit(name)["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == [value], (name, key)
    assert service["ReadWritePaths"] == ["/var/lib/isecom"]  # the data directory only
    assert "@system-service" in service["SystemCallFilter"]
    [start] = service["ExecStart"]
    argv = start.split()
    assert argv[:2] == ["/opt/isecom/.venv/bin/isecom", "serve"]
    args = build_parser().parse_args(argv[1:])  # the command line is one isecom accepts
    assert args.data == Path("/var/lib/isecom")
    if name == "isecom@.service":
        assert args.only == "http" and args.http == "127.0.0.1:%i"  # the instance name is the port
        assert service["CapabilityBoundingSet"] == [""] and service["AmbientCapabilities"] == [""]
    else:
        assert args.only == "smtp"
        assert service["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]  # port 25, nothing more
    assert service["Restart"] == ["on-failure"]
    verify_with_systemd(name, tmp_path)


def verify_with_systemd(name: str, folder: Path) -> None:
    """``systemd-analyze verify`` where the machine has it (CI's Debian does), on the unit pointed
    at this checkout so its ExecStart binary exists; unknown keys are warnings, so none may be printed."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    target = folder / ("isecom@8081.service" if name == "isecom@.service" else name)
    target.write_text((SYSTEMD / name).read_text(encoding="utf-8").replace("/opt/isecom", str(REPO)), encoding="utf-8")
    assert (REPO / ".venv" / "bin" / "isecom").exists()
    done = subprocess.run([analyze, "verify", "--man=no", str(target)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def _render(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, str(RENDER), "--server-name", "isecom.example",
            "--upstream", "127.0.0.1:8081", "--upstream", "127.0.0.1:8082",
            "--cert", "/etc/ssl/isecom/fullchain.pem", "--key", "/etc/ssl/isecom/privkey.pem",
            "--static-root", "/var/lib/isecom/www", *extra,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_nginx_template_renders_every_part_of_the_deployment() -> None:
    done = _render()
    assert done.returncode == 0, done.stderr
    conf = done.stdout
    assert not re.search(r"@[A-Z_]+@", conf)  # no placeholder left
    assert "server 127.0.0.1:8081 " in conf and "server 127.0.0.1:8082 " in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "listen 443 ssl http2;" in conf and "return 301 https://isecom.example$request_uri;" in conf
    assert f'add_header Content-Security-Policy "{CSP}" always;' in conf  # the app's CSP, verbatim
    assert 'add_header Cache-Control "public, max-age=31536000, immutable";' in conf
    assert conf.count('Strict-Transport-Security "max-age=63072000; includeSubDomains" always;') >= 2
    events = conf.split("location = /api/v1/events {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in events and "proxy_read_timeout 1h;" in events
    chunks = conf.split("location ~ ^/api/v1/files/[^/]+/chunks/[0-9]+$ {", 1)[1].split("}", 1)[0]
    assert "proxy_request_buffering off;" in chunks
    limit = int(chunks.split("client_max_body_size ", 1)[1].split(";", 1)[0])
    assert MAX_CHUNK_BLOB < limit <= MAX_CHUNK_BLOB + 1024 * 1024  # a chunk and a little slack
    assert "limit_req zone=isecom_signin" in conf
    assert "X-Real-IP $remote_addr" in conf


def test_the_standalone_form_keeps_everything_under_its_prefix(tmp_path: Path) -> None:
    done = _render("--listen", "127.0.0.1:18443", "--standalone", str(tmp_path), "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert f"pid {tmp_path.resolve()}/nginx.pid;" in done.stdout
    assert "worker_processes 2;" in done.stdout
    assert "return 301 https://isecom.example:18443$request_uri;" in done.stdout
    assert (tmp_path / "tmp" / "body").is_dir()


@pytest.mark.parametrize(
    "extra",
    [
        ("--server-name", "evil.example; include /etc/shadow"),
        ("--cert", "/tmp/a b.pem"),
        ("--upstream", "not-a-port:x"),
        ("--signin-rate", "lots"),
        ("--static-root", "/srv/www}"),
    ],
)
def test_the_renderer_refuses_values_that_would_change_the_configuration(extra: tuple[str, str]) -> None:
    done = _render(*extra)
    assert done.returncode == 2 and "error" in done.stderr


def test_serve_accepts_one_role() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "--data", "d"]).only is None
    assert parser.parse_args(["serve", "--data", "d", "--only", "smtp"]).only == "smtp"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--data", "d", "--only", "web"])


TRUSTED = (ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8"))


def test_the_client_address_comes_from_a_trusted_proxy_only() -> None:
    assert client_address("127.0.0.1", "198.51.100.7", TRUSTED) == "198.51.100.7"
    assert client_address("10.1.2.3", "2001:db8::1", TRUSTED) == "2001:db8::1"
    assert client_address("192.0.2.1", "198.51.100.7", TRUSTED) == "192.0.2.1"  # not a proxy: ignored
    assert client_address("127.0.0.1", "198.51.100.7, 10.0.0.1", TRUSTED) == "127.0.0.1"  # not one address
    assert client_address("127.0.0.1", None, TRUSTED) == "127.0.0.1"
    assert client_address("127.0.0.1", "198.51.100.7", ()) == "127.0.0.1"  # none configured: direct


def test_trusted_proxies_are_networks(data_dir: Path) -> None:
    cfg = config.load(data_dir, env={"ISECOM_SERVER_TRUSTED_PROXIES": "127.0.0.1, ::1"})
    assert cfg.trusted_proxies == (ip_network("127.0.0.1/32"), ip_network("::1/128"))
    assert config.load(data_dir, env={}).trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"server\.trusted_proxies"):
        config.load(data_dir, env={"ISECOM_SERVER_TRUSTED_PROXIES": "localhost"})

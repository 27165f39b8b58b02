"""deploy/nginx in front of a live instance: TLS, headers, static files, limits, redirects.

The configuration is the rendered template (deploy/nginx/render.py) on high loopback ports,
with a certificate made by the test. One application process on SQLite; the PostgreSQL,
several-process path is tests/deploy/test_deploy_e2e.py.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import LiveServer, free_port, run_cli, start_server, stop_server
from tests.deploy.nginx import Nginx, Tls, export_static, make_tls, start_nginx
from webmail.middleware import CSP

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
    "Permissions-Policy",
    "Strict-Transport-Security",
    "Cache-Control",
    "Content-Type",
)
HSTS = "max-age=63072000; includeSubDomains"


@dataclass
class Stack:
    app: LiveServer
    nginx: Nginx
    tls: Tls
    build: str
    static_root: Path

    def https(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPSConnection(
            "localhost", self.nginx.port, context=self.tls.client_context(), timeout=30
        )
        return _answer(connection, method, path, body, headers)

    def direct(self, path: str) -> Answer:
        return _answer(http.client.HTTPConnection("127.0.0.1", self.app.http_port, timeout=30), "GET", path, None, None)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    all_headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def _answer(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
) -> Answer:
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        pairs = response.getheaders()
        return Answer(response.status, {k.title(): v for k, v in pairs}, pairs, data)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("nginx")
    tls = make_tls(tmp / "tls")
    port, redirect_port = free_port(), free_port()
    data = tmp / "data"
    assert run_cli("init", data=data).returncode == 0
    app = start_server(
        data,
        env={
            "ISECOM_SERVER_PUBLIC_URL": f"https://localhost:{port}",
            "ISECOM_SERVER_TRUSTED_PROXIES": "127.0.0.1",
            "ISECOM_SMTP_TLS_CERT_FILE": str(tls.cert),
            "ISECOM_SMTP_TLS_KEY_FILE": str(tls.key),
        },
    )
    try:
        static_root = tmp / "www"
        build = export_static(static_root)
        nginx = start_nginx(
            tmp / "nginx",
            upstreams=[app.http_port],
            host="127.0.0.1",
            port=port,
            redirect_port=redirect_port,
            tls=tls,
            static_root=static_root,
            extra=("--signin-rate", "1r/m", "--signin-burst", "3"),
        )
        try:
            yield Stack(app, nginx, tls, build, static_root)
        finally:
            nginx.stop()
    finally:
        stop_server(app)


def _handshake(stack: Stack, context: ssl.SSLContext) -> str | None:
    with (
        socket.create_connection(("127.0.0.1", stack.nginx.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


def test_tls_1_2_and_1_3_with_forward_secret_aead_only(stack: Stack) -> None:
    assert _handshake(stack, stack.tls.client_context()) == "TLSv1.3"
    tls12 = stack.tls.client_context()
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    tls12.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256")
    assert _handshake(stack, tls12) == "TLSv1.2"
    # TLS 1.2 without forward secrecy or AEAD: the server offers none of it.
    weak = stack.tls.client_context()
    weak.maximum_version = ssl.TLSVersion.TLSv1_2
    weak.set_ciphers("AES128-SHA256:AES256-SHA:ECDHE-RSA-AES128-SHA")
    with pytest.raises(ssl.SSLError):
        _handshake(stack, weak)


def test_plain_http_redirects_to_the_public_url(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.nginx.redirect_port, timeout=30)
    answer = _answer(connection, "GET", "/mail?folder=inbox", None, None)
    assert answer.status == 301
    assert answer.headers["Location"] == f"https://localhost:{stack.nginx.port}/mail?folder=inbox"


def test_pages_through_the_proxy_carry_one_hsts_header_and_the_app_headers(stack: Stack) -> None:
    page = stack.https("GET", "/signin")
    assert page.status == 200
    assert [v for k, v in page.all_headers if k.lower() == "strict-transport-security"] == [HSTS]
    assert page.headers["Content-Security-Policy"] == CSP
    assert "Server" not in page.headers or "nginx/" not in page.headers["Server"]  # no version


def test_static_files_come_from_disk_with_the_same_bytes_and_headers_as_the_app(stack: Stack) -> None:
    files = sorted(p for p in (stack.static_root / "static" / stack.build).rglob("*") if p.is_file())
    assert len(files) > 20
    before = len(stack.nginx.access_log())
    for file in files:
        path = "/" + file.relative_to(stack.static_root).as_posix()
        through_nginx, from_app = stack.https("GET", path), stack.direct(path)
        assert through_nginx.status == from_app.status == 200, path
        assert through_nginx.body == from_app.body, path
        for name in SECURITY_HEADERS:
            expected = from_app.headers.get(name, HSTS if name == "Strict-Transport-Security" else None)
            assert through_nginx.headers.get(name) == expected, (path, name)
    served = stack.nginx.access_log()[before:]
    assert len(served) == len(files)
    assert all(line.endswith(" -") for line in served)  # no upstream: nginx read the file itself


def test_a_build_not_exported_is_asked_of_the_application(stack: Stack) -> None:
    answer = stack.https("GET", "/static/0000000000000000/js/app.js")
    assert answer.status == 404
    assert stack.nginx.access_log()[-1].endswith(f"127.0.0.1:{stack.app.http_port}")


def test_sign_in_is_rate_limited_per_address_with_a_json_error(stack: Stack) -> None:
    body = json.dumps({"username": "nobody@isecom.example"}).encode()
    headers = {"Content-Type": "application/json", "Origin": f"https://localhost:{stack.nginx.port}"}
    statuses = [stack.https("POST", "/api/v1/auth/prelogin", body, headers) for _ in range(8)]
    assert statuses[0].status == 200
    limited = [a for a in statuses if a.status == 429]
    assert limited, [a.status for a in statuses]
    assert limited[0].json() == {
        "error": {"code": "rate_limited", "message": "Too many attempts. Please wait and try again."}
    }
    assert limited[0].headers["Strict-Transport-Security"] == HSTS
    # Other routes are not limited.
    assert all(stack.https("GET", "/healthz").status == 200 for _ in range(8))


def test_a_json_body_over_the_request_limit_is_refused_by_nginx(stack: Stack) -> None:
    headers = {"Content-Type": "application/json", "Origin": f"https://localhost:{stack.nginx.port}"}
    answer = stack.https("POST", "/api/v1/messages", b"{" + b" " * (9 * 1024 * 1024) + b"}", headers)
    assert answer.status == 413
    assert answer.json() == {"error": {"code": "input.too_large", "message": "The request is too large."}}

"""nginx for the deployment tests: deploy/nginx rendered for high loopback ports, run unprivileged.

nginx is a test dependency like chromium: ``make deploy-deps`` installs Debian's package; a
missing nginx fails the tests (it never skips them).
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "deploy" / "nginx" / "render.py"
EXPORT = REPO / "deploy" / "nginx" / "export_static.py"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("the deployment tests need nginx: run `make deploy-deps` (apt-get install nginx)")
    return found


@dataclass
class Tls:
    ca: trustme.CA
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


def make_tls(folder: Path) -> Tls:
    """A CA made by the test and a certificate for localhost (key mode 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = folder / "tls.crt", folder / "tls.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(issued.private_key_pem.bytes())
    return Tls(ca, cert, key)


def export_static(root: Path) -> str:
    done = subprocess.run([sys.executable, str(EXPORT), str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def wait_port(host: str, port: int, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {host}:{port}:\n{log.read_text(errors='replace')}")


@dataclass
class Nginx:
    prefix: Path
    host: str
    port: int
    redirect_port: int
    process: subprocess.Popen[bytes]

    def access_log(self) -> list[str]:
        path = self.prefix / "access.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def render(prefix: Path, *args: str) -> Path:
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    user = ["--user", "root"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [sys.executable, str(RENDER), *args, "--standalone", str(prefix), *user, "-o", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return conf


def start_nginx(
    prefix: Path,
    *,
    upstreams: list[int],
    host: str,
    port: int,
    redirect_port: int,
    tls: Tls,
    static_root: Path,
    extra: tuple[str, ...] = (),
) -> Nginx:
    """nginx from the deploy/nginx template, in front of the application processes on ``upstreams``."""
    binary = nginx_binary()
    args = [
        "--server-name", "localhost",
        "--listen", f"{host}:{port}",
        "--redirect-listen", f"{host}:{redirect_port}",
        "--public-url", f"https://localhost:{port}",
        "--cert", str(tls.cert),
        "--key", str(tls.key),
        "--static-root", str(static_root),
        *extra,
    ]  # fmt: skip
    for upstream in upstreams:
        args += ["--upstream", f"127.0.0.1:{upstream}"]
    conf = render(prefix, *args)
    check = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    log = prefix / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf), "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Nginx(prefix, host, port, redirect_port, process)
    try:
        wait_port(host, port, "nginx", process, prefix / "error.log")
    except BaseException:
        server.stop()
        raise
    return server

"""``isecom serve --only http|smtp``: each role opens its own port and not the other's."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ISECOM, REPO, free_port, run_cli
from tests.deploy.nginx import wait_port


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("only", ["http", "smtp"])
def test_a_role_serves_its_protocol_alone(tmp_path: Path, only: str) -> None:
    data = tmp_path / "data"
    assert run_cli("init", data=data).returncode == 0
    http, smtp = free_port(), free_port()
    log = tmp_path / "serve.log"
    argv = [*ISECOM, "serve", "--data", str(data), "--only", only, "--http", f"127.0.0.1:{http}"]
    argv += ["--smtp", f"127.0.0.1:{smtp}"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, "ISECOM_SERVER_PUBLIC_URL": f"http://127.0.0.1:{http}"},
        )  # fmt: skip
    try:
        serving, silent = (http, smtp) if only == "http" else (smtp, http)
        wait_port("127.0.0.1", serving, f"isecom serve --only {only}", process, log)
        if only == "smtp":
            with smtplib.SMTP("127.0.0.1", smtp, timeout=10) as client:
                assert client.noop()[0] == 250
        assert _refused(silent)
        assert process.poll() is None
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0, log.read_text()
    printed = log.read_text()
    assert ("HTTP on" in printed) == (only == "http") and ("SMTP on" in printed) == (only == "smtp")

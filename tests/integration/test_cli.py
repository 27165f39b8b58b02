"""The `isecom` command line, run as a real process."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, run_cli, start_server, stop_server


def test_help_on_every_command() -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["serve", "--help"],
        ["migrate", "--help"],
        ["demo", "--help"],
        ["admin", "--help"],
        ["admin", "create-first", "--help"],
    ):
        result = run_cli(*args)
        assert result.returncode == 0, args
        assert "usage: isecom" in result.stdout


@pytest.mark.parametrize("args", [["frobnicate"], ["serve", "--data", "x", "--bogus"], ["admin"], []])
def test_unknown_command_or_flag_prints_usage(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "usage: isecom" in result.stderr


def test_init_is_idempotent_and_fast(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    first = run_cli("init", data=data)
    assert first.returncode == 0 and "created" in first.stdout
    started = time.monotonic()
    second = run_cli("init", data=data)
    assert second.returncode == 0 and "created" not in second.stdout
    assert time.monotonic() - started < 30  # a generous bound: it must not redo expensive work
    assert (data / "isecom.db").exists() and (data / "blobs").is_dir()


def test_malformed_config_exits_naming_the_key(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    (data / "isecom.toml").write_text("[server]\nhttp = 'localhost'\n")
    result = run_cli("serve", data=data)
    assert result.returncode == 1
    assert "server.http" in result.stderr and "HOST:PORT" in result.stderr


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    closed = free_port()
    result = run_cli("serve", data=data, env={"ISECOM_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{closed}/none"})
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_unmigrated_database_is_refused(tmp_path: Path) -> None:
    from isecom import instance

    data = tmp_path / "inst"
    instance.create(data)
    result = run_cli("serve", data=data)
    assert result.returncode == 1 and "isecom migrate" in result.stderr
    assert run_cli("migrate", data=data).returncode == 0


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--http", f"127.0.0.1:{port}", "--smtp", f"127.0.0.1:{free_port()}", data=data)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr


def test_first_admin_prints_a_one_time_link_once(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    args = [
        "admin",
        "create-first",
        "--email",
        "ada.admin@isecom.example",
        "--name",
        "Ada Admin",
        "--country",
        "FR",
        "--agency",
        "Demo Platform Operations",
    ]
    first = run_cli(*args, data=data)
    assert first.returncode == 0, first.stderr
    assert re.search(r"/activate#[A-Za-z0-9_-]{43}$", first.stdout.strip())
    second = run_cli(*args, data=data)
    assert second.returncode == 1 and "already exists" in second.stderr
    bad = run_cli(*args[:-4], "--country", "ZZ", "--agency", "X", data=data)
    assert bad.returncode == 1 and "country" in bad.stderr.lower()


def test_demo_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    assert run_cli("init", data=data).returncode == 0
    first = run_cli("demo", data=data)
    assert first.returncode == 0 and "12 members created" in first.stdout
    again = run_cli("demo", data=data)
    assert again.returncode == 0 and "0 members created, 12 already present" in again.stdout


def test_two_instances_run_side_by_side(tmp_path: Path) -> None:
    import urllib.request

    servers = []
    try:
        for name in ("one", "two"):
            data = tmp_path / name
            assert run_cli("init", data=data).returncode == 0
            servers.append(start_server(data))
        for server in servers:
            with urllib.request.urlopen(f"{server.url}/readyz", timeout=5) as response:  # noqa: S310 - loopback
                assert response.status == 200
    finally:
        for server in servers:
            stop_server(server)
    assert all(s.process.returncode == 0 for s in servers), [s.output() for s in servers]

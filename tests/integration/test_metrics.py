"""The Prometheus endpoint: the series exist, carry route templates and code classes, and never a
member id, address or message id; it is served only on its own listener (loopback, or a bearer token)."""

from __future__ import annotations

import asyncio
import os
import secrets
import smtplib
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from isecom import app as composition
from isecom import config
from isecom.client import ClientError
from isecom.client import files as clientfiles
from isecom.config import Config, MetricsSettings
from isecom.context import Context
from isecom.crypto import attachments
from isecom.errors import ConfigError
from isecom.metrics import Metrics
from isecom.metrics import create_app as metrics_app
from isecom.smtp import gateway
from storage import metrics_reads
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.store import SqlStore
from tests.conftest import FakeClock, free_port, run_cli, start_server, stop_server
from tests.integration.conftest import Instance, signed_in_member


@pytest.fixture
async def measured(cfg: Config, clock: FakeClock) -> AsyncIterator[tuple[Instance, Metrics, str]]:
    """An in-process instance wired as ``serve`` wires it with [metrics] on; the scrape URL."""
    port = free_port()
    cfg = replace(cfg, public_url=f"http://127.0.0.1:{port}")
    await composition.check_database(cfg, upgrade=True)
    store = SqlStore(make_engine(cfg.database_url))
    metrics = Metrics()
    metrics.watch_smtp()
    context = Context(config=cfg, store=store, blobs=metrics.meter(FileBlobStore(cfg.blob_dir)), clock=clock)
    server = TestServer(composition.build_web_app(context, metrics), host="127.0.0.1", port=port)
    settings = MetricsSettings(config.HostPort("127.0.0.1", free_port()))
    scrape = TestServer(metrics_app(metrics, settings, lambda: metrics_reads.gauges(store.engine)), host="127.0.0.1")
    await server.start_server()
    await scrape.start_server()
    try:
        yield Instance(f"http://127.0.0.1:{port}", cfg, context, clock), metrics, str(scrape.make_url("/metrics"))
    finally:
        metrics.close()
        await scrape.close()
        await server.close()
        await store.close()


def _smtp_refused_sender(port: int) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("relay.example.org")
        code, _ = client.mail("someone@unlisted.example.org")
        return code


async def test_series_exist_with_templates_and_no_member_identifiers(
    measured: tuple[Instance, Metrics, str], tmp_path: Path
) -> None:
    instance, _, url = measured
    alice = await signed_in_member(
        instance, "alice.martin@isecom.example", name="Alice Martin", country="FR", agency="PIAC", roles=[]
    )
    bruno = await signed_in_member(
        instance, "bruno.costa@isecom.example", name="Bruno Costa", country="BR", agency="PF", roles=[]
    )
    try:
        evidence = tmp_path / "ledger.xlsx"
        evidence.write_bytes(os.urandom(2 * 64 * 1024 + 3))
        prepared = clientfiles.prepare(evidence, chunk_size=64 * 1024)
        await clientfiles.upload(alice, prepared)
        assert alice.signed is not None and bruno.signed is not None
        ids = [str(alice.signed.member["id"]), str(bruno.signed.member["id"]), prepared.descriptor.file_id.hex()]
        await alice.get(f"/keys/v1/members/{ids[1]}")
        for method in ("PROPFIND", "TRACE", "MKCOL"):  # methods outside the API do not become labels
            async with aiohttp.ClientSession() as http, http.request(method, f"{instance.url}/healthz") as answer:
                assert 400 <= answer.status < 500
        msg_id = secrets.token_hex(16)
        with pytest.raises(ClientError) as missing:
            await alice.get(f"/api/v1/messages/{msg_id}")
        assert missing.value.status == 404
        smtp_port = free_port()
        smtp = await gateway.start(
            instance.context.store,
            instance.cfg.inbound,
            instance.cfg.mail_domains,
            "127.0.0.1",
            smtp_port,
            "isecom.example",
            clock=instance.clock,
            gateway=instance.context.gateway,
        )
        try:
            code = await asyncio.to_thread(_smtp_refused_sender, smtp_port)
        finally:
            smtp.close()
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    finally:
        await alice.close()
        await bruno.close()

    assert 'route="/keys/v1/members/{member_id}",status="2xx"' in text
    assert 'isecom_http_requests_total{method="GET",route="/api/v1/messages/{id}",status="4xx"}' in text
    assert 'isecom_http_request_duration_seconds_bucket{le="0.005",method="PUT"' in text
    assert f'isecom_smtp_replies_total{{code_class="{code // 100}xx",command="MAIL"}} 1.0' in text
    assert f"isecom_blob_written_bytes_total {float(sum(len(b) for b in _chunks(prepared)))}" in text
    assert "isecom_outbox_pending " in text and "isecom_outbox_failed 0.0" in text
    keylog = next(line for line in text.splitlines() if line.startswith("isecom_keylog_entries "))
    assert float(keylog.split()[1]) >= 2  # both members' keys were published
    other = [line for line in text.splitlines() if line.startswith('isecom_http_requests_total{method="OTHER"')]
    assert len(other) == 1 and other[0].endswith('status="4xx"} 3.0'), other
    for secret in [*ids, msg_id, "alice", "bruno", "isecom.example", "@", "PROPFIND", "TRACE", "MKCOL"]:
        assert secret not in text.replace("isecom_", "")


def _chunks(prepared: clientfiles.Prepared) -> list[bytes]:
    """Stand-ins as long as the ciphertext chunks the server stored (PROTOCOL.md §8)."""
    d = prepared.descriptor
    return [b"x" * (d.plain_length(i) + attachments.OVERHEAD) for i in range(d.n_chunks)]


# --- The real `isecom serve`, its own listener, and the token ----------------------------------


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_serve_exposes_metrics_only_on_its_own_listener_with_the_token(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("init", data=data).returncode == 0
    token = secrets.token_urlsafe(32)
    token_file = data / "secrets" / "metrics.token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    port = free_port()
    server = start_server(
        data, env={"ISECOM_METRICS_LISTEN": f"127.0.0.1:{port}", "ISECOM_METRICS_TOKEN_FILE": str(token_file)}
    )
    try:
        assert _get(f"{server.url}/healthz")[0] == 200
        assert _get(f"{server.url}/metrics")[0] == 404  # never on the public port
        assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 401
        assert _get(f"http://127.0.0.1:{port}/metrics", "wrong-token")[0] == 401
        status, text = _get(f"http://127.0.0.1:{port}/metrics", token)
        assert status == 200
        assert 'isecom_http_requests_total{method="GET",route="/healthz",status="2xx"}' in text
        assert 'isecom_http_requests_total{method="GET",route="unmatched",status="4xx"} 1.0' in text
        assert "isecom_keylog_entries" in text and "isecom_outbox_pending" in text
    finally:
        stop_server(server)
    assert token not in server.output()


def test_metrics_off_a_loopback_address_need_a_token(tmp_path: Path, cfg: Config) -> None:
    data = cfg.data_dir
    with pytest.raises(ConfigError, match="not a loopback address"):
        config.load(data, env={"ISECOM_METRICS_LISTEN": "0.0.0.0:9464"})
    with pytest.raises(ConfigError, match=r"metrics\.token_file"):
        config.load(data, env={"ISECOM_METRICS_TOKEN_FILE": "secrets/metrics.token"})
    loopback = config.load(data, env={"ISECOM_METRICS_LISTEN": "127.0.0.1:9464"})
    assert loopback.metrics == MetricsSettings(config.HostPort("127.0.0.1", 9464))
    assert "secret" not in str(loopback.describe())

"""Composition root: builds the ports from the config and wires every adapter.

This is the only module that knows all the parts: storage implements the
ports, the webmail and keyserver serve HTTP, the SMTP gateway serves SMTP,
all on one event loop.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from isecom.clock import SystemClock
from isecom.config import Config
from isecom.context import Context
from isecom.errors import ConfigError, Unavailable
from isecom.mailer.delivery import Mailer
from isecom.mailer.transport import DirectorySink, SmtpRelay, Transport
from isecom.metrics import Metrics
from isecom.metrics import create_app as metrics_endpoint
from isecom.services import applications, files, keydir, notify
from isecom.smtp import gateway
from keyserver.app import create_app as create_keyserver
from storage import metrics_reads, migrate
from storage.blobs import FileBlobStore
from storage.db import make_engine
from storage.live_pg import LiveChannel
from storage.s3blobs import S3BlobStore
from storage.store import SqlStore
from webmail.app import create_app as create_webmail
from webmail.i18n import Catalogs

log = logging.getLogger("isecom")


class AccessLogger(AbstractAccessLogger):
    """Method, path (never the query string), status and time; no headers, no bodies."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


@asynccontextmanager
async def open_context(config: Config) -> AsyncIterator[Context]:
    store = SqlStore(make_engine(config.database_url))
    try:
        async with open_blobs(config) as blobs:
            yield Context(config=config, store=store, blobs=blobs, clock=SystemClock())
    finally:
        await store.close()


@asynccontextmanager
async def open_blobs(config: Config) -> AsyncIterator[FileBlobStore | S3BlobStore]:
    """The configured blob store: files under ``blobs.path``, or an S3-compatible bucket."""
    if config.object_store is None:
        yield FileBlobStore(config.blob_dir)
        return
    async with S3BlobStore(config.object_store) as blobs:
        yield blobs


def make_mailer(context: Context) -> Mailer:
    """The outbox's deliverer: the configured relay, or the sink folder when there is none."""
    config = context.config
    transport: Transport
    if config.outbound_relay is not None:
        transport = SmtpRelay(
            config.outbound_relay.host, config.outbound_relay.port, require_tls=config.outbound_require_tls
        )
    else:
        transport = DirectorySink(config.mail_sink)
    catalogs = Catalogs.load(config.default_language)
    return Mailer(
        context.store,
        context.clock,
        config.server_key,
        transport,
        lambda lang: catalogs.get(lang).gettext,
        config.outbound_sender,
    )


def build_web_app(context: Context, metrics: Metrics | None = None) -> web.Application:
    app = create_webmail(context)
    app.add_subapp("/keys", create_keyserver(context))
    if metrics is not None:
        metrics.instrument(app)
    return app


async def check_database(config: Config, *, upgrade: bool = False) -> None:
    """Refuse an unreachable or out-of-date database with a clear message (or upgrade it)."""
    engine = make_engine(config.database_url)
    try:
        try:
            await SqlStore(engine).ping()
        except Unavailable:
            raise ConfigError(
                f"cannot reach the database at {config.describe()['database']}: "
                "check database.url and that the database server is running"
            ) from None
        if upgrade:
            await migrate.upgrade(engine)
            return
        current, head = await migrate.current_revision(engine), migrate.head_revision()
        if current != head:
            raise ConfigError(f"the database schema is at {current or 'nothing'}, not {head}: run `isecom migrate`")
    finally:
        await engine.dispose()


async def serve(config: Config, *, stop: asyncio.Event | None = None, only: str | None = None) -> None:
    """Serve HTTP and SMTP until SIGINT/SIGTERM (or until ``stop`` is set).

    ``only="http"``: HTTP alone and no background jobs (one of N application processes);
    ``only="smtp"``: the SMTP gateway and the background jobs (outbox delivery, term sweeps,
    key-log checkpoints), which must run in exactly one process. On PostgreSQL, live
    updates cross processes over LISTEN/NOTIFY (``storage/live_pg.py``).
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await check_database(config)
    async with open_context(config) as context:
        await context.blobs.check_writable()
        metrics = Metrics() if config.metrics is not None else None
        if metrics is not None:
            context = replace(context, blobs=metrics.meter(context.blobs))
        channel = (
            LiveChannel(config.database_url, context.live) if config.database_url.startswith("postgresql") else None
        )
        runner = web.AppRunner(build_web_app(context, metrics), access_log_class=AccessLogger, handle_signals=False)
        await runner.setup()
        smtp_server: asyncio.Server | None = None
        jobs: list[asyncio.Task[None]] = []
        metrics_runner: web.AppRunner | None = None
        try:
            metrics_runner = await _serve_metrics(context, metrics)
            if channel is not None:
                await channel.start()
            if only != "smtp":
                await _listen(
                    "HTTP",
                    config.http.host,
                    config.http.port,
                    web.TCPSite(runner, config.http.host, config.http.port).start(),
                )
            if only != "http":
                smtp_server = await _serve_smtp(context)
                jobs = [
                    asyncio.create_task(make_mailer(context).run(), name="outbox"),
                    asyncio.create_task(_sweep_terms_hourly(context), name="terms"),
                    asyncio.create_task(_sign_checkpoints(context), name="checkpoints"),
                    asyncio.create_task(_sweep_files_hourly(context), name="file-sweep"),
                    asyncio.create_task(_send_notices(context), name="notices"),
                ]
            log.info("configuration", extra=config.describe())
            served = [f"HTTP on http://{config.http}"] if only != "smtp" else []
            served += [f"SMTP on {config.smtp}"] if only != "http" else []
            print(f"isecom: {'  '.join(served)}  (Ctrl-C stops)", flush=True)
            await stop.wait()
        finally:
            for job in jobs:
                job.cancel()
            # Let each job leave its transaction before the engine is disposed (a job cut off
            # later would hold a database connection, and its thread, past the end).
            await asyncio.gather(*jobs, return_exceptions=True)
            if smtp_server is not None:
                smtp_server.close()
            await runner.cleanup()
            if channel is not None:
                await channel.close()
            if metrics_runner is not None:
                await metrics_runner.cleanup()
            if metrics is not None:
                metrics.close()


async def _serve_metrics(context: Context, metrics: Metrics | None) -> web.AppRunner | None:
    """The Prometheus endpoint on its own listener ([metrics] listen; isecom/metrics.py)."""
    settings = context.config.metrics
    if metrics is None or settings is None:
        return None
    metrics.watch_smtp()
    engine = context.store.engine if isinstance(context.store, SqlStore) else None
    if engine is None:
        raise ConfigError("metrics need the SQL store")
    runner = web.AppRunner(
        metrics_endpoint(metrics, settings, lambda: metrics_reads.gauges(engine)), handle_signals=False
    )
    await runner.setup()
    try:
        await _listen(
            "metrics",
            settings.listen.host,
            settings.listen.port,
            web.TCPSite(runner, settings.listen.host, settings.listen.port).start(),
        )
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def _serve_smtp(context: Context) -> asyncio.Server:
    config = context.config
    server: asyncio.Server = await _listen(
        "SMTP",
        config.smtp.host,
        config.smtp.port,
        gateway.start(
            context.store,
            config.inbound,
            config.mail_domains,
            config.smtp.host,
            config.smtp.port,
            config.mail_domains[0],
            clock=context.clock,
            gateway=context.gateway,
            publish=context.live.publish,
        ),
    )
    return server


async def _send_notices(context: Context) -> None:
    """Queue the content-free new-mail notices that are due (isecom/services/notify.py)."""
    config = context.config
    policy = notify.Policy(config.notify_interval, config.notify_digest_hour)
    while True:
        try:
            await notify.send_due(context.store, context.clock, config.server_key, policy, base_url=config.public_url)
        except Exception:
            log.exception("queueing new-mail notices failed; retrying")
        await asyncio.sleep(30)


async def _sign_checkpoints(context: Context) -> None:
    """Sign a key-log checkpoint every ``keys.checkpoint_seconds`` when the log grew."""
    interval = context.config.checkpoint_interval.total_seconds()
    while True:
        try:
            await keydir.sign_checkpoint(context.store, context.clock, context.authority)
        except Exception:
            log.exception("signing a key-log checkpoint failed; retrying")
        await asyncio.sleep(interval)


async def _sweep_terms_hourly(context: Context) -> None:
    while True:
        try:
            await applications.sweep_terms(
                context.store, context.clock, context.config.server_key, base_url=context.config.public_url
            )
        except Exception:
            log.exception("membership term sweep failed; retrying in an hour")
        await asyncio.sleep(3600)


async def _sweep_files_hourly(context: Context) -> None:
    """At start-up, then hourly: abandoned uploads and orphan blobs (isecom.services.files.sweep)."""
    while True:
        try:
            swept = await files.sweep(
                context.store, context.blobs, context.clock, abandon_after=context.config.abandon_after
            )
            if swept.uploads or swept.blobs:
                log.info("file sweep", extra={"uploads": swept.uploads, "blobs": swept.blobs})
        except Exception:
            log.exception("file sweep failed; retrying in an hour")
        await asyncio.sleep(3600)


async def _listen(what: str, host: str, port: int, starting: Any) -> Any:
    try:
        return await starting
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"{what} port {host}:{port} is already in use (another isecom running?)") from None
        raise ConfigError(f"cannot listen for {what} on {host}:{port}: {exc.strerror}") from None

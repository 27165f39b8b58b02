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
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from isecom.clock import SystemClock
from isecom.config import Config
from isecom.context import Context
from isecom.errors import ConfigError, Unavailable
from isecom.mailer.delivery import Mailer
from isecom.mailer.transport import DirectorySink, SmtpRelay, Transport
from isecom.services import applications, keydir
from isecom.smtp import gateway
from keyserver.app import create_app as create_keyserver
from storage import migrate
from storage.blobs import FileBlobStore
from storage.db import make_engine
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
        yield Context(config=config, store=store, blobs=FileBlobStore(config.blob_dir), clock=SystemClock())
    finally:
        await store.close()


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


def build_web_app(context: Context) -> web.Application:
    app = create_webmail(context)
    app.add_subapp("/keys", create_keyserver(context))
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


async def serve(config: Config, *, stop: asyncio.Event | None = None) -> None:
    """Serve HTTP and SMTP until SIGINT/SIGTERM (or until ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await check_database(config)
    async with open_context(config) as context:
        await context.blobs.check_writable()
        runner = web.AppRunner(build_web_app(context), access_log_class=AccessLogger, handle_signals=False)
        await runner.setup()
        smtp_server: asyncio.Server | None = None
        try:
            await _listen(
                "HTTP",
                config.http.host,
                config.http.port,
                web.TCPSite(runner, config.http.host, config.http.port).start(),
            )
            smtp_server = await _listen(
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
            delivery = asyncio.create_task(make_mailer(context).run(), name="outbox")
            terms = asyncio.create_task(_sweep_terms_hourly(context), name="terms")
            checkpoints = asyncio.create_task(_sign_checkpoints(context), name="checkpoints")
            log.info("configuration", extra=config.describe())
            print(f"isecom: HTTP on http://{config.http}  SMTP on {config.smtp}  (Ctrl-C stops)", flush=True)
            await stop.wait()
            delivery.cancel()
            terms.cancel()
            checkpoints.cancel()
        finally:
            if smtp_server is not None:
                smtp_server.close()
            await runner.cleanup()


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


async def _listen(what: str, host: str, port: int, starting: Any) -> Any:
    try:
        return await starting
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"{what} port {host}:{port} is already in use (another isecom running?)") from None
        raise ConfigError(f"cannot listen for {what} on {host}:{port}: {exc.strerror}") from None

"""Prometheus metrics on a listener of their own (``[metrics] listen``), never on the public port.

What is measured, and nothing else (no member id, address, subject or raw path ever becomes a
label): HTTP requests by method, route *template* (``/api/v1/messages/{msg_id}``) and status
class, with their latency; SMTP replies by command and code class (read from the gateway's
content-free log records, so the gateway needs no hook); ciphertext bytes written to the blob
store (evidence uploads); and, read from the database at each scrape, the outbox depth, the
mail that gave up, and the key-log size.

Protection: the endpoint listens on its own address, which nginx never proxies. On a loopback
address it needs nothing more; on any other address ``metrics.token_file`` is required and
every scrape must carry ``Authorization: Bearer <token>`` (config.py refuses otherwise).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from isecom.config import MetricsSettings
from isecom.crypto.tokens import equal
from isecom.services.ports import BlobStore

Gauges = Callable[[], Awaitable[dict[str, int]]]
_SMTP_LOGGER = "isecom.smtp"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One process's registry (each ``isecom serve`` process is scraped on its own port)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "isecom_http_requests",
            "HTTP requests by route template and status class",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "isecom_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.smtp = Counter(
            "isecom_smtp_replies", "SMTP replies by command and code class", ["command", "code_class"], registry=r
        )
        self.upload_bytes = Counter(
            "isecom_blob_written_bytes", "Ciphertext bytes written to the blob store (evidence chunks)", registry=r
        )
        self.outbox_pending = Gauge("isecom_outbox_pending", "Notification mails not yet sent", registry=r)
        self.outbox_failed = Gauge("isecom_outbox_failed", "Notification mails given up after retries", registry=r)
        self.keylog_size = Gauge("isecom_keylog_entries", "Entries in the key-transparency log", registry=r)
        self._smtp_handler: _SmtpReplies | None = None

    # --- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        start = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            route = _route(request)
            method = request.method if request.method in _METHODS else "OTHER"  # labels stay a finite set
            self.requests.labels(method, route, f"{status // 100}xx").inc()
            self.latency.labels(method, route).observe(time.perf_counter() - start)

    def instrument(self, app: web.Application) -> None:
        """Measure every request of ``app`` (call before it starts)."""
        app.middlewares.insert(0, self.middleware)

    # --- SMTP -------------------------------------------------------------------------------

    def watch_smtp(self) -> None:
        """Count the gateway's replies from its log records (which carry only commands and codes)."""
        if self._smtp_handler is not None:
            return
        self._smtp_handler = _SmtpReplies(self.smtp)
        logger = logging.getLogger(_SMTP_LOGGER)
        if not logger.isEnabledFor(logging.INFO):
            # The records must exist to be counted; keep the configured level for what is printed.
            configured = logging.getLogger().getEffectiveLevel()
            for handler in logging.getLogger().handlers:
                handler.setLevel(max(handler.level, configured))
            logger.setLevel(logging.INFO)
        logger.addHandler(self._smtp_handler)

    def close(self) -> None:
        if self._smtp_handler is not None:
            logging.getLogger(_SMTP_LOGGER).removeHandler(self._smtp_handler)
            self._smtp_handler = None

    # --- Blobs ------------------------------------------------------------------------------

    def meter(self, blobs: BlobStore) -> BlobStore:
        return _MeteredBlobs(blobs, self.upload_bytes)

    # --- Exposition -------------------------------------------------------------------------

    async def render(self, gauges: Gauges) -> bytes:
        values = await gauges()
        self.outbox_pending.set(values.get("outbox_pending", 0))
        self.outbox_failed.set(values.get("outbox_failed", 0))
        self.keylog_size.set(values.get("keylog_entries", 0))
        return generate_latest(self.registry)


def _route(request: web.Request) -> str:
    """The matched route's template, never the raw path (which may hold ids)."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    return resource.canonical


class _SmtpReplies(logging.Handler):
    def __init__(self, counter: Counter) -> None:
        super().__init__(logging.INFO)
        self.counter = counter

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "smtp refused":
            code = getattr(record, "reply", 0)
            command = str(getattr(record, "command", "other"))
            self.counter.labels(command, f"{int(code) // 100}xx" if isinstance(code, int) else "other").inc()
        elif record.msg == "inbound mail stored":
            self.counter.labels("DATA", "2xx").inc()


class _MeteredBlobs:
    """The blob store, counting the bytes written through it."""

    def __init__(self, inner: BlobStore, counter: Counter) -> None:
        self.inner = inner
        self.counter = counter

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        written = await self.inner.put(blob_id, chunks, max_bytes=max_bytes)
        self.counter.inc(written)
        return written

    def get(self, blob_id: str) -> AsyncIterator[bytes]:
        return self.inner.get(blob_id)

    async def size(self, blob_id: str) -> int:
        return await self.inner.size(blob_id)

    async def exists(self, blob_id: str) -> bool:
        return await self.inner.exists(blob_id)

    async def delete(self, blob_id: str) -> bool:
        return await self.inner.delete(blob_id)

    def listing(self, *, older_than: float) -> AsyncIterator[str]:
        return self.inner.listing(older_than=older_than)

    async def check_writable(self) -> None:
        await self.inner.check_writable()


def create_app(metrics: Metrics, settings: MetricsSettings, gauges: Gauges) -> web.Application:
    """``GET /metrics`` and nothing else; a bearer token when one is configured."""

    async def scrape(request: web.Request) -> web.Response:
        if settings.token:
            given = request.headers.get("Authorization", "")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not equal(token.strip().encode(), settings.token):
                return web.Response(status=401, text="unauthorized\n", headers={"WWW-Authenticate": "Bearer"})
        body = await metrics.render(gauges)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app

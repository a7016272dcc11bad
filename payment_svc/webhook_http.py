"""POST /webhooks/stripe: 2xx when handled or a duplicate, 400 when refused, 5xx so Stripe retries.

The listener faces the internet, so a slow or greedy sender is cut off: a request head must arrive
within `webhook_header_timeout_s` of the connection opening (or of the last response on a kept-alive
one), a body within `webhook_body_timeout_s` (else 408), and connections past `webhook_max_connections`
are answered 503 and closed.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from payment_svc import metrics
from payment_svc.config import Settings
from payment_svc.errors import InvalidWebhook, WebhooksNotConfigured
from payment_svc.webhooks import WebhookProcessor
from svckit import tracing
from svckit.data_guard import DataGuard
from svckit.errors import ServiceError, Unavailable
from svckit.logs import adopt_correlation_id
from svckit.redis_client import backend_unavailable

log = logging.getLogger(__name__)

PATH = "/webhooks/stripe"
_PROCESSOR = web.AppKey("processor", WebhookProcessor)
_BODY_TIMEOUT_S = web.AppKey("body_timeout_s", float)
_DATA_GUARD = web.AppKey("data_guard", DataGuard)
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class WebhookServer:
    def __init__(
        self, processor: WebhookProcessor, settings: Settings, data_guard: DataGuard | None = None
    ) -> None:
        # aiohttp answers 413 itself for a body over client_max_size.
        self._app = web.Application(
            client_max_size=settings.webhook_max_body_bytes, middlewares=[metrics.count_webhook_responses]
        )
        self._app[_PROCESSOR] = processor
        self._app[_BODY_TIMEOUT_S] = settings.webhook_body_timeout_s
        if data_guard is not None:
            self._app[_DATA_GUARD] = data_guard
        self._app.router.add_post(PATH, _receive)
        # aiohttp binds every interface, IPv4 and IPv6, for host None.
        host = settings.grpc_host
        self._host = None if host in ("[::]", "::", "0.0.0.0") else host
        self._port = settings.webhook_port
        self._header_timeout_s = settings.webhook_header_timeout_s
        self._max_connections = settings.webhook_max_connections
        self._runner: web.AppRunner | None = None
        self.port = 0  # the bound port once started

    async def start(self) -> None:
        # aiohttp's keep-alive timer runs from the connection's start (or its last response) and is not
        # reset by incoming bytes, so it closes a connection that dribbles its request head, too. No
        # lingering: a body left unread after a 408 or 413 is not drained for another 10 s.
        self._runner = web.AppRunner(
            self._app, access_log=None, keepalive_timeout=self._header_timeout_s, lingering_time=0
        )
        await self._runner.setup()
        await _CappedSite(self._runner, self._host, self._port, self._max_connections).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class _CappedSite(web.TCPSite):
    """A TCPSite that answers 503 and closes each connection past `max_connections` open ones."""

    def __init__(self, runner: web.AppRunner, host: str | None, port: int, max_connections: int) -> None:
        super().__init__(runner, host, port)
        self._max_connections = max_connections
        self._refusing = False

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner, which stops it
        server = self._runner.server
        assert server is not None

        def connection() -> asyncio.Protocol:
            if len(server.connections) < self._max_connections:
                self._refusing = False
                return server()
            if not self._refusing:  # once per saturation, not once per connection
                log.warning(
                    "webhook connections at the cap; refusing more", extra={"cap": self._max_connections}
                )
                self._refusing = True
            return _Busy()

        self._server = await asyncio.get_running_loop().create_server(connection, self._host, self._port)


class _Busy(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(_BUSY)  # type: ignore[attr-defined]
        transport.close()


async def _receive(request: web.Request) -> web.Response:
    adopt_correlation_id(None)  # until the verified event names the customer action it belongs to
    with tracing.server_span(f"POST {PATH}", {"http.request.method": "POST", "url.path": PATH}):
        return await _handle(request)


async def _handle(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(request.app[_BODY_TIMEOUT_S]):
            payload = await request.read()
    except TimeoutError:
        log.info("webhook body too slow; connection closed")
        response = web.json_response({"error": {"reason": "REQUEST_TIMEOUT"}}, status=408)
        response.force_close()  # no keep-alive: the rest of the body would be read as the next request
        return response
    signature = request.headers.get("Stripe-Signature", "")
    try:
        guard = request.app.get(_DATA_GUARD)
        if guard is not None:
            guard.refuse_mutation()  # Stripe retries for days: the event waits for the operator
        result = await request.app[_PROCESSOR].handle(payload, signature)
    except (InvalidWebhook, WebhooksNotConfigured) as err:
        # A bad signature or no configured secret: refused, and nothing changed.
        return web.json_response({"error": {"reason": err.reason, "message": err.message}}, status=400)
    except Exception as err:
        if isinstance(err, Unavailable) or backend_unavailable(err):
            log.warning("webhook not processed, Stripe will retry: %s", err)
            return web.json_response({"error": {"reason": "UNAVAILABLE", "message": str(err)}}, status=503)
        if isinstance(err, ServiceError):
            log.error("webhook not processed: %s", err)
            return web.json_response({"error": {"reason": err.reason, "message": err.message}}, status=500)
        raise
    return web.json_response(
        {
            "received": True,
            "event_id": result.event_id,
            "event_type": result.event_type,
            "duplicate": result.duplicate,
            "outcome": result.outcome,
        }
    )

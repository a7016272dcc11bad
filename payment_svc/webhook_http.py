"""POST /webhooks/stripe: 2xx when handled or a duplicate, 400 when refused, 5xx so Stripe retries."""

from __future__ import annotations

import logging

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from payment_svc.errors import InvalidWebhook, WebhooksNotConfigured
from payment_svc.webhooks import WebhookProcessor
from svckit.errors import ServiceError, Unavailable

log = logging.getLogger(__name__)

PATH = "/webhooks/stripe"
_PROCESSOR = web.AppKey("processor", WebhookProcessor)


class WebhookServer:
    def __init__(self, processor: WebhookProcessor, *, host: str, port: int, max_body_bytes: int) -> None:
        # aiohttp answers 413 itself for a body over client_max_size.
        self._app = web.Application(client_max_size=max_body_bytes)
        self._app[_PROCESSOR] = processor
        self._app.router.add_post(PATH, _receive)
        # aiohttp binds every interface, IPv4 and IPv6, for host None.
        self._host = None if host in ("[::]", "::", "0.0.0.0") else host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = 0  # the bound port once started

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def _receive(request: web.Request) -> web.Response:
    payload = await request.read()
    signature = request.headers.get("Stripe-Signature", "")
    try:
        result = await request.app[_PROCESSOR].handle(payload, signature)
    except (InvalidWebhook, WebhooksNotConfigured) as err:
        # A bad signature or no configured secret: refused, and nothing changed.
        return web.json_response({"error": {"reason": err.reason, "message": err.message}}, status=400)
    except (Unavailable, RedisConnectionError, RedisTimeoutError) as err:
        log.warning("webhook not processed, Stripe will retry: %s", err)
        return web.json_response({"error": {"reason": "UNAVAILABLE", "message": str(err)}}, status=503)
    except ServiceError as err:
        log.error("webhook not processed: %s", err)
        return web.json_response({"error": {"reason": err.reason, "message": err.message}}, status=500)
    return web.json_response(
        {
            "received": True,
            "event_id": result.event_id,
            "event_type": result.event_type,
            "duplicate": result.duplicate,
            "outcome": result.outcome,
        }
    )

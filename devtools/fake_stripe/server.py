"""FakeStripe: serves the fake Stripe API on a local port and exposes controls for tests."""

import asyncio
import contextlib
import json
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from .app import CARD_FAILURES, build_app
from .signing import sign
from .state import RecordedRequest, Store

FAILURE_KINDS = (*CARD_FAILURES, "rate_limit", "server_error", "drop_connection")


@dataclass
class _Failure:
    method: str | None  # None matches any method
    path_prefix: str
    kind: str
    times: int


class FakeStripe:
    """In-process fake; `await start()` returns its base URL for `StripeClient(base_addresses=...)`.

    Every event (from API calls or the controls below) lands in `events`; with a webhook URL and
    secret it is also POSTed there, signed like Stripe does.
    """

    def __init__(
        self, *, webhook_url: str | None = None, webhook_secret: str | None = None, latency_ms: int = 0
    ):
        if bool(webhook_url) != bool(webhook_secret):
            raise ValueError("webhook_url and webhook_secret go together")
        self.latency_ms = latency_ms
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.requests: list[RecordedRequest] = []
        self.store = Store(on_event=self._queue_webhook)
        self.url = ""
        self._failures: list[_Failure] = []
        self._webhooks: asyncio.Queue[dict] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self._sender: asyncio.Task | None = None
        self._answering = asyncio.Event()
        self._answering.set()

    @property
    def events(self) -> list[dict]:
        return self.store.events

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(build_app(self), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.url = self.store.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        if self.webhook_url:
            self._sender = asyncio.create_task(self._send_webhooks())
        return self.url

    async def stop(self) -> None:
        self._answering.set()  # lets hung requests finish, so shutdown does not wait for them
        if self._sender:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeStripe":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def clear(self) -> None:
        """Forgets recorded requests and events (objects stay)."""
        self.requests.clear()
        self.events.clear()

    def calls(self, method: str, path_prefix: str = "/v1/") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method.upper() and r.path.startswith(path_prefix)]

    def fail_next(self, path_prefix: str, kind: str, times: int = 1, *, method: str | None = None) -> None:
        """Makes the next `times` matching API calls fail with `kind` (see FAILURE_KINDS).

        drop_connection runs the request, then closes the socket unanswered (a retry with the
        same Idempotency-Key gets the saved answer); card kinds on POST /v1/payment_intents decline
        through the normal charge flow (the error carries the PaymentIntent).
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}")
        self._failures.append(_Failure(method and method.upper(), path_prefix, kind, times))

    def take_failure(self, method: str, path: str) -> str | None:
        for failure in self._failures:
            if failure.method in (None, method) and path.startswith(failure.path_prefix):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure.kind
        return None

    def hang(self, on: bool = True) -> None:
        """While on, API calls are accepted (connection and request read) but never answered."""
        if on:
            self._answering.clear()
        else:
            self._answering.set()

    async def wait_while_hanging(self) -> None:
        await self._answering.wait()

    def attach_card(self, customer_id: str, kind: str = "ok") -> str:
        """Saves a card to the customer and returns its id; `kind` ("ok", "decline", "auth_required")
        decides how charging it goes (auth_required fails off-session, needs action on-session)."""
        return self.store.attach_card(customer_id, kind)["id"]

    def complete_session(self, session_id: str, *, paid: bool = True) -> dict:
        """The customer pays (or leaves a pending payment); returns checkout.session.completed."""
        return self.store.complete_session(session_id, paid)

    def expire_session(self, session_id: str) -> dict:
        return self.store.expire_session(session_id)

    def refund_event(self, refund_id: str) -> dict:
        """A (new) charge.refunded event for the refund's charge as it is now."""
        refund = self.store.get(refund_id, "refund")
        return self.store.emit("charge.refunded", self.store.get(refund["charge"], "charge"))

    def settle_async_payment(self, session_id: str, *, succeeded: bool = True) -> dict:
        """A session completed unpaid settles; returns checkout.session.async_payment_succeeded/failed."""
        return self.store.settle_async_payment(session_id, succeeded)

    def fail_refund(self, refund_id: str) -> dict:
        """The refund fails after it succeeded; returns charge.refund.updated."""
        return self.store.fail_refund(refund_id)

    def create_dispute(self, charge_id: str, amount: int | None = None) -> dict:
        """The cardholder disputes the charge (in full by default); returns charge.dispute.created."""
        return self.store.create_dispute(charge_id, amount)

    def close_dispute(self, dispute_id: str, won: bool) -> dict:
        """Returns charge.dispute.closed with status won or lost."""
        return self.store.close_dispute(dispute_id, won)

    def payment_link_session(
        self, amount: int, currency: str, client_reference_id: str, metadata: dict | None = None
    ) -> dict:
        """An open Checkout Session of a Payment Link: the buyer chose `client_reference_id` in its URL."""
        return self.store.payment_link_session(amount, currency, client_reference_id, metadata)

    def payment_intent_event(self, payment_intent_id: str, type: str = "payment_intent.succeeded") -> dict:
        return self.store.emit(type, self.store.get(payment_intent_id, "payment_intent"))

    async def flush_webhooks(self) -> None:
        """Waits until every queued event has been delivered (or given up on)."""
        await self._webhooks.join()

    def _queue_webhook(self, event: dict) -> None:
        if self.webhook_url:
            self._webhooks.put_nowait(event)

    async def _send_webhooks(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            while True:
                event = await self._webhooks.get()
                payload = json.dumps(event, indent=2).encode()
                for attempt in range(3):  # Stripe retries for days; a few quick tries suit tests
                    headers = {
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": sign(payload, self.webhook_secret),
                        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    }
                    try:
                        async with http.post(self.webhook_url, data=payload, headers=headers) as resp:
                            if resp.status < 300:
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    await asyncio.sleep(0.2 * (attempt + 1))
                self._webhooks.task_done()

"""One correlation id on every log line of one customer action, across the three services."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from balance.v1 import balance_service_pb2 as bal
from payment.v1 import payment_service_pb2 as pb

from svckit.logs import CORRELATION_ID_HEADER, JsonFormatter
from tests.payment.support import CANCEL_URL, SUCCESS_URL, eventually, unique


class _Lines(logging.Handler):
    """Formats each record as it is emitted, in the emitting task's context, as production does."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def log_lines() -> Iterator[list[dict]]:
    root = logging.getLogger()
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# Library lines about connections, not work: grpc's "Loaded running loop" (from its callbacks for each new
# call) and redis-py's handshake notes (from whichever background poll opens a pooled connection).
_PLUMBING = {"grpc._cython.cygrpc", "redis.asyncio.connection"}


def foreign(lines: list[dict], correlation_id: str) -> list[dict]:
    """Lines under another id, or under none unless they are connection plumbing outside any task's work."""
    return [
        line
        for line in lines
        if line["correlation_id"] != correlation_id
        and not (line["correlation_id"] is None and line["logger"] in _PLUMBING)
    ]


def services_called(lines: list[dict]) -> set[str]:
    return {line["method"].split("/")[1] for line in lines if line["logger"] == "rpc"}


async def test_every_log_line_of_one_top_up_carries_the_callers_correlation_id(stack):
    account, correlation_id = unique("acct"), unique("corr")
    request = pb.CreateTopUpSessionRequest(
        account_id=account, blocks=1, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, request_id=unique("req")
    )
    with log_lines() as lines:
        session = await stack.payment.CreateTopUpSession(
            request, metadata=((CORRELATION_ID_HEADER, correlation_id),)
        )
        await stack.deliver(stack.fake.complete_session(session.session_id))  # its webhook, at once
    assert await stack.balance_of(account) == 1000
    assert services_called(lines) == {"payment.v1.PaymentService", "balance.v1.BalanceService"}
    assert "/balance.v1.BalanceService/Credit" in {line.get("method") for line in lines}
    assert len(lines) > 20 and foreign(lines, correlation_id) == []


async def test_every_log_line_of_one_purchase_with_a_code_carries_it_into_pricing_too(stack):
    await stack.create_code("CORR10", percent_off=10)
    correlation_id = unique("corr")
    request = pb.CreateCheckoutSessionRequest(
        account_id=unique("acct"),
        product_id="launch-product",
        discount_code="CORR10",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id=unique("req"),
    )
    with log_lines() as lines:
        session = await stack.payment.CreateCheckoutSession(
            request, metadata=((CORRELATION_ID_HEADER, correlation_id),)
        )
        await stack.deliver(stack.fake.complete_session(session.session_id))
    assert (await stack.code("CORR10")).redeemed_count == 1
    assert "pricing.v1.PricingService" in services_called(lines)
    assert len(lines) > 20 and foreign(lines, correlation_id) == []


async def test_a_sweep_logs_under_the_correlation_id_of_the_order_it_finishes(stack):
    correlation_id = unique("corr")
    request = pb.CreateTopUpSessionRequest(
        account_id=unique("acct"),
        blocks=1,
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id=unique("req"),
    )
    session = await stack.payment.CreateTopUpSession(
        request, metadata=((CORRELATION_ID_HEADER, correlation_id),)
    )
    stack.fake.complete_session(session.session_id)  # the webhook is lost
    stack.clock.advance(601 * 1000)
    with log_lines() as lines:
        assert await stack.parts.reconciler.sweep_once() == {session.order.order_id: "fulfilled"}
    assert "/balance.v1.BalanceService/Credit" in {line.get("method") for line in lines}
    assert foreign(lines, correlation_id) == []


async def test_an_auto_top_up_logs_under_the_correlation_id_of_the_debit_that_crossed(stack):
    account, correlation_id = unique("acct"), unique("corr")
    await stack.paid_top_up(account)  # 1000 in the balance and a saved card
    configure = pb.ConfigureAutoTopUpRequest(
        account_id=account, request_id=unique("cfg"), enabled=True, threshold_minor=500, blocks=2,
        max_spend_minor=10_000,
    )  # fmt: skip
    await stack.payment.ConfigureAutoTopUp(configure)
    debit = bal.DebitRequest(
        account_id=account, amount_minor=600, reason=bal.TRANSACTION_REASON_USAGE, request_id=unique("spend")
    )
    with log_lines() as lines:
        await stack.balance.Debit(debit, metadata=((CORRELATION_ID_HEADER, correlation_id),))
        await eventually(stack.low_balance_events_handled)
    assert await stack.balance_of(account) == 400 + 2000
    assert "payment_svc.low_balance_consumer" in {line["logger"] for line in lines}
    assert "/balance.v1.BalanceService/Credit" in {line.get("method") for line in lines}
    assert foreign(lines, correlation_id) == []

"""Fulfilment checks Stripe's facts against the order: its own session or intent, mode, currency, amount."""

from __future__ import annotations

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import eventually, payload_of, refused, unique

FAILED = grpc.StatusCode.FAILED_PRECONDITION


def _session_of(stack, session_id: str) -> dict:
    return stack.fake.store.get(session_id, "checkout.session")


async def _seed_balance(stack, account: str, currency: str) -> None:
    """Fixes the account's currency, as an earlier credit (e.g. an admin adjustment) would."""
    request = bal.CreditRequest(
        account_id=account,
        amount_minor=500,
        currency=currency,
        reason=bal.TRANSACTION_REASON_TOP_UP,
        reference="seed",
        request_id=unique("seed"),
    )
    await stack.balance.Credit(request)


@pytest.mark.parametrize("carried_by", ["client_reference_id", "copied metadata"])
async def test_foreign_session_carrying_our_order_id_credits_nothing(any_stack, carried_by):
    stack = any_stack
    account = unique("acct")
    ours = await stack.top_up_session(account, 50)  # a $500 top-up waiting to be paid
    order_id = ours.order.order_id
    metadata = {"order_id": order_id} if carried_by == "copied metadata" else None
    # A Payment Link on the same Stripe account, its URL carrying our order id, paid at $1.
    link = stack.fake.payment_link_session(100, "usd", order_id, metadata)
    completed = stack.fake.complete_session(link["id"])
    body = await stack.deliver(completed)
    assert body["outcome"] == "payment_mismatch"
    assert await stack.balance_of(account) == 0
    order = await stack.order(order_id)
    assert (order.status, order.paid_minor) == (pb.ORDER_STATUS_PENDING, 0)
    assert stack.parts.fulfilment.mismatches["FOREIGN_OBJECT"] == 1
    assert stack.fake.calls("POST", "/v1/refunds") == []  # not our payment to give back


async def test_foreign_session_is_logged_at_error_with_both_sides(stack, caplog):
    account = unique("acct")
    ours = await stack.top_up_session(account, 1)
    link = stack.fake.payment_link_session(100, "usd", ours.order.order_id)
    await stack.deliver(stack.fake.complete_session(link["id"]))
    (record,) = [r for r in caplog.records if r.levelname == "ERROR" and "does not match" in r.getMessage()]
    assert (record.order_session, record.stripe_session) == (ours.session_id, link["id"])


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [({"amount_total": 100}, "AMOUNT_MISMATCH"), ({"currency": "eur"}, "CURRENCY_MISMATCH")],
)
async def test_mismatched_payment_on_our_session_credits_nothing_and_is_refunded(any_stack, tamper, reason):
    stack = any_stack
    account, order_id, completed = await stack.completed_top_up()
    order = await stack.order(order_id)
    _session_of(stack, order.stripe_checkout_session_id).update(tamper)  # what Stripe reports now
    for _ in range(2):  # a replay changes nothing more
        assert (await stack.deliver({**completed, "id": unique("evt")}))["outcome"] == "needs_attention"
    assert await stack.balance_of(account) == 0
    order = await stack.order(order_id)
    assert (order.status, order.failure_reason) == (pb.ORDER_STATUS_NEEDS_ATTENTION, reason)
    (refund,) = stack.fake.calls("POST", "/v1/refunds")
    assert refund.idempotency_key == f"attention-{order_id}"
    assert order.attention_refund_id.startswith("re_")
    assert stack.parts.fulfilment.mismatches[reason] == 2


async def test_event_copy_claiming_paid_is_not_trusted(stack):
    account = unique("acct")
    session = await stack.top_up_session(account, 1)
    completed = stack.fake.complete_session(session.session_id, paid=False)
    forged = {**completed, "id": unique("evt")}
    forged["data"] = {
        "object": {**completed["data"]["object"], "payment_status": "paid", "amount_total": 1000}
    }
    assert (await stack.deliver(forged))["outcome"] == "awaiting_payment"
    assert await stack.balance_of(account) == 0


async def test_product_paid_less_under_a_promotion_code_records_what_was_paid(start_stack, single_redis):
    stack = await start_stack(single_redis, allow_promotion_codes=True)
    response = await stack.checkout(unique("acct"), "launch-product")
    completed = stack.fake.complete_session(response.session_id)
    _session_of(stack, response.session_id).update(amount_total=2000)  # a Stripe promotion code
    assert (await stack.deliver(completed))["outcome"] == "fulfilled"
    order = await stack.order(response.order.order_id)
    assert (order.amount_minor, order.paid_minor) == (2999, 2000)
    (event,) = await stack.order_events()
    assert (event["type"], event["amount_minor"]) == ("order.paid", "2000")


async def test_top_up_is_never_discounted(start_stack, single_redis):
    stack = await start_stack(single_redis, allow_promotion_codes=True)
    account, order_id, completed = await stack.completed_top_up()
    _session_of(stack, (await stack.order(order_id)).stripe_checkout_session_id).update(amount_total=900)
    assert (await stack.deliver(completed))["outcome"] == "needs_attention"
    assert await stack.balance_of(account) == 0


async def test_payment_in_the_other_mode_credits_nothing(stack):
    account, order_id, completed = await stack.completed_top_up()
    _session_of(stack, (await stack.order(order_id)).stripe_checkout_session_id).update(livemode=True)
    assert (await stack.deliver(completed))["outcome"] == "payment_mismatch"
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_PENDING
    assert await stack.balance_of(account) == 0


async def test_currency_mismatched_top_ups_are_refused_before_any_charge(stack):
    account = unique("acct")
    await _seed_balance(stack, account, "EUR")
    await refused(stack.top_up_session(account, 1), FAILED, "CURRENCY_MISMATCH")
    await refused(stack.saved_card_top_up(account, 1), FAILED, "CURRENCY_MISMATCH")
    assert stack.fake.requests == []
    assert await stack.balance_of(account) == 500


async def test_currency_mismatched_auto_top_up_charges_nothing(stack):
    account = unique("acct")
    await _seed_balance(stack, account, "EUR")
    request = pb.ConfigureAutoTopUpRequest(
        account_id=account, enabled=True, threshold_minor=600, blocks=1, max_spend_minor=5000, request_id="c1"
    )
    await stack.payment.ConfigureAutoTopUp(request)
    await stack.low_balance_event(account, 500, 600)
    await eventually(stack.low_balance_events_handled)
    settings = (await stack.payment.GetAutoTopUp(pb.GetAutoTopUpRequest(account_id=account))).auto_top_up
    assert settings.consecutive_failures == 1
    assert stack.fake.calls("POST", "/v1/payment_intents") == []


@pytest.mark.parametrize("auto_refund", [True, False])
async def test_paid_order_that_cannot_be_credited_ends_needs_attention_without_a_5xx_loop(
    start_stack, single_redis, auto_refund
):
    stack = await start_stack(single_redis, needs_attention_auto_refund=auto_refund)
    account, order_id, completed = await stack.completed_top_up()
    await _seed_balance(stack, account, "EUR")  # e.g. an admin adjustment between checkout and payment
    for _ in range(3):
        status, body = await stack.post(payload_of({**completed, "id": unique("evt")}))
        assert (status, body["outcome"]) == (200, "needs_attention")
    order = await stack.order(order_id)
    assert (order.status, order.failure_reason) == (pb.ORDER_STATUS_NEEDS_ATTENTION, "CURRENCY_MISMATCH")
    assert await stack.balance_of(account) == 500
    assert len(stack.fake.calls("POST", "/v1/refunds")) == (1 if auto_refund else 0)
    stack.clock.advance(3600 * 1000)
    assert order_id not in await stack.parts.reconciler.sweep_once()  # terminal: never swept again


async def test_lasting_refusal_while_applying_an_event_is_acknowledged_not_retried(stack, caplog):
    account, order_id, completed = await stack.completed_top_up()
    order = await stack.order(order_id)
    _session_of(stack, order.stripe_checkout_session_id).update(amount_total=100)
    stack.fake.fail_next("/v1/refunds", "card_declined")  # Stripe refuses the automatic refund
    status, body = await stack.post(payload_of(completed))
    assert (status, body["outcome"]) == (200, "not_applied")
    assert (await stack.order(order_id)).status == pb.ORDER_STATUS_NEEDS_ATTENTION
    assert any(r.levelname == "ERROR" and "not applied" in r.getMessage() for r in caplog.records)
    assert await stack.balance_of(account) == 0

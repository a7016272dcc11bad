"""Top-up sessions and reading orders: GetOrder and ListOrders, on a single Redis and on a Cluster."""

from __future__ import annotations

import grpc
import pytest
from payment.v1 import payment_service_pb2 as pb

from tests.payment.support import CANCEL_URL, SUCCESS_URL, refused, unique

INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def test_top_up_of_three_blocks_charges_3000(any_stack):
    account = unique("acct")
    response = await any_stack.top_up_session(account, 3)
    order = response.order
    assert (order.kind, order.blocks, order.amount_minor, order.currency) == (
        pb.ORDER_KIND_TOP_UP,
        3,
        3000,
        "USD",
    )
    (create,) = any_stack.fake.calls("POST", "/v1/checkout/sessions")
    assert create.params["line_items"][0]["price_data"]["unit_amount"] == "3000"
    assert create.params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert create.params["metadata"]["kind"] == "TOP_UP"
    assert "discounts" not in create.params
    assert any_stack.fake.store.get(response.session_id, "checkout.session")["amount_total"] == 3000


@pytest.mark.parametrize("blocks", [0, -1, 51])
async def test_top_up_blocks_out_of_range_are_invalid_and_call_no_stripe(stack, blocks):
    await refused(stack.top_up_session(unique("acct"), blocks), INVALID, "INVALID_ARGUMENT")
    await refused(stack.saved_card_top_up(unique("acct"), blocks), INVALID, "INVALID_ARGUMENT")
    assert stack.fake.requests == []


async def test_top_up_with_bad_url_is_invalid(stack):
    bad = stack.top_up_session(unique("acct"), 1, success_url="not a url")
    await refused(bad, INVALID, "INVALID_ARGUMENT")
    assert stack.fake.requests == []


async def test_get_order_reads_what_was_created(any_stack):
    created = (await any_stack.top_up_session(unique("acct"), 2)).order
    read = await any_stack.order(created.order_id)
    assert read == created
    assert [c.status for c in read.history] == [pb.ORDER_STATUS_PENDING]
    assert read.checkout_url.startswith("http")


async def test_get_unknown_order_is_not_found(stack):
    await refused(
        stack.payment.GetOrder(pb.GetOrderRequest(order_id="ord_0123456789abcdef01234567")),
        grpc.StatusCode.NOT_FOUND,
        "ORDER_NOT_FOUND",
    )
    await refused(stack.payment.GetOrder(pb.GetOrderRequest(order_id="nope")), INVALID, "INVALID_ARGUMENT")


async def test_list_orders_pages_newest_first(any_stack):
    account = unique("acct")
    created = []
    for blocks in range(1, 6):
        created.append((await any_stack.top_up_session(account, blocks)).order.order_id)
        any_stack.clock.advance(1000)
    await any_stack.top_up_session(unique("other"), 1)
    seen, token = [], ""
    while True:
        request = pb.ListOrdersRequest(account_id=account, page_size=2, page_token=token)
        page = await any_stack.payment.ListOrders(request)
        assert len(page.orders) <= 2
        seen.extend(o.order_id for o in page.orders)
        token = page.next_page_token
        if not token:
            break
    assert seen == created[::-1]


async def test_list_orders_of_unknown_account_is_empty(stack):
    page = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=unique("nobody")))
    assert (list(page.orders), page.next_page_token) == ([], "")


@pytest.mark.parametrize(
    "request_fields",
    [{"account_id": ""}, {"page_size": -1}, {"page_token": "garbage"}],
)
async def test_list_orders_bad_input_is_invalid(stack, request_fields):
    request = pb.ListOrdersRequest(**{"account_id": "acct-1", **request_fields})
    await refused(stack.payment.ListOrders(request), INVALID, "INVALID_ARGUMENT")


async def test_list_orders_page_size_above_the_maximum_is_coerced_down(stack):
    account = unique("acct")
    for _ in range(2):
        await stack.top_up_session(account, 1)
    page = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account, page_size=10_000))
    assert len(page.orders) == 2 and page.next_page_token == ""


async def test_list_orders_token_of_another_account_is_invalid(stack):
    account = unique("acct")
    for _ in range(2):
        await stack.top_up_session(account, 1)
    page = await stack.payment.ListOrders(pb.ListOrdersRequest(account_id=account, page_size=1))
    request = pb.ListOrdersRequest(account_id=unique("other"), page_token=page.next_page_token)
    await refused(stack.payment.ListOrders(request), INVALID, "INVALID_ARGUMENT")


async def test_top_up_session_urls_reach_stripe(stack):
    await stack.top_up_session(unique("acct"), 1)
    (create,) = stack.fake.calls("POST", "/v1/checkout/sessions")
    assert (create.params["success_url"], create.params["cancel_url"]) == (SUCCESS_URL, CANCEL_URL)

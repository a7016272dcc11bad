"""Measures (prints, never asserts) how long CreateCheckoutSession takes to answer with Stripe hung.

Run: MEASURE_STRIPE_HANG=1 .venv/bin/python -m pytest tests/payment/test_stripe_hang_timing.py -s -q
"""

from __future__ import annotations

import os
import time

import grpc
import pytest
from payment.v1 import payment_service_pb2 as pb

from svckit.status import error_info
from tests.payment.support import CANCEL_URL, SUCCESS_URL, unique

pytestmark = pytest.mark.skipif(not os.environ.get("MEASURE_STRIPE_HANG"), reason="a measurement, not a test")


@pytest.mark.parametrize("deadline_s", [5.0, 30.0])
async def test_time_to_unavailable_with_stripe_hung(stack, deadline_s):
    stack.fake.hang()
    request = pb.CreateCheckoutSessionRequest(
        account_id=unique("acct"),
        product_id="launch-product",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        request_id=unique("req"),
    )
    started = time.monotonic()
    try:
        await stack.payment.CreateCheckoutSession(request, timeout=deadline_s)
        answer = "OK"
    except grpc.aio.AioRpcError as err:
        info = error_info(err)
        answer = f"{err.code().name} {info.reason if info else ''}"
    elapsed = time.monotonic() - started
    stack.fake.hang(False)
    print(f"\nclient deadline {deadline_s:.0f} s: {answer} after {elapsed:.2f} s")

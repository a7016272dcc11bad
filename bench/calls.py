"""What each gRPC case sends: the method, the request for an account and request id, and what varies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from balance.v1 import balance_service_pb2 as bpb
from google.protobuf.message import Message
from payment.v1 import payment_service_pb2 as ppb
from pricing.v1 import pricing_service_pb2 as qpb

from bench import cases

REQUEST_ID_DIGITS = 10  # a request id is a per-process prefix and a zero-padded call number


@dataclass(frozen=True)
class Shape:
    path: str  # /package.Service/Method
    response: type[Message]
    make: Callable[[str, str], Message]  # (account id, request id) -> request
    account: str | None  # a fixed account id; None picks per call (spread) or sends none
    spread: bool = False  # a random account of the preloaded ones per call
    unique_request_id: bool = False  # a new request id per call (mutations); else one for the whole run


def _ledger(message, reason) -> Callable[[str, str], Message]:
    def make(account: str, request_id: str) -> Message:
        return message(
            account_id=account, amount_minor=1, currency=cases.CURRENCY, reason=reason, request_id=request_id
        )

    return make


_BALANCE, _PRICING, _PAYMENT = "/balance.v1.BalanceService/", "/pricing.v1.PricingService/", "/payment.v1."
_DEBIT = _ledger(bpb.DebitRequest, bpb.TRANSACTION_REASON_PURCHASE)
_CREDIT = _ledger(bpb.CreditRequest, bpb.TRANSACTION_REASON_TOP_UP)


def shape(case: str) -> Shape:
    debit = (_BALANCE + "Debit", bpb.DebitResponse, _DEBIT)
    credit = (_BALANCE + "Credit", bpb.CreditResponse, _CREDIT)
    hot = cases.HOT_ACCOUNT
    shapes = {
        "empty": Shape(*debit, None, spread=True, unique_request_id=True),
        "debit_spread": Shape(*debit, None, spread=True, unique_request_id=True),
        "debit_hot": Shape(*debit, hot, unique_request_id=True),
        "debit_replay": Shape(*debit, hot),
        "credit_spread": Shape(*credit, None, spread=True, unique_request_id=True),
        "credit_hot": Shape(*credit, hot, unique_request_id=True),
        "get_balance": Shape(
            _BALANCE + "GetBalance",
            bpb.GetBalanceResponse,
            lambda account, _: bpb.GetBalanceRequest(account_id=account),
            None,
            spread=True,
        ),
        "quote": Shape(
            _PRICING + "GetQuote",
            qpb.GetQuoteResponse,
            lambda *_: qpb.GetQuoteRequest(product_id=cases.PRODUCT_ID),
            None,
        ),
        "quote_code": Shape(
            _PRICING + "GetQuote",
            qpb.GetQuoteResponse,
            lambda account, _: qpb.GetQuoteRequest(
                product_id=cases.PRODUCT_ID, discount_code=cases.DISCOUNT_CODE, account_id=account
            ),
            None,
            spread=True,
        ),
        "checkout": Shape(
            _PAYMENT + "PaymentService/CreateCheckoutSession",
            ppb.CreateCheckoutSessionResponse,
            lambda account, request_id: ppb.CreateCheckoutSessionRequest(
                account_id=account,
                product_id=cases.PRODUCT_ID,
                success_url="https://bench.invalid/success",
                cancel_url="https://bench.invalid/cancel",
                request_id=request_id,
            ),
            cases.BUYER_ACCOUNT,
            unique_request_id=True,
        ),
    }
    if case not in shapes:
        raise SystemExit(f"{case!r} is not a gRPC case")
    return shapes[case]


def request_id(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:0{REQUEST_ID_DIGITS}d}"

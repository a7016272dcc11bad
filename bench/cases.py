"""The benchmark cases and the fixed names (accounts, product, code) that seeding and load share."""

from __future__ import annotations

from dataclasses import dataclass

HOT_ACCOUNT = "bench-hot"
BUYER_ACCOUNT = "bench-buyer"
MEMORY_ACCOUNT = "bench-mem"
PRODUCT_ID = "bench-product"
DISCOUNT_CODE = "BENCH10"
CURRENCY = "USD"


def account_id(index: int) -> str:
    """The spread accounts; account 0 is the template that preloading clones."""
    return f"bench-{index:07d}"


TEMPLATE_ACCOUNT = account_id(0)


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    target: str  # which process serves it: empty, balance, pricing, payment, redis, redis-benchmark
    baseline: bool = False
    mutation: bool = False  # one Redis round trip per call is the target
    # The certificate the load generator presents: the access policy lets storefront (roles storefront
    # and spender) debit and check out, and payment top up; anyone may read.
    identity: str = "storefront"


CASES = (
    Case("empty", "empty grpc.aio Debit handler", "empty", baseline=True),
    Case("redis_benchmark", "redis-benchmark EVALSHA (Debit script)", "redis-benchmark", baseline=True),
    Case("redis_py", "redis.asyncio EVALSHA (Debit script)", "redis", baseline=True),
    Case("script_pipe", "svckit ScriptPipe EVALSHA (Debit script)", "redis", baseline=True),
    Case("debit_spread", "Debit, spread over accounts", "balance", mutation=True),
    Case("debit_hot", "Debit, one hot account", "balance", mutation=True),
    Case("debit_replay", "Debit replayed (one request id)", "balance"),
    Case("credit_spread", "Credit, spread over accounts", "balance", mutation=True, identity="payment"),
    Case("credit_hot", "Credit, one hot account", "balance", mutation=True, identity="payment"),
    Case("get_balance", "GetBalance", "balance"),
    Case("quote", "GetQuote, no code", "pricing"),
    Case("quote_code", "GetQuote with a code", "pricing"),
    Case("checkout", "CreateCheckoutSession (fake Stripe)", "payment"),
)
BY_NAME = {c.name: c for c in CASES}

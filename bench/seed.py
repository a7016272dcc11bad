"""Seeds what the cases need through the real APIs, and clones accounts fast for the scale runs."""

from __future__ import annotations

import uuid

import grpc
import redis
from balance.v1 import balance_service_pb2 as bpb
from balance.v1 import balance_service_pb2_grpc as bgrpc
from pricing.v1 import pricing_service_pb2 as qpb
from pricing.v1 import pricing_service_pb2_grpc as qgrpc

from bench import cases
from bench.pki import ADMIN_TOKEN, TOOLS, Pki

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
# Enough that no run of hot-account debits can drain it.
PRELOAD_MINOR = 100_000_000


class Unavailable(Exception):
    """A seeding RPC answered UNIMPLEMENTED: the cases that need it are reported, not run."""


def new_request_id(kind: str) -> str:
    return f"seed-{kind}-{uuid.uuid4().hex}"


def call(method, request, **kwargs):
    try:
        return method(request, timeout=10, **kwargs)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise Unavailable(f"UNIMPLEMENTED: {exc.details()}") from exc
        raise


def seed_pricing(addr: str, pki: Pki) -> None:
    """One product priced in RRP mode and one 10 % code, written with the admin API (the admin token)."""
    with pki.channel(addr, TOOLS) as channel:
        stub = qgrpc.PricingServiceStub(channel)
        current = call(stub.GetPricingConfig, qpb.GetPricingConfigRequest(), metadata=ADMIN).config
        product = qpb.Product(
            product_id=cases.PRODUCT_ID,
            display_name="Benchmark product",
            currency=cases.CURRENCY,
            list_price_minor=10_000,
            launch_price_minor=8_000,
            base_mode=qpb.PRICING_MODE_RRP,
        )
        others = [p for p in current.products if p.product_id != cases.PRODUCT_ID]
        call(
            stub.UpdatePricingConfig,
            qpb.UpdatePricingConfigRequest(
                products=[*others, product],
                expected_version=current.version,
                request_id=new_request_id("config"),
            ),
            metadata=ADMIN,
        )
        code = qpb.DiscountCode(code=cases.DISCOUNT_CODE, kind=qpb.DISCOUNT_KIND_PERCENT, percent_off=10)
        try:
            call(
                stub.CreateDiscountCode,
                qpb.CreateDiscountCodeRequest(discount_code=code, request_id=new_request_id("code")),
                metadata=ADMIN,
            )
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise


def credit(stub: bgrpc.BalanceServiceStub, account: str, amount_minor: int) -> bpb.CreditResponse:
    """A top-up: `stub`'s channel must present the payment identity, the one the policy lets top up."""
    return call(
        stub.Credit,
        bpb.CreditRequest(
            account_id=account,
            amount_minor=amount_minor,
            currency=cases.CURRENCY,
            reason=bpb.TRANSACTION_REASON_TOP_UP,
            request_id=new_request_id("credit"),
        ),
    )


def seed_balance(addr: str, pki: Pki) -> None:
    """The hot account and the template account that preloading clones, each with one credit."""
    with pki.channel(addr, "payment") as channel:
        stub = bgrpc.BalanceServiceStub(channel)
        for account in (cases.HOT_ACCOUNT, cases.TEMPLATE_ACCOUNT):
            credit(stub, account, PRELOAD_MINOR)


def account_keys(client: redis.Redis, account: str) -> list[bytes]:
    """Every key of one account: the codebase tags all of an account's keys with `{account}`."""
    return sorted(client.scan_iter(match=f"*{{{account}}}*", count=1000))


def memory_by_kind(client: redis.Redis, account: str) -> dict[str, int]:
    """MEMORY USAGE of an account's keys, summed by kind: `bal:{A}:req:x` counts under `req`."""
    kinds: dict[str, int] = {}
    for key in account_keys(client, account):
        rest = key.decode().split("}", 1)[1]
        kind = rest.split(":")[1] if rest else "account"
        kinds[kind] = kinds.get(kind, 0) + (client.memory_usage(key, samples=0) or 0)
    return kinds


def measure_memory(addr: str, redis_url: str, entries: int, pki: Pki) -> dict:
    """Bytes of an account with one credit, and what each further credit adds, by kind of key."""
    client = redis.Redis.from_url(redis_url)
    with pki.channel(addr, "payment") as channel:
        stub = bgrpc.BalanceServiceStub(channel)
        credit(stub, cases.MEMORY_ACCOUNT, PRELOAD_MINOR)
        keys = len(account_keys(client, cases.MEMORY_ACCOUNT))
        one = memory_by_kind(client, cases.MEMORY_ACCOUNT)
        for _ in range(entries):
            credit(stub, cases.MEMORY_ACCOUNT, 1)
        grown = memory_by_kind(client, cases.MEMORY_ACCOUNT)
    client.close()
    per_credit = {kind: (grown[kind] - one.get(kind, 0)) / entries for kind in grown}
    return {
        "keys_per_account": keys,
        "bytes_per_account": sum(one.values()),
        "bytes_per_account_by_kind": one,
        "entries": entries,
        "bytes_per_credit": sum(per_credit.values()),
        "bytes_per_credit_by_kind": per_credit,
    }


class Cloner:
    """Copies the template account's keys under new account ids, pipelined, at Redis speed.

    Streams are rebuilt with XADD (same ids and fields) so they get the node preallocation a real
    account's log gets; other keys are copied with DUMP/RESTORE. A copy holds what a real account
    with one credit holds, so 10^6 accounts take seconds, not a million Credit calls. Values keep
    the template's id inside (e.g. its one log entry), which the debit path never reads back.
    """

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        keys = account_keys(self.client, cases.TEMPLATE_ACCOUNT)
        if not keys:
            raise Unavailable(f"no key tagged {{{cases.TEMPLATE_ACCOUNT}}} after a Credit")
        tag = f"{{{cases.TEMPLATE_ACCOUNT}}}".encode()
        self.copies = [(k.split(tag), self._copier(k)) for k in keys]
        self.count = 1  # the template itself is account 0

    def _copier(self, key: bytes):
        if self.client.type(key) == b"stream":
            entries = self.client.xrange(key)
            return lambda pipe, name: [pipe.xadd(name, fields, id=eid) for eid, fields in entries]
        ttl, payload = max(self.client.pttl(key), 0), self.client.dump(key)
        return lambda pipe, name: pipe.restore(name, ttl, payload, replace=True)

    def grow_to(self, accounts: int, batch: int = 2000) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for index in range(self.count, accounts):
                tag = f"{{{cases.account_id(index)}}}".encode()
                for pieces, copy in self.copies:
                    copy(pipe, tag.join(pieces))
                if len(pipe) >= batch:
                    pipe.execute()
            pipe.execute()
        self.count = max(self.count, accounts)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def close(self) -> None:
        self.client.close()


def describe(exc: grpc.RpcError) -> str:
    return f"{exc.code().name}: {exc.details()}"

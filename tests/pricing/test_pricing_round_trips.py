"""Each discount-code mutation, and a quote with a code, is one Redis command: one EVALSHA, one round trip."""

from __future__ import annotations

from pricing.v1 import pricing_service_pb2 as pb

from pricing_svc.settings import Settings
from tests.balance.support import RedisProxy
from tests.conftest import ADMIN_METADATA, base_settings
from tests.pricing.support import start_pricing, unique

_HOUSEKEEPING = {b"PING", b"CLIENT", b"HELLO", b"SELECT"}  # health probe and connection setup


async def test_each_code_mutation_and_each_coded_quote_is_one_evalsha(
    single_redis, redis_server, start_server, channel_to
):
    proxy = RedisProxy(redis_server.port)
    port = await proxy.start()
    settings = Settings(**base_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_cluster_nodes=""))
    pricing = await start_pricing(start_server, channel_to, settings)
    await pricing.create_code("SAVE")

    def calls(run: int) -> dict:
        return {
            "CreateDiscountCode": lambda: pricing.create_code(f"CODE{run}"),
            "ReserveDiscountCode": lambda: pricing.reserve("SAVE", f"order-{run}-1"),
            "ConfirmDiscountCode": lambda: pricing.confirm("SAVE", f"order-{run}-1"),
            "ReserveDiscountCode again": lambda: pricing.reserve("SAVE", f"order-{run}-2"),
            "ReleaseDiscountCode": lambda: pricing.release("SAVE", f"order-{run}-2"),
            "GetQuote with a code": lambda: pricing.quote("launch-product", "SAVE", "acct-1"),
            "DisableDiscountCode": lambda: pricing.stub.DisableDiscountCode(
                pb.DisableDiscountCodeRequest(code=f"CODE{run}", request_id=unique("disable")),
                metadata=ADMIN_METADATA,
            ),
        }

    try:
        for call in calls(0).values():  # loads each script, and reads SAVE's terms, once
            await call()
        for name, call in calls(1).items():
            proxy.commands.clear()
            await call()
            sent = [c[0].upper() for c in proxy.commands if c[0].upper() not in _HOUSEKEEPING]
            assert sent == [b"EVALSHA"], name
    finally:
        proxy.close()

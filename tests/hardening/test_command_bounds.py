"""Only a stream read's own BLOCK option stretches a command's time bound; data never does."""

from __future__ import annotations

import grpc
from balance.v1 import balance_service_pb2 as bal

from tests.hardening.support import SERVICES, Call, invoke, settings_for


async def test_a_request_id_spelled_like_the_block_option_is_only_data(any_redis, start_server, channel_to):
    channel = channel_to(await start_server(SERVICES["balance"][0], settings_for("balance", any_redis)))
    request = bal.CreditRequest(
        account_id="acct_block",
        amount_minor=100,
        currency="USD",
        reason=bal.TRANSACTION_REASON_TOP_UP,
        reference="BLOCK",
        request_id="BLOCK",
    )
    result = await invoke(channel, Call("/balance.v1.BalanceService/Credit", request))
    assert not isinstance(result, grpc.aio.AioRpcError), result
    assert result.balance.balance_minor == 100

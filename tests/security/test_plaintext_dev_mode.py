"""Plaintext only where explicitly configured for local development, and then with a WARNING at start."""

from __future__ import annotations

import logging

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc

from balance_svc.config import Settings as BalanceSettings
from balance_svc.server import create_server as create_balance
from svckit.status import error_info
from svckit.tls import TlsNotConfigured
from tests.conftest import base_settings


async def test_a_server_without_certificates_refuses_to_start_unless_plaintext_is_explicit(single_redis):
    settings = BalanceSettings(**base_settings(**single_redis, plaintext_dev_mode=False))
    with pytest.raises(TlsNotConfigured, match="PLAINTEXT_DEV_MODE"):
        await create_balance(settings)


async def test_a_server_with_only_part_of_its_tls_files_refuses_to_start(single_redis, pki):
    partial = {"tls_cert_file": str(pki / "{service}.pem"), "tls_key_file": str(pki / "{service}-key.pem")}
    settings = BalanceSettings(**base_settings(**single_redis, plaintext_dev_mode=False, **partial))
    with pytest.raises(TlsNotConfigured):
        await create_balance(settings)


async def test_plaintext_dev_mode_warns_at_start_and_keeps_admin_methods_closed(
    single_redis, start_server, channel_to, caplog
):
    caplog.set_level(logging.WARNING, logger="tls")
    addr = await start_server(create_balance, BalanceSettings(**base_settings(**single_redis)))
    assert any(r.levelno == logging.WARNING and "PLAINTEXT_DEV_MODE" in r.message for r in caplog.records)
    stub = balance_service_pb2_grpc.BalanceServiceStub(channel_to(addr))

    def credit(reason: int, request_id: str) -> bal.CreditRequest:
        return bal.CreditRequest(account_id="acct_dev", amount_minor=5, reason=reason, request_id=request_id)

    await stub.Credit(credit(bal.TRANSACTION_REASON_TOP_UP, "dev-1"))  # the dev caller holds `payment`
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Credit(credit(bal.TRANSACTION_REASON_ADJUSTMENT, "dev-2"))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(refused.value).reason == "ADMIN_TOKEN_MISSING"

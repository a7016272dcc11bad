"""The whole customer story over mTLS: each service presents its own certificate, the suite a storefront's."""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc

from devtools import dev_pki
from tests.e2e.conftest import Endpoints, local_stack
from tests.e2e.test_story import clients, test_the_whole_customer_story  # noqa: F401  (run here over mTLS)


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> Iterator[Endpoints]:
    """Always a local stack of its own: a deployed one (compose) runs test_story.py alone, over its TLS."""
    pki = dev_pki.ensure(tmp_path_factory.mktemp("e2e-pki"))
    # This process (health probes, the story's channels) calls as the storefront: a spender, and the
    # caller of payment_svc's checkout methods; admin steps add the admin token.
    client = {
        "TLS_CA_FILE": str(pki / "ca.pem"),
        "TLS_CLIENT_CERT_FILE": str(pki / "storefront.pem"),
        "TLS_CLIENT_KEY_FILE": str(pki / "storefront-key.pem"),
    }
    saved = {key: os.environ.get(key) for key in client}
    os.environ.update(client)
    try:
        with local_stack(
            tmp_path_factory,
            tls_cert_file=str(pki / "{service}.pem"),
            tls_key_file=str(pki / "{service}-key.pem"),
            tls_ca_file=str(pki / "ca.pem"),
            tls_client_cert_file="",  # the services call each other with their own certificates
            tls_client_key_file="",
        ) as endpoints:
            yield endpoints
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def test_the_stack_refuses_a_plaintext_caller(e2e):
    async with grpc.aio.insecure_channel(e2e.balance) as channel:
        stub = balance_service_pb2_grpc.BalanceServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetBalance(bal.GetBalanceRequest(account_id="acct_plain"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

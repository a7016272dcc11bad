"""Named bearer tokens: stored as hashes, several at once for rotation, revoked by removing them."""

from __future__ import annotations

import grpc
import pytest
from pricing.v1 import pricing_service_pb2 as pri
from pricing.v1 import pricing_service_pb2_grpc

from pricing_svc.server import create_server as create_pricing
from pricing_svc.settings import Settings as PricingSettings
from svckit.status import error_info
from svckit.tokens import BearerToken, TokenBook, hash_token
from tests.conftest import tls_settings
from tests.security.conftest import credentials

OLD, NEW = "old-admin-token-2026-11", "new-admin-token-2026-12"


def _entry(name: str, token: str) -> dict:
    return {"name": name, "identity": "ops-alice", "roles": ["admin"], "sha256": hash_token(token)}


def _settings(pki, redis: dict[str, str], tokens: list[dict]) -> PricingSettings:
    return PricingSettings(**tls_settings(pki, **redis, admin_token=None, bearer_tokens=tokens))


async def _read_config(addr: str, pki, token: str) -> grpc.StatusCode:
    async with grpc.aio.secure_channel(addr, credentials(pki, "admin-cli")) as channel:
        try:
            await pricing_service_pb2_grpc.PricingServiceStub(channel).GetPricingConfig(
                pri.GetPricingConfigRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=5
            )
        except grpc.aio.AioRpcError as err:
            assert error_info(err).reason == "ADMIN_TOKEN_INVALID"
            return err.code()
    return grpc.StatusCode.OK


async def test_a_rotated_token_works_alongside_the_old_one_until_the_old_one_is_removed(
    pki, single_redis, start_server
):
    both = [_entry("alice-2026-11", OLD), _entry("alice-2026-12", NEW)]
    addr = await start_server(
        create_pricing,
        PricingSettings(**tls_settings(pki, **single_redis, admin_token=None, bearer_tokens=both)),
    )
    assert await _read_config(addr, pki, OLD) == grpc.StatusCode.OK
    assert await _read_config(addr, pki, NEW) == grpc.StatusCode.OK

    # The config change that removes the old entry reaches the service as a restart (rolling, in k8s).
    addr = await start_server(create_pricing, _settings(pki, single_redis, [_entry("alice-2026-12", NEW)]))
    assert await _read_config(addr, pki, OLD) == grpc.StatusCode.PERMISSION_DENIED
    assert await _read_config(addr, pki, NEW) == grpc.StatusCode.OK


def test_the_settings_hold_only_hashes_and_the_book_finds_the_holder():
    entry = BearerToken(**_entry("alice-2026-12", NEW))
    assert NEW not in entry.model_dump_json()
    book = TokenBook([entry])
    holder = book.holder(NEW)
    assert holder is not None and (holder.name, holder.identity, holder.roles) == (
        "alice-2026-12",
        "ops-alice",
        frozenset({"admin"}),
    )
    assert book.holder(OLD) is None
    assert book.holder(NEW + " ") is None


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "bearer  "])
async def test_a_malformed_authorization_header_is_no_token_so_the_certificate_decides(
    pki, single_redis, start_server, header
):
    addr = await start_server(create_pricing, PricingSettings(**tls_settings(pki, **single_redis)))
    async with grpc.aio.secure_channel(addr, credentials(pki, "admin-cli")) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await pricing_service_pb2_grpc.PricingServiceStub(channel).GetPricingConfig(
                pri.GetPricingConfigRequest(), metadata=(("authorization", header),), timeout=5
            )
    assert (refused.value.code(), error_info(refused.value).reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_MISSING",
    )

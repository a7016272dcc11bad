"""Fixtures: pricing_svc on a clean single Redis and on a clean Cluster, with a manual clock."""

from __future__ import annotations

import functools

import pytest
from pricing.v1 import pricing_service_pb2_grpc

from pricing_svc.config import Settings
from pricing_svc.server import create_server
from svckit.clock import ManualClock
from tests.conftest import base_settings
from tests.pricing.support import Pricing


@pytest.fixture
async def pricing(any_redis, start_server, channel_to) -> Pricing:
    clock = ManualClock()
    settings = Settings(**base_settings(**any_redis))
    addr = await start_server(functools.partial(create_server, clock=clock), settings)
    return Pricing(pricing_service_pb2_grpc.PricingServiceStub(channel_to(addr)), clock, addr)

"""Fixtures: pricing_svc with a manual clock, on a clean single Redis and on a clean Cluster."""

from __future__ import annotations

import pytest

from pricing_svc.settings import Settings
from tests.conftest import base_settings
from tests.pricing.support import Pricing, start_pricing


@pytest.fixture
async def pricing(any_redis, start_server, channel_to) -> Pricing:
    """Runs each test against a single Redis and against a Cluster."""
    return await start_pricing(start_server, channel_to, Settings(**base_settings(**any_redis)))


@pytest.fixture
async def pricing_single(single_redis, start_server, channel_to) -> Pricing:
    """For tests of request validation, where the Redis topology cannot matter."""
    return await start_pricing(start_server, channel_to, Settings(**base_settings(**single_redis)))

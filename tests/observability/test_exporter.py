"""METRICS_PORT: each service's default, 0 for none, and a taken port refuses to start."""

from __future__ import annotations

import socket

import pytest

from balance_svc.config import Settings
from balance_svc.server import create_server
from svckit.config import CommonSettings
from svckit.metrics import metrics_port
from tests.conftest import base_settings


def test_each_service_has_its_own_default_port_and_0_turns_metrics_off():
    unset = CommonSettings(metrics_port=None)  # as if METRICS_PORT were not set
    assert [metrics_port(unset, d) for d in ("pricing.v1", "balance.v1", "payment.v1")] == [9091, 9092, 9093]
    assert metrics_port(CommonSettings(metrics_port=9200), "balance.v1") == 9200
    assert metrics_port(CommonSettings(metrics_port=0), "balance.v1") == 0


async def test_a_taken_metrics_port_fails_the_start_rather_than_run_unobserved(single_redis):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(**base_settings(**single_redis, metrics_port=taken.getsockname()[1]))
        app, _ = await create_server(settings)
        with pytest.raises(OSError):
            await app.start()
        await app.stop(0)

"""`priceledger data` against the real services: each one's data-loss guard, read and acknowledged."""

from __future__ import annotations

import pytest

from tests.priceledger.cli_runner import priceledger, priceledger_json


@pytest.mark.parametrize("service", ["pricing", "balance", "payment"])
async def test_data_show_reports_each_services_epoch_and_no_loss(e2e, service):
    shown = await priceledger_json(e2e, "data", "show", service)
    assert shown["epoch"] and "data_loss" not in shown
    human = await priceledger(e2e, "data", "show", service)
    assert human.exit_code == 0 and "none detected" in human.stdout


async def test_acknowledging_without_a_loss_is_refused_by_name(e2e):
    refused = await priceledger(e2e, "data", "acknowledge", "balance", "--note", "INC-1: nothing happened")
    assert refused.exit_code == 1
    assert "FAILED_PRECONDITION" in refused.output and "NO_DATA_LOSS_DETECTED" in refused.output


async def test_data_commands_need_the_admin_token(e2e):
    anonymous = await priceledger(e2e, "data", "show", "pricing", ADMIN_TOKEN=None)
    assert anonymous.exit_code == 1 and "UNAUTHENTICATED" in anonymous.output

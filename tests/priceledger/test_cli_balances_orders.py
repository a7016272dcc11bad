"""`priceledger balances`, `orders` and `auto-top-up` against the real balance_svc and payment_svc."""

from __future__ import annotations

from balance.v1 import balance_service_pb2 as bal

from devtools.redis_procs import free_port
from priceledger_client import BalanceClient
from tests.priceledger.cli_runner import priceledger, priceledger_json
from tests.priceledger.scripted_peer import HANG, ScriptedPeer
from tests.priceledger.support import fulfilled_order, unique


async def test_adjustments_move_the_balance_and_show_in_the_paged_history(e2e):
    account = unique("acct")
    credit = await priceledger(e2e, "balances", "adjust", account, "credit", "500", "--note", "goodwill")
    assert credit.exit_code == 0, credit.output
    assert "5.00 USD" in credit.stdout
    debit = await priceledger_json(e2e, "balances", "adjust", account, "debit", "200", "--note", "fix")
    assert debit["balance"]["balance_minor"] == "300"

    shown = await priceledger_json(e2e, "balances", "show", account)
    assert (shown["balance_minor"], shown["available_minor"]) == ("300", "300")

    first = await priceledger(e2e, "balances", "history", account, "--page-size", "1")
    assert first.exit_code == 0 and "fix" in first.stdout and "goodwill" not in first.stdout
    token = first.stdout.split("--page-token ")[1].split()[0]
    second = await priceledger_json(
        e2e, "balances", "history", account, "--page-size", "1", "--page-token", token
    )
    assert [(t["reason"], t["reference"]) for t in second["transactions"]] == [
        ("TRANSACTION_REASON_ADJUSTMENT", "goodwill")
    ]
    assert second["next_page_token"] == ""


async def test_an_adjustment_re_run_with_its_request_id_applies_once(e2e):
    account = unique("acct")
    args = ("balances", "adjust", account, "credit", "700", "--note", "retry me", "--request-id", "adj-1")
    first = await priceledger_json(e2e, *args)
    again = await priceledger_json(e2e, *args)
    assert again["transaction"]["transaction_id"] == first["transaction"]["transaction_id"]
    assert (await priceledger_json(e2e, "balances", "show", account))["balance_minor"] == "700"


async def test_verify_reports_a_consistent_account_and_exits_zero(e2e):
    account = unique("acct")
    async with BalanceClient(e2e.balance, admin_token=e2e.admin_token) as balance:
        await balance.credit(account, 1234, reason=bal.TRANSACTION_REASON_PROMOTIONAL)
    result = await priceledger(e2e, "balances", "verify", account)
    assert result.exit_code == 0, result.output
    assert "consistent" in result.stdout and "INCONSISTENT" not in result.stdout
    report = await priceledger_json(e2e, "balances", "verify", account)
    assert (report["consistent"], report["computed_balance_minor"]) == (True, "1234")


async def test_an_error_is_one_line_with_status_reason_and_field_violations_and_exits_1(e2e):
    result = await priceledger(e2e, "balances", "adjust", "not an id!", "credit", "5", "--note", "x")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: INVALID_ARGUMENT INVALID_ARGUMENT: ")
    assert "[account_id: " in lines[0]
    assert "request_id" not in lines[0]  # a refusal changed nothing: no retry hint


async def test_admin_commands_without_the_token_fail_unauthenticated(e2e):
    result = await priceledger(
        e2e, "balances", "adjust", unique("acct"), "credit", "5", "--note", "x", ADMIN_TOKEN=None
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: UNAUTHENTICATED ADMIN_TOKEN_MISSING: ")


async def test_flags_override_the_environment(e2e):
    dead = f"127.0.0.1:{free_port()}"
    via_env = await priceledger(e2e, "balances", "show", "acct-1", BALANCE_SERVICE_ADDR=dead)
    assert via_env.exit_code == 1 and "UNAVAILABLE" in via_env.stderr
    via_flag = await priceledger(
        e2e, "--balance-addr", e2e.balance, "balances", "show", "acct-1", BALANCE_SERVICE_ADDR=dead
    )
    assert via_flag.exit_code == 0, via_flag.output
    wrong_token = await priceledger(e2e, "--admin-token", "wrong", "codes", "list")
    assert wrong_token.stderr.startswith("error: PERMISSION_DENIED ADMIN_TOKEN_INVALID: ")


async def test_orders_list_show_and_refund_a_paid_order(e2e):
    account = unique("acct")
    order = await fulfilled_order(e2e, account)

    listed = await priceledger(e2e, "orders", "list", account)
    assert listed.exit_code == 0 and order.order_id in listed.stdout and "FULFILLED" in listed.stdout
    shown = await priceledger_json(e2e, "orders", "show", order.order_id)
    assert (shown["status"], shown["amount_minor"]) == ("ORDER_STATUS_FULFILLED", str(order.amount_minor))

    refund = await priceledger(
        e2e, "orders", "refund", order.order_id, "--amount-minor", "100", "--reason", "late"
    )
    assert refund.exit_code == 0, refund.output
    too_much = await priceledger(
        e2e, "orders", "refund", order.order_id, "--amount-minor", str(order.amount_minor)
    )
    assert too_much.exit_code == 1
    assert "FAILED_PRECONDITION REFUND_EXCEEDS_PAID" in too_much.stderr


async def test_auto_top_up_configure_then_show(e2e):
    account = unique("acct")
    configured = await priceledger(
        e2e,
        "auto-top-up",
        "configure",
        account,
        "--enable",
        "--threshold-minor",
        "500",
        "--blocks",
        "1",
        "--max-spend-minor",
        "5000",
    )
    assert configured.exit_code == 0, configured.output
    shown = await priceledger_json(e2e, "auto-top-up", "show", account)
    assert (shown["enabled"], shown["threshold_minor"], shown["blocks"]) == (True, "500", 1)
    assert (await priceledger_json(e2e, "auto-top-up", "configure", account, "--disable"))["enabled"] is False


async def test_a_bad_auto_top_up_names_every_bad_field(e2e):
    result = await priceledger(e2e, "auto-top-up", "configure", unique("acct"), "--enable")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: INVALID_ARGUMENT ")
    assert "threshold_minor: " in result.stderr and "blocks: " in result.stderr


async def test_a_timed_out_adjustment_prints_its_request_id_and_re_running_with_it_resends_the_same(e2e):
    async with ScriptedPeer(outcomes=[HANG]) as peer:
        args = (
            "--balance-addr",
            peer.addr,
            "--timeout",
            "0.2",
            "balances",
            "adjust",
            "acct-1",
            "credit",
            "5",
        )
        timed_out = await priceledger(e2e, *args, "--note", "x")
        assert timed_out.exit_code == 1
        request_id = peer.attempts[0].request.request_id
        assert (
            timed_out.stderr
            == f"error: DEADLINE_EXCEEDED DEADLINE_EXCEEDED: Deadline Exceeded (request_id {request_id})\n"
        )

        again = await priceledger(e2e, *args, "--note", "x", "--request-id", request_id)
        assert again.exit_code == 0, again.output
        assert [a.request.request_id for a in peer.attempts] == [request_id, request_id]

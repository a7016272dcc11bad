"""Client of balance_svc: balances, credits and debits, holds and the transaction log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from balance.v1 import balance_service_pb2 as bal
from balance.v1 import balance_service_pb2_grpc

from priceledger_client.base import ServiceClient

_READ_S = 3.0
_WRITE_S = 5.0


class BalanceClient(ServiceClient):
    """Methods return the response's one field (a Balance, a Hold), or the whole response when it has more.

    `reason` arguments take a `balance_service_pb2.TransactionReason` value; reason ADJUSTMENT needs
    the admin token.
    """

    addr_setting = "balance_service_addr"
    stub_class = balance_service_pb2_grpc.BalanceServiceStub
    deadlines_s: ClassVar[Mapping[str, float]] = {
        "GetBalance": _READ_S,
        "Credit": _WRITE_S,
        "Debit": _WRITE_S,
        "CreateHold": _WRITE_S,
        "CaptureHold": _WRITE_S,
        "ReleaseHold": _WRITE_S,
        "GetHold": _READ_S,
        "ListTransactions": _READ_S,
        "VerifyAccount": _READ_S,
        "SetLowBalanceThreshold": _WRITE_S,
    }

    async def get_balance(self, account_id: str, *, timeout_s: float | None = None) -> bal.Balance:
        request = bal.GetBalanceRequest(account_id=account_id)
        return (await self._call("GetBalance", request, timeout_s)).balance

    async def credit(
        self,
        account_id: str,
        amount_minor: int,
        *,
        reason: bal.TransactionReason,
        currency: str = "",
        reference: str = "",
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> bal.CreditResponse:
        """Adds to the account, which its first credit creates."""
        request = bal.CreditRequest(**_entry(account_id, amount_minor, reason, currency, reference))
        return await self._mutate("Credit", request, request_id, timeout_s)

    async def debit(
        self,
        account_id: str,
        amount_minor: int,
        *,
        reason: bal.TransactionReason,
        currency: str = "",
        reference: str = "",
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> bal.DebitResponse:
        """Takes from the available balance, never below zero."""
        request = bal.DebitRequest(**_entry(account_id, amount_minor, reason, currency, reference))
        return await self._mutate("Debit", request, request_id, timeout_s)

    async def create_hold(
        self,
        account_id: str,
        amount_minor: int,
        *,
        hold_timeout_ms: int,
        currency: str = "",
        reference: str = "",
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> bal.CreateHoldResponse:
        """The request_id also names the hold: keep it (or read `hold.hold_id`) to capture or release."""
        request = bal.CreateHoldRequest(
            account_id=account_id,
            amount_minor=amount_minor,
            currency=currency,
            timeout_ms=hold_timeout_ms,
            reference=reference,
        )
        return await self._mutate("CreateHold", request, request_id, timeout_s)

    async def capture_hold(
        self,
        account_id: str,
        hold_id: str,
        amount_minor: int,
        *,
        reason: bal.TransactionReason,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> bal.CaptureHoldResponse:
        request = bal.CaptureHoldRequest(
            account_id=account_id, hold_id=hold_id, amount_minor=amount_minor, reason=reason
        )
        return await self._mutate("CaptureHold", request, request_id, timeout_s)

    async def release_hold(
        self, account_id: str, hold_id: str, *, request_id: str | None = None, timeout_s: float | None = None
    ) -> bal.ReleaseHoldResponse:
        request = bal.ReleaseHoldRequest(account_id=account_id, hold_id=hold_id)
        return await self._mutate("ReleaseHold", request, request_id, timeout_s)

    async def get_hold(self, account_id: str, hold_id: str, *, timeout_s: float | None = None) -> bal.Hold:
        request = bal.GetHoldRequest(account_id=account_id, hold_id=hold_id)
        return (await self._call("GetHold", request, timeout_s)).hold

    async def list_transactions(
        self, account_id: str, *, page_size: int = 0, page_token: str = "", timeout_s: float | None = None
    ) -> bal.ListTransactionsResponse:
        request = bal.ListTransactionsRequest(
            account_id=account_id, page_size=page_size, page_token=page_token
        )
        return await self._call("ListTransactions", request, timeout_s)

    async def verify_account(
        self, account_id: str, *, timeout_s: float | None = None
    ) -> bal.VerifyAccountResponse:
        return await self._call("VerifyAccount", bal.VerifyAccountRequest(account_id=account_id), timeout_s)

    async def set_low_balance_threshold(
        self,
        account_id: str,
        threshold_minor: int,
        *,
        request_id: str | None = None,
        timeout_s: float | None = None,
    ) -> bal.Balance:
        request = bal.SetLowBalanceThresholdRequest(account_id=account_id, threshold_minor=threshold_minor)
        return (await self._mutate("SetLowBalanceThreshold", request, request_id, timeout_s)).balance


def _entry(account_id: str, amount_minor: int, reason: int, currency: str, reference: str) -> dict:
    """The fields a credit and a debit share."""
    return {
        "account_id": account_id,
        "amount_minor": amount_minor,
        "reason": reason,
        "currency": currency,
        "reference": reference,
    }

"""BalanceService servicer: proto to domain and back."""

from __future__ import annotations

from typing import cast

from balance.v1 import balance_service_pb2 as pb
from balance.v1 import balance_service_pb2_grpc

from balance_svc.ledger import Ledger
from balance_svc.model import Balance, Hold, Transaction
from svckit.timestamps import timestamp_from_ms


class BalanceServicer(balance_service_pb2_grpc.BalanceServiceServicer):
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def GetBalance(self, request: pb.GetBalanceRequest, context) -> pb.GetBalanceResponse:
        return pb.GetBalanceResponse(balance=_balance(await self._ledger.balance(request.account_id)))

    async def Credit(self, request: pb.CreditRequest, context) -> pb.CreditResponse:
        r = request
        receipt = await self._ledger.credit(
            r.account_id, r.amount_minor, r.currency, r.reason, r.reference, r.request_id
        )
        return pb.CreditResponse(
            transaction=_transaction(receipt.transaction), balance=_balance(receipt.balance)
        )

    async def Debit(self, request: pb.DebitRequest, context) -> pb.DebitResponse:
        r = request
        receipt = await self._ledger.debit(
            r.account_id, r.amount_minor, r.currency, r.reason, r.reference, r.request_id
        )
        return pb.DebitResponse(
            transaction=_transaction(receipt.transaction), balance=_balance(receipt.balance)
        )

    async def CreateHold(self, request: pb.CreateHoldRequest, context) -> pb.CreateHoldResponse:
        r = request
        receipt = await self._ledger.create_hold(
            r.account_id, r.amount_minor, r.currency, r.timeout_ms, r.reference, r.request_id
        )
        return pb.CreateHoldResponse(hold=_hold(receipt.hold), balance=_balance(receipt.balance))

    async def CaptureHold(self, request: pb.CaptureHoldRequest, context) -> pb.CaptureHoldResponse:
        r = request
        receipt = await self._ledger.capture_hold(
            r.account_id, r.hold_id, r.amount_minor, r.reason, r.request_id
        )
        return pb.CaptureHoldResponse(
            transaction=_transaction(receipt.transaction),
            hold=_hold(receipt.hold),
            balance=_balance(receipt.balance),
        )

    async def ReleaseHold(self, request: pb.ReleaseHoldRequest, context) -> pb.ReleaseHoldResponse:
        receipt = await self._ledger.release_hold(request.account_id, request.hold_id, request.request_id)
        return pb.ReleaseHoldResponse(hold=_hold(receipt.hold), balance=_balance(receipt.balance))

    async def GetHold(self, request: pb.GetHoldRequest, context) -> pb.GetHoldResponse:
        return pb.GetHoldResponse(hold=_hold(await self._ledger.hold(request.account_id, request.hold_id)))

    async def ListTransactions(
        self, request: pb.ListTransactionsRequest, context
    ) -> pb.ListTransactionsResponse:
        entries, next_token = await self._ledger.transactions(
            request.account_id, request.page_size, request.page_token
        )
        return pb.ListTransactionsResponse(
            transactions=[_transaction_entry(t) for t in entries], next_page_token=next_token
        )

    async def VerifyAccount(self, request: pb.VerifyAccountRequest, context) -> pb.VerifyAccountResponse:
        result = await self._ledger.verify(request.account_id)
        return pb.VerifyAccountResponse(
            consistent=result.consistent,
            balance_minor=result.balance_minor,
            computed_balance_minor=result.computed_balance_minor,
            held_minor=result.held_minor,
            computed_held_minor=result.computed_held_minor,
            transaction_count=result.transaction_count,
            mismatches=result.mismatches,
        )

    async def SetLowBalanceThreshold(
        self, request: pb.SetLowBalanceThresholdRequest, context
    ) -> pb.SetLowBalanceThresholdResponse:
        receipt = await self._ledger.set_low_balance_threshold(
            request.account_id, request.threshold_minor, request.request_id
        )
        return pb.SetLowBalanceThresholdResponse(balance=_balance(receipt.balance))


def _balance(b: Balance) -> pb.Balance:
    return pb.Balance(
        account_id=b.account_id,
        currency=b.currency,
        balance_minor=b.balance_minor,
        held_minor=b.held_minor,
        available_minor=b.available_minor,
        low_balance_threshold_minor=b.threshold_minor,
    )


def _transaction(t: Transaction | None) -> pb.Transaction | None:
    """None (the field unset) only for what writes no entry; every RPC that returns one writes one."""
    return None if t is None else _transaction_entry(t)


def _transaction_entry(t: Transaction) -> pb.Transaction:
    return pb.Transaction(
        transaction_id=t.transaction_id,
        account_id=t.account_id,
        type=cast(pb.TransactionType, t.type),
        reason=cast(pb.TransactionReason, t.reason),
        amount_minor=t.amount_minor,
        currency=t.currency,
        balance_after_minor=t.balance_after_minor,
        reference=t.reference,
        request_id=t.request_id,
        hold_id=t.hold_id,
        create_time=timestamp_from_ms(t.create_time_ms),
    )


def _hold(h: Hold | None) -> pb.Hold | None:
    """None (the field unset) only for what touches no hold; every RPC that returns one touches one."""
    if h is None:
        return None
    return pb.Hold(
        hold_id=h.hold_id,
        account_id=h.account_id,
        amount_minor=h.amount_minor,
        currency=h.currency,
        status=cast(pb.HoldStatus, h.status),
        captured_minor=h.captured_minor,
        reference=h.reference,
        create_time=timestamp_from_ms(h.create_time_ms),
        expire_time=timestamp_from_ms(h.expire_time_ms),
    )

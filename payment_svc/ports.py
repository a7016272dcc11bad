"""What the domain calls on pricing_svc and balance_svc: Protocols that priceledger_client's clients meet."""

from __future__ import annotations

from typing import Protocol

from balance.v1 import balance_service_pb2 as bal
from pricing.v1 import pricing_service_pb2 as pri

# server.py passes the real clients. The domain types its peers by these instead, so it imports no grpc
# (the "Domain modules do not import grpc" contract in pyproject.toml).


class Balance(Protocol):
    async def get_balance(self, account_id: str) -> bal.Balance: ...

    async def list_transactions(self, account_id: str, *, page_size: int) -> bal.ListTransactionsResponse: ...

    async def credit(
        self,
        account_id: str,
        amount_minor: int,
        *,
        reason: bal.TransactionReason,
        currency: str,
        reference: str,
        request_id: str | None,
    ) -> bal.CreditResponse: ...

    async def debit(
        self,
        account_id: str,
        amount_minor: int,
        *,
        reason: bal.TransactionReason,
        currency: str,
        reference: str,
        request_id: str | None,
    ) -> bal.DebitResponse: ...

    async def set_low_balance_threshold(
        self, account_id: str, threshold_minor: int, *, request_id: str | None
    ) -> bal.Balance: ...


class Pricing(Protocol):
    async def get_quote(self, product_id: str, *, discount_code: str, account_id: str) -> pri.Quote: ...

    async def reserve_discount_code(
        self,
        code: str,
        *,
        order_id: str,
        account_id: str,
        product_id: str,
        ttl_seconds: int,
        request_id: str | None,
    ) -> pri.Reservation: ...

    async def confirm_discount_code(
        self, code: str, *, order_id: str, request_id: str | None
    ) -> pri.Reservation: ...

    async def release_discount_code(
        self, code: str, *, order_id: str, request_id: str | None
    ) -> pri.Reservation: ...


class Catalogue(Protocol):
    """pricing_svc's read of the catalogue, which its access policy grants the `payment` role."""

    async def get_pricing_config(self) -> pri.PricingConfig: ...

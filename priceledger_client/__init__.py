"""Clients of pricing_svc, balance_svc and payment_svc with deadlines, retries and typed errors.

async with BalanceClient.from_env() as balance:
    await balance.credit("acct-1", 500, reason=bal.TRANSACTION_REASON_PROMOTIONAL)
"""

from priceledger_client.balance import BalanceClient
from priceledger_client.base import CORRELATION_ID_HEADER, ServiceClient
from priceledger_client.channel import open_channel
from priceledger_client.errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    ClientError,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from priceledger_client.ops import OpsClient
from priceledger_client.payment import PaymentClient
from priceledger_client.pricing import PricingClient

__all__ = [
    "CORRELATION_ID_HEADER",
    "Aborted",
    "AlreadyExists",
    "BalanceClient",
    "Cancelled",
    "ClientError",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OpsClient",
    "OutOfRange",
    "PaymentClient",
    "PermissionDenied",
    "PricingClient",
    "ResourceExhausted",
    "ServiceClient",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "open_channel",
]

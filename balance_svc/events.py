"""The low-balance event stream: its default key, its fields, and publishing; payment_svc imports it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from svckit.redis_client import RedisClient

# One global stream (not per account) so a single consumer group sees every account.
DEFAULT_LOW_BALANCE_STREAM = "balance:low_balance_events"


@dataclass(frozen=True)
class LowBalanceEvent:
    """A debit or capture left `available_minor` below `threshold_minor`.

    One per crossing: the first debit or capture that leaves available below the threshold publishes it;
    the next one waits until available is back at or above the threshold (or a threshold is set again).
    (account_id, transaction_id) names the crossing: a replayed request publishes the same pair again,
    so consumers treat a pair they have already handled as done.
    """

    account_id: str
    transaction_id: str
    currency: str
    available_minor: int
    threshold_minor: int

    def to_fields(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_fields(cls, fields: Mapping[bytes | str, bytes | str]) -> LowBalanceEvent:
        """Parses one stream entry's fields, as returned by XREADGROUP with or without decoding."""
        text = {_text(k): _text(v) for k, v in fields.items()}
        return cls(
            account_id=text["account_id"],
            transaction_id=text["transaction_id"],
            currency=text["currency"],
            available_minor=int(text["available_minor"]),
            threshold_minor=int(text["threshold_minor"]),
        )


async def publish(redis: RedisClient, stream: str, event: LowBalanceEvent, maxlen: int) -> None:
    await redis.xadd(stream, event.to_fields(), maxlen=maxlen, approximate=True)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value

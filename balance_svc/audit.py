"""Recomputes an account's balance and live holds from its log alone and lists every disagreement."""

from __future__ import annotations

from collections.abc import AsyncIterable

from balance_svc.model import Balance, Transaction, TransactionType, Verification


async def verify(stored: Balance, counted: int, log: AsyncIterable[Transaction], now_ms: int) -> Verification:
    """`log` is the whole log, oldest first, as it stood when `stored` and `counted` were read."""
    balance, count = 0, 0
    live: dict[str, tuple[int, int]] = {}  # hold id -> (amount, expiry ms) of holds not yet resolved
    mismatches: list[str] = []
    async for entry in log:
        count += 1
        if entry.type is TransactionType.CREDIT:
            balance += entry.amount_minor
        elif entry.type is TransactionType.DEBIT:
            balance -= entry.amount_minor
        elif entry.type is TransactionType.HOLD_CREATED:
            live[entry.hold_id] = (entry.amount_minor, entry.hold_expire_time_ms)
        else:
            mismatches.extend(_resolve(entry, live))
            if entry.type is TransactionType.HOLD_CAPTURED:
                balance -= entry.amount_minor
        if entry.balance_after_minor != balance:
            mismatches.append(
                f"{entry.transaction_id}: balance after is {entry.balance_after_minor}, log sum {balance}"
            )
        if balance < 0:
            mismatches.append(f"{entry.transaction_id}: the balance went negative ({balance})")
    held = sum(amount for amount, expire_ms in live.values() if expire_ms > now_ms)
    if count != counted:
        mismatches.append(f"the account counts {counted} entries but the log has {count}")
    if stored.balance_minor != balance:
        mismatches.append(f"stored balance {stored.balance_minor} != {balance} recomputed from the log")
    if stored.held_minor != held:
        mismatches.append(f"stored held {stored.held_minor} != {held} in live holds recomputed from the log")
    return Verification(stored.balance_minor, balance, stored.held_minor, held, count, tuple(mismatches))


def _resolve(entry: Transaction, live: dict[str, tuple[int, int]]) -> list[str]:
    """Takes a capture's or release's hold out of `live`; a hold resolves once, before it expires."""
    hold = live.pop(entry.hold_id, None)
    if hold is None:
        return [f"{entry.transaction_id}: resolves hold {entry.hold_id!r}, which is not pending"]
    amount, expire_ms = hold
    problems = []
    if entry.create_time_ms >= expire_ms:
        problems.append(f"{entry.transaction_id}: resolves hold {entry.hold_id!r} after it expired")
    if entry.amount_minor > amount:
        problems.append(f"{entry.transaction_id}: moves {entry.amount_minor}, more than its hold's {amount}")
    return problems

"""The ledger's business metrics: money in and out by reason and currency, and ledger verifications."""

from __future__ import annotations

from prometheus_client import Counter

from balance_svc.model import Transaction, TransactionType

# Currencies are ISO 4217 codes the Ledger checked and reasons are enum names: both bounded sets.
CREDITED = Counter(
    "balance_credited_minor_total",
    "Money credited to accounts, in minor units, by reason and currency; replays are not counted.",
    ("reason", "currency"),
)
DEBITED = Counter(
    "balance_debited_minor_total",
    "Money taken from accounts (debits and hold captures), in minor units, by reason and currency; "
    "replays are not counted.",
    ("reason", "currency"),
)
VERIFICATIONS = Counter(
    "balance_verifications_total",
    "VerifyAccount runs by result: consistent, or inconsistent (the log and the stored figures disagree).",
    ("result",),
)
# Present at 0 from the start, so the first inconsistency is an increase an alert can see.
for _result in ("consistent", "inconsistent"):
    VERIFICATIONS.labels(_result)

_COUNTERS = {
    TransactionType.CREDIT: CREDITED,
    TransactionType.DEBIT: DEBITED,
    TransactionType.HOLD_CAPTURED: DEBITED,
}
_children: dict[tuple[TransactionType, int, str], Counter] = {}


def count_move(entry: Transaction) -> None:
    """Counts the money a credit, debit or capture entry moved (children cached: labels() costs more)."""
    key = (entry.type, entry.reason, entry.currency)
    child = _children.get(key)
    if child is None:
        child = _children[key] = _COUNTERS[entry.type].labels(entry.reason.name, entry.currency)
    child.inc(entry.amount_minor)


def count_verification(consistent: bool) -> None:
    VERIFICATIONS.labels("consistent" if consistent else "inconsistent").inc()

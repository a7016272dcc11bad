"""balance_svc: each account's prepaid balance as an atomic ledger on Redis."""

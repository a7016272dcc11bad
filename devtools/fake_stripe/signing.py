"""Stripe's webhook signature scheme (`Stripe-Signature: t=<ts>,v1=<hmac>`), for signing test payloads."""

import hashlib
import hmac
import time


def sign(
    payload: bytes | str, secret: str, timestamp: int | None = None, *, extra_secrets: tuple[str, ...] = ()
) -> str:
    """One v1 signature per secret, as Stripe sends while an endpoint's secret is being rolled."""
    t = int(time.time()) if timestamp is None else timestamp
    body = payload.encode() if isinstance(payload, str) else payload
    signed = f"{t}.".encode() + body
    signatures = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in (secret, *extra_secrets)]
    return ",".join([f"t={t}", *(f"v1={s}" for s in signatures)])

"""Which identity a verified peer certificate names."""

from __future__ import annotations

import pytest

from svckit.identity import service_from_peer

TRUST_DOMAIN = "priceledger.local"


@pytest.mark.parametrize(
    "auth, expected",
    [
        ({"peer_spiffe_id": [b"spiffe://priceledger.local/payment"], "peer_dns": [b"pricing"]}, "payment"),
        ({"peer_spiffe_id": [b"spiffe://elsewhere.example/payment"], "peer_dns": [b"payment"]}, None),
        ({"peer_spiffe_id": [b"spiffe://priceledger.local/"]}, None),
        ({"peer_uri": [b"https://payment.example"], "peer_dns": [b"payment"]}, None),
        ({"peer_dns": [b"localhost", b"payment.priceledger.local"]}, "payment"),
        ({"peer_dns": [b"payment", b"payment.evil.example", b"a.payment.priceledger.local"]}, None),
        ({"x509_common_name": [b"payment"]}, None),
        ({}, None),
    ],
    ids=[
        "spiffe",
        "other-trust-domain",
        "empty-path",
        "non-spiffe-uri",
        "dns-san-in-the-trust-domain",
        "dns-sans-outside-it",
        "cn-only",
        "no-cert",
    ],
)
def test_the_spiffe_id_wins_then_a_dns_san_in_the_trust_domain_and_never_the_common_name(auth, expected):
    assert service_from_peer(auth, TRUST_DOMAIN) == expected

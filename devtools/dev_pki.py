"""A development CA, per-service mTLS certificates and a dev admin token, made once under a state dir."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from svckit.config import CommonSettings
from svckit.tokens import hash_token

TRUST_DOMAIN = "priceledger.local"
# The three services, the storefront (the spender that calls them) and the admin tools (CLI, grpcurl).
IDENTITIES = ("pricing", "balance", "payment", "storefront", "admin-cli")
CERT_DAYS = 90
RENEW_DAYS = 14  # a certificate with fewer days left is issued again on the next start
DEV_ADMIN_TOKEN_NAME = "dev-admin"


@dataclass(frozen=True)
class Issuer:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def new_ca(common_name: str, *, days: int = 3650) -> Issuer:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Issuer(cert, key)


def issue(
    ca: Issuer,
    service: str,
    *,
    trust_domain: str = TRUST_DOMAIN,
    not_before: dt.datetime | None = None,
    days: int = CERT_DAYS,
) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for one service: SPIFFE URI SAN, DNS SANs and loopback IPs.

    Each is both a server and a client certificate, so a service serves and calls with the same one.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    sans: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(f"spiffe://{trust_domain}/{service}"),
        x509.DNSName(service),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def load_ca(folder: Path) -> Issuer | None:
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if not (cert_path.exists() and key_path.exists()):
        return None
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Issuer(x509.load_pem_x509_certificate(cert_path.read_bytes()), key)


def _needs_renewal(cert_path: Path, ca: Issuer) -> bool:
    if not cert_path.exists():
        return True
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return cert.issuer != ca.cert.subject or left < dt.timedelta(days=RENEW_DAYS)


def ensure(folder: Path, identities: Sequence[str] = IDENTITIES, trust_domain: str = TRUST_DOMAIN) -> Path:
    """Creates the CA once, then (re)issues each identity's cert when missing or near expiry; keys 0600."""
    ca = load_ca(folder)
    if ca is None:
        ca = new_ca("priceledger dev CA")
        _write(folder / "ca-key.pem", _key_pem(ca.key), 0o600)
        _write(folder / "ca.pem", ca.cert.public_bytes(serialization.Encoding.PEM))
    for name in identities:
        if _needs_renewal(folder / f"{name}.pem", ca):
            cert, key = issue(ca, name, trust_domain=trust_domain)
            _write(folder / f"{name}-key.pem", key, 0o600)
            _write(folder / f"{name}.pem", cert)
    return folder


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def dev_admin_token(folder: Path) -> str:
    """The dev admin token, made once and kept (0600) beside the certificates."""
    path = folder / "dev-admin-token"
    if not path.exists():
        _write(path, secrets.token_urlsafe(32).encode(), 0o600)
    return path.read_text().strip()


def stack_env(folder: Path, admin_token: str) -> dict[str, str]:
    """mTLS settings every process of a stack can share: `{service}` picks each one's own certificate
    (pricing, balance, payment; admin-cli for tools), and the dev admin token is the one bearer token."""
    entry = {"name": DEV_ADMIN_TOKEN_NAME, "identity": "dev-admin", "roles": ["admin"]}
    return {
        "TLS_CERT_FILE": str(folder / "{service}.pem"),
        "TLS_KEY_FILE": str(folder / "{service}-key.pem"),
        "TLS_CA_FILE": str(folder / "ca.pem"),
        "TRUST_DOMAIN": TRUST_DOMAIN,
        "BEARER_TOKENS": json.dumps([{**entry, "sha256": hash_token(admin_token)}]),
    }


def configure_run_stack(state_dir: Path) -> None:
    """`make run`: mTLS on (unless PLAINTEXT_DEV_MODE is set) through this process's environment, which
    the services inherit and its health probes read; prints the dev admin token and how to call."""
    if CommonSettings().plaintext_dev_mode:
        return
    folder = ensure(state_dir / "pki")
    token = dev_admin_token(folder)
    os.environ.update(stack_env(folder, token))
    print(f"mTLS on: dev CA, certificates and keys in {folder} (never commit them)", flush=True)
    print(f"dev admin token: {token}", flush=True)
    print(
        f"for grpcurl and priceledger: export ADMIN_TOKEN={token} TLS_CA_FILE={folder}/ca.pem "
        f"TLS_CLIENT_CERT_FILE={folder}/admin-cli.pem TLS_CLIENT_KEY_FILE={folder}/admin-cli-key.pem",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.dev_pki", description=__doc__)
    parser.add_argument("folder", type=Path, help="where the CA, certificates and keys go")
    parser.add_argument("--trust-domain", default=TRUST_DOMAIN)
    parser.add_argument("--identity", action="append", help="repeatable; default: the usual five")
    parser.add_argument("--owner", type=int, help="uid (and gid) to hand the folder and files to")
    args = parser.parse_args(argv)
    ensure(args.folder, args.identity or IDENTITIES, args.trust_domain)
    if args.owner is not None:
        for path in (args.folder, *args.folder.iterdir()):
            os.chown(path, args.owner, args.owner)
    print(f"certificates in {args.folder}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The run's mTLS: `make run`'s dev CA (devtools.dev_pki) under the work dir, the services' TLS
environment, and each client identity's certificate files and gRPC credentials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from devtools import dev_pki

ADMIN_TOKEN = "bench-admin-token"  # the one bearer token (role admin), for seeding through the admin API
TOOLS = "admin-cli"  # health checks and MONITOR capture: an identity with no role


@dataclass(frozen=True)
class Pki:
    folder: Path

    @classmethod
    def create(cls, folder: Path) -> Pki:
        """A new CA and the usual identities (pricing, balance, payment, storefront, admin-cli)."""
        return cls(dev_pki.ensure(folder))

    def service_env(self) -> dict[str, str]:
        """TLS_* (with `{service}` picking each service's own certificate), the trust domain and the
        admin bearer token, as shipped: client certificates required, no plaintext."""
        return dev_pki.stack_env(self.folder, ADMIN_TOKEN) | {"PLAINTEXT_DEV_MODE": "false"}

    def files(self, identity: str) -> tuple[Path, Path, Path]:
        """(CA, certificate, key) of one identity."""
        return self.folder / "ca.pem", self.folder / f"{identity}.pem", self.folder / f"{identity}-key.pem"

    def tls_args(self, identity: str) -> list[str]:
        """The load generators' options that present `identity`'s certificate."""
        ca, cert, key = self.files(identity)
        return ["--tls-ca", str(ca), "--tls-cert", str(cert), "--tls-key", str(key)]

    def credentials(self, identity: str) -> grpc.ChannelCredentials:
        return credentials(*self.files(identity))

    def channel(self, addr: str, identity: str) -> grpc.Channel:
        return grpc.secure_channel(addr, self.credentials(identity))


def credentials(ca: str | Path, cert: str | Path, key: str | Path) -> grpc.ChannelCredentials:
    """mTLS presenting `cert`, trusting servers that `ca` signed."""
    ca_pem, cert_pem, key_pem = (Path(p).read_bytes() for p in (ca, cert, key))
    return grpc.ssl_channel_credentials(ca_pem, private_key=key_pem, certificate_chain=cert_pem)

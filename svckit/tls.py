"""Server and channel credentials for mutual TLS, from the TLS_* settings; plaintext only in dev mode."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from svckit.config import CommonSettings

log = logging.getLogger("tls")

TOOL_IDENTITY = "admin-cli"  # what `{service}` means in a process that is not a service


class TlsNotConfigured(RuntimeError):
    """A server without certificates refuses to start, unless plaintext is explicitly configured."""


def _read(pattern: str, service: str) -> bytes:
    return Path(pattern.replace("{service}", service)).read_bytes()


def server_credentials(settings: CommonSettings, service: str) -> grpc.ServerCredentials | None:
    """None means plaintext, which only PLAINTEXT_DEV_MODE allows (with a WARNING)."""
    if settings.plaintext_dev_mode:
        log.warning("PLAINTEXT_DEV_MODE: serving without TLS; every caller holds every role but admin")
        return None
    files = (settings.tls_cert_file, settings.tls_key_file, settings.tls_ca_file)
    if not all(files[:2]) or (settings.tls_require_client_cert and not files[2]):
        raise TlsNotConfigured(
            "set TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE (or PLAINTEXT_DEV_MODE=true for local dev)"
        )
    if not settings.tls_require_client_cert:
        log.warning("TLS_REQUIRE_CLIENT_CERT is false: callers without a certificate need a bearer token")
    cert, key, ca = (Path(p.replace("{service}", service)) if p else None for p in files)
    assert cert is not None and key is not None
    reloader = CertificateFiles(cert, key, ca)
    return grpc.dynamic_ssl_server_credentials(
        reloader.configuration(),
        reloader.fetch,
        require_client_authentication=settings.tls_require_client_cert,
    )


class CertificateFiles:
    """The server's certificate, key and CA, read again at the next handshake after a file changes.

    So a renewed certificate (cert-manager, SPIRE, `make run`'s dev CA) is served without a restart;
    connections already open keep the one they started with. A half-written pair (a key that does not
    match its certificate) is not taken; the next handshake tries again.
    """

    def __init__(self, cert: Path, key: Path, ca: Path | None) -> None:
        self._paths = (cert, key, ca)
        self._stamp = self._mtimes()

    def _mtimes(self) -> tuple[int, ...]:
        return tuple(p.stat().st_mtime_ns for p in self._paths if p is not None)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        cert_path, key_path, ca_path = self._paths
        cert, key = cert_path.read_bytes(), key_path.read_bytes()
        loaded = x509.load_pem_x509_certificate(cert).public_key()
        if loaded != serialization.load_pem_private_key(key, password=None).public_key():
            raise ValueError(f"{key_path} is not the key of {cert_path}")
        ca = ca_path.read_bytes() if ca_path is not None else None
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC calls it before each handshake: None keeps the current configuration."""
        try:
            stamp = self._mtimes()
            if stamp == self._stamp:
                return None
            configuration = self.configuration()
        except (OSError, ValueError) as exc:  # mid-rotation: keep serving the current one
            log.warning("TLS files changed but cannot be loaded yet: %s", exc)
            return None
        self._stamp = stamp
        log.info("TLS certificate reloaded", extra={"cert": str(self._paths[0])})
        return configuration


def bind(server: grpc.aio.Server, addr: str, settings: CommonSettings, service: str) -> int:
    """Binds `addr` with TLS (or plaintext in dev mode); the bound port."""
    credentials = server_credentials(settings, service)
    if credentials is None:
        return server.add_insecure_port(addr)
    return server.add_secure_port(addr, credentials)


def channel_credentials(
    settings: CommonSettings, service: str = TOOL_IDENTITY
) -> grpc.ChannelCredentials | None:
    """TLS presenting this process's certificate when TLS_CA_FILE is set (and not in dev mode); else None."""
    if settings.plaintext_dev_mode or not settings.tls_ca_file:
        return None
    cert = settings.tls_client_cert_file or settings.tls_cert_file
    key = settings.tls_client_key_file or settings.tls_key_file
    return grpc.ssl_channel_credentials(
        root_certificates=_read(settings.tls_ca_file, service),
        private_key=_read(key, service) if key else None,
        certificate_chain=_read(cert, service) if cert else None,
    )

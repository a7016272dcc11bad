"""Server and channel credentials for mutual TLS, from the TLS_* settings; plaintext only in dev mode."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc

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
    return grpc.ssl_server_credentials(
        [(_read(settings.tls_key_file, service), _read(settings.tls_cert_file, service))],
        root_certificates=_read(settings.tls_ca_file, service) if settings.tls_ca_file else None,
        require_client_auth=settings.tls_require_client_cert,
    )


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

"""Who is calling: a service from its peer certificate, a named bearer token, or the dev anonymous."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import grpc

from svckit.auth import header
from svckit.errors import AdminDisabled, PermissionDenied
from svckit.tokens import TokenBook

# In PLAINTEXT_DEV_MODE a caller without a token holds these: every role but admin.
PLAINTEXT_DEV_ROLES = frozenset({"payment", "spender", "storefront"})


@dataclass(frozen=True)
class Caller:
    """`identity` is None for a caller with no credential; `service` is its certificate's service name."""

    identity: str | None
    roles: frozenset[str]
    service: str | None = None
    token: str | None = None  # the bearer token's name

    @property
    def name(self) -> str:
        """Who made a change, for audit trails such as the pricing config history."""
        return self.identity or "anonymous"

    @property
    def authenticated(self) -> bool:
        return self.identity is not None

    def audit_fields(self) -> dict[str, object]:
        return {"identity": self.identity, "peer_service": self.service, "token": self.token}


ANONYMOUS = Caller(None, frozenset())
PLAINTEXT_DEV_CALLER = Caller(None, PLAINTEXT_DEV_ROLES)

caller_var: ContextVar[Caller] = ContextVar("caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the RPC being served, as the PolicyLayer authenticated it."""
    return caller_var.get()


def service_from_peer(auth: Mapping[str, Sequence[bytes]], trust_domain: str) -> str | None:
    """The service a verified peer certificate names.

    A SPIFFE URI SAN `spiffe://<trust_domain>/<service>` wins; one from another trust domain names no one.
    Without a URI SAN, a DNS SAN `<service>.<trust_domain>`: the trust domain scopes both forms, so a
    certificate for some other name (even one a public CA signed, were it trusted) names no service.
    """
    spiffe = auth.get("peer_spiffe_id")
    if spiffe:
        prefix = f"spiffe://{trust_domain}/"
        uri = spiffe[0].decode()
        return uri.removeprefix(prefix) if uri.startswith(prefix) and len(uri) > len(prefix) else None
    if auth.get("peer_uri"):
        return None  # a URI SAN that is not a SPIFFE id: do not guess from its DNS names
    suffix = f".{trust_domain}"
    for name in (n.decode() for n in auth.get("peer_dns", ())):
        service = name.removesuffix(suffix)
        if name.endswith(suffix) and service and "." not in service:
            return service
    return None


class Authenticator:
    """Who is calling: the peer certificate names a service; a bearer token, when sent, decides alone."""

    def __init__(
        self,
        tokens: TokenBook,
        service_roles: Mapping[str, Sequence[str]],
        trust_domain: str,
        *,
        plaintext_dev: bool,
    ) -> None:
        self._tokens = tokens
        self._service_roles = {name: frozenset(roles) for name, roles in service_roles.items()}
        self._trust_domain = trust_domain
        self._plaintext_dev = plaintext_dev
        self._by_service: dict[str, Caller] = {}

    def peer(self, context: grpc.aio.ServicerContext) -> Caller:
        """The caller as its certificate alone names it (the plaintext dev caller in dev mode)."""
        if self._plaintext_dev:
            return PLAINTEXT_DEV_CALLER
        service = service_from_peer(context.auth_context(), self._trust_domain)
        if service is None:
            return ANONYMOUS
        known = self._by_service.get(service)
        if known is None:
            known = Caller(service, self._service_roles.get(service, frozenset()), service)
            self._by_service[service] = known
        return known

    def with_token(self, peer: Caller, context: grpc.aio.ServicerContext) -> Caller:
        """The token's holder when a bearer token is sent, else `peer`; raises PermissionDenied for a
        token that is not configured."""
        token = _bearer(context.invocation_metadata())
        if token is None:
            return peer
        if not self._tokens:
            raise AdminDisabled("bearer tokens are disabled: no BEARER_TOKENS (or ADMIN_TOKEN) is configured")
        holder = self._tokens.holder(token)
        if holder is None:
            raise PermissionDenied("the bearer token is not valid")
        return Caller(holder.identity, holder.roles, peer.service, holder.name)


def _bearer(metadata) -> str | None:
    """The token of `authorization: Bearer <token>`; any other authorization value counts as none."""
    value = header(metadata, "authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None

"""The access policy declared in the protos (access.v1.access) and the one handler layer that enforces it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from access.v1 import access_pb2
from google.protobuf import descriptor, descriptor_pool

from svckit import audit
from svckit.auth import header
from svckit.config import CommonSettings
from svckit.errors import RoleMissing, ServiceError, Unauthenticated
from svckit.identity import Authenticator, Caller, caller_var
from svckit.method_wrapping import MethodLayer
from svckit.tokens import BearerToken, TokenBook, hash_token

# Callable with no token or role: load balancers and grpcurl need them before they know anything else.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


class PolicyError(ValueError):
    """A declared policy that cannot be enforced (an unknown reason, a method nobody may call)."""


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    any_authenticated: bool = False
    audited: bool = False

    def admits(self, caller: Caller) -> bool:
        # The plaintext dev caller has no identity but holds roles: it may read too.
        if self.any_authenticated and (caller.authenticated or caller.roles):
            return True
        return not self.roles.isdisjoint(caller.roles)


@dataclass(frozen=True)
class MethodPolicy:
    """`by_reason`'s rule for the request's `reason_field` value, if it has one; else `rule`."""

    method: str
    rule: Rule
    reason_field: str = ""
    by_reason: Mapping[int, Rule] | None = None

    def rule_for(self, request) -> Rule:
        if self.by_reason is None:
            return self.rule
        return self.by_reason.get(getattr(request, self.reason_field), self.rule)


def method_policy(method: descriptor.MethodDescriptor) -> MethodPolicy | None:
    """The method's declared policy; None when it declares none (and so may not be called)."""
    options = method.GetOptions()
    extension: Any = access_pb2.access  # typed as a plain FieldDescriptor by the generated stub
    if not options.HasExtension(extension):
        return None
    declared: access_pb2.Access = options.Extensions[extension]
    path = f"/{method.containing_service.full_name}/{method.name}"
    rule = Rule(frozenset(declared.roles), declared.any_authenticated, declared.audited)
    if not declared.reason_field:
        if declared.reasons:
            raise PolicyError(f"{path}: reasons without a reason_field")
        if not (rule.roles or rule.any_authenticated):
            raise PolicyError(f"{path}: no role may call it")
        return MethodPolicy(path, rule)
    field = method.input_type.fields_by_name.get(declared.reason_field)
    if field is None or field.enum_type is None:
        raise PolicyError(f"{path}: reason_field {declared.reason_field!r} is not an enum field")
    by_reason: dict[int, Rule] = {}
    for entry in declared.reasons:
        value = field.enum_type.values_by_name.get(entry.reason)
        if value is None or not entry.roles:
            raise PolicyError(f"{path}: reason {entry.reason!r} is unknown or has no roles")
        by_reason[value.number] = Rule(frozenset(entry.roles), audited=entry.audited or declared.audited)
    # A reason without a rule needs a role that may call the method at all; the service then refuses the
    # reason itself (INVALID_ARGUMENT), so a stranger learns nothing about which reasons exist.
    anyone_listed = Rule(frozenset().union(*(r.roles for r in by_reason.values())), audited=declared.audited)
    return MethodPolicy(path, anyone_listed, declared.reason_field, by_reason)


def load(service_names: Iterable[str]) -> dict[str, MethodPolicy | None]:
    """Every method of the named services, with its policy or None (refused); raises PolicyError for a
    policy that cannot be enforced, so such a server does not start."""
    pool = descriptor_pool.Default()
    out: dict[str, MethodPolicy | None] = {}
    for name in service_names:
        service = pool.FindServiceByName(name)
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                raise PolicyError(f"{method.full_name}: the policy covers unary RPCs only")
            out[f"/{service.full_name}/{method.name}"] = method_policy(method)
    return out


def _declared(method: str) -> MethodPolicy | None:
    """The policy of a method mounted outside the bound services, if its proto declares one."""
    try:
        found = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
        return method_policy(found)
    except (KeyError, PolicyError):
        return None


class PolicyLayer(MethodLayer):
    """Authenticates each call and admits it only as its method's declared policy says.

    Health and reflection (OPEN_SERVICES) pass untouched: they need no token or role (the TLS handshake
    still asks for a client certificate when TLS_REQUIRE_CLIENT_CERT is on). Every other method is
    refused unless its proto declares a policy, even one mounted outside the bound services; a streaming
    one is answered UNIMPLEMENTED. A refusal raises a ServiceError, which the ServiceLayer outside this
    one turns into a status with ErrorInfo; the handler never runs, so nothing is written.
    """

    def __init__(self, policies: Mapping[str, MethodPolicy | None], authenticator: Authenticator) -> None:
        self._policies = policies
        self._authenticator = authenticator

    def wrap(self, method: str, handler: grpc.RpcMethodHandler | None) -> grpc.RpcMethodHandler | None:
        if handler is None or method.split("/")[1] in OPEN_SERVICES:
            return handler
        if handler.unary_unary is None:
            return None  # no policy covers a streaming RPC: not served
        policy = self._policies[method] if method in self._policies else _declared(method)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, policy, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, method: str, policy: MethodPolicy | None, behavior):
        authenticator = self._authenticator

        async def handle(request, context: grpc.aio.ServicerContext):
            caller = authenticator.peer(context)
            try:
                caller = authenticator.with_token(caller, context)
                rule = _admit(method, policy, caller, request)
            except ServiceError as refusal:
                _audit(method, caller, refusal.code, request, context, refusal.reason)
                raise
            caller_var.set(caller)
            if not rule.audited:
                return await behavior(request, context)
            try:
                response = await behavior(request, context)
            except ServiceError as exc:
                _audit(method, caller, exc.code, request, context, exc.reason)
                raise
            except Exception:
                _audit(method, caller, "FAILED", request, context)
                raise
            _audit(method, caller, "OK", request, context)
            return response

        return handle


def _audit(method: str, caller: Caller, outcome: str, request, context, reason: str = "") -> None:
    claimed = header(context.invocation_metadata(), "x-caller-id")
    audit.record(method, caller, outcome, request, error_reason=reason, claimed_caller=claimed)


def _admit(method: str, policy: MethodPolicy | None, caller: Caller, request) -> Rule:
    if policy is None:
        raise RoleMissing(f"{method} declares no access policy, so no one may call it")
    rule = policy.rule_for(request)
    if rule.admits(caller):
        return rule
    if not caller.authenticated:
        raise Unauthenticated(f"{method} needs a client certificate or an 'authorization: Bearer' token")
    raise RoleMissing(f"{caller.identity} may not call {method}: it needs one of {sorted(rule.roles)}")


def from_settings(settings: CommonSettings, service_names: Iterable[str]) -> PolicyLayer:
    """The layer for a server's services; ADMIN_TOKEN, if set, is one more token: admin-token."""
    tokens = list(settings.bearer_tokens)
    if settings.admin_token is not None:
        secret = settings.admin_token.get_secret_value()
        tokens.append(
            BearerToken(name="admin-token", identity="admin", roles=["admin"], sha256=hash_token(secret))
        )
    authenticator = Authenticator(
        TokenBook(tokens),
        settings.service_roles,
        settings.trust_domain,
        plaintext_dev=settings.plaintext_dev_mode,
    )
    return PolicyLayer(load(service_names), authenticator)

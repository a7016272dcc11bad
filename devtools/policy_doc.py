"""Prints the README's access policy table from the protos' `access.v1.access` options."""

from __future__ import annotations

from balance.v1 import balance_service_pb2
from google.protobuf import descriptor_pool
from payment.v1 import payment_service_pb2
from pricing.v1 import pricing_service_pb2

from svckit.policy import Rule, load

SERVICES = [
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (pricing_service_pb2, "PricingService"),
        (balance_service_pb2, "BalanceService"),
        (payment_service_pb2, "PaymentService"),
    )
]


def _who(rule: Rule) -> str:
    if rule.any_authenticated:
        return "any identity"
    return ", ".join(f"`{role}`" for role in sorted(rule.roles))


def rows() -> list[tuple[str, str, str, str]]:
    """(RPC, reason, roles, audited) in proto order; one row per reason of a reasoned RPC."""
    out = []
    for method, policy in load(SERVICES).items():
        name = method.strip("/").replace("/", ".")
        if policy is None:
            out.append((name, "", "nobody (no policy declared)", ""))
        elif policy.by_reason is None:
            out.append((name, "", _who(policy.rule), "yes" if policy.rule.audited else ""))
        else:
            field = descriptor_pool.Default().FindMethodByName(name).input_type.fields_by_name
            enum = field[policy.reason_field].enum_type
            for number, rule in policy.by_reason.items():
                reason = enum.values_by_number[number].name
                out.append((name, reason, _who(rule), "yes" if rule.audited else ""))
    return out


def markdown() -> str:
    lines = ["| RPC | reason | who may call | audited |", "|---|---|---|---|"]
    lines += [f"| `{m}` | {f'`{r}`' if r else ''} | {w} | {a} |" for m, r, w, a in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

"""Prints the environment-variable table for the README from the services' Settings classes."""

from __future__ import annotations

from balance_svc.config import Settings as BalanceSettings
from payment_svc.config import Settings as PaymentSettings
from pricing_svc.settings import Settings as PricingSettings
from svckit.config import CommonSettings

SERVICES = {
    "all": CommonSettings,
    "balance_svc": BalanceSettings,
    "pricing_svc": PricingSettings,
    "payment_svc": PaymentSettings,
}


def rows() -> list[tuple[str, str, str, str]]:
    """(ENV_NAME, default, who reads it, description), each setting once."""
    seen: set[str] = set()
    out = []
    for who, cls in SERVICES.items():
        for name, field in cls.model_fields.items():
            if name in seen:
                continue
            seen.add(name)
            default = "" if field.default is None else str(field.default)
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            out.append((name.upper(), default, str(extra.get("read_by", who)), field.description or ""))
    return out


def markdown() -> str:
    lines = ["| variable | default | read by | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `{n}` | `{d}` | {w} | {m} |" if d else f"| `{n}` | (unset) | {w} | {m} |" for n, d, w, m in rows()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())

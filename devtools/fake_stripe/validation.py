"""Checks decoded params against params.json like Stripe does, returning them with typed values."""

import json
import re
from pathlib import Path

from .errors import StripeError, invalid, missing_param, unknown_param

ENDPOINTS: dict = json.loads(Path(__file__).with_name("params.json").read_text())["endpoints"]
_INTEGER = re.compile(r"-?\d+")
_BOOLEANS = {"true": True, "false": False}


def validate(endpoint: str, params: dict) -> dict:
    """`endpoint` is e.g. "POST /v1/customers/{customer}"; empty strings become None (unset)."""
    return _hash(ENDPOINTS[endpoint], params, "")


def _hash(node: dict, value, name: str) -> dict:
    if not isinstance(value, dict):
        raise invalid(f"Invalid hash: {name}", name)
    checked = {}
    for key, item in value.items():
        full = f"{name}[{key}]" if name else key
        if key not in node["keys"]:
            raise unknown_param(full)
        if item == "" and key in node["required"]:
            raise invalid(
                f"You passed an empty string for '{full}'. We assume empty values are an "
                f"attempt to unset a parameter; however '{full}' cannot be unset.",
                full,
                "parameter_invalid_empty",
            )
        checked[key] = None if item == "" else _value(node["keys"][key], item, full)
    for key in node["required"]:
        if key not in value:
            raise missing_param(f"{name}[{key}]" if name else key)
    return checked


def _value(spec, value, name: str):
    if isinstance(spec, dict) and "keys" in spec:
        if not spec.get("array"):
            return _hash(spec, value, name)
        if not isinstance(value, list):
            raise invalid(f"Invalid array: {name}", name)
        return [_hash(spec, item, f"{name}[{i}]") for i, item in enumerate(value)]
    if isinstance(spec, dict) and "any_of" in spec:
        for alternative in spec["any_of"]:
            try:
                return _value(alternative, value, name)
            except StripeError as error:
                last = error
        raise last
    if isinstance(spec, dict):  # enum
        if value not in spec["enum"]:
            raise invalid(f"Invalid {name}: must be one of {', '.join(spec['enum'])}", name)
        return value
    return _scalar(spec, value, name)


def _scalar(kind: str, value, name: str):
    if kind == "object":
        if isinstance(value, dict):
            return value
    elif kind == "array":
        if isinstance(value, list):
            return value
    elif isinstance(value, (dict, list)):
        pass
    elif kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    elif kind == "boolean" and value in _BOOLEANS:
        return _BOOLEANS[value]
    elif kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    elif kind == "string":
        return value
    code = "parameter_invalid_integer" if kind == "integer" else None
    raise invalid(f"Invalid {kind}: {value}", name, code)

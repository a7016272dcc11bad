"""One list of error reasons: the proto's ErrorReason, Python's ErrorReason and the Lua scripts agree."""

from __future__ import annotations

import re
from importlib import resources

from ops.v1 import ops_service_pb2 as ops
from pricing.v1 import pricing_service_pb2 as pb

from pricing_svc import errors
from pricing_svc.errors import ErrorReason
from svckit import errors as svckit_errors
from svckit import interceptors

_REASON_LITERAL = re.compile(r"'([A-Z]+(?:_[A-Z]+)+)'")


def _lua_reasons() -> set[str]:
    folder = resources.files("pricing_svc") / "lua"
    texts = [
        f.read_text() for f in (*folder.iterdir(), *(folder / "codes").iterdir()) if f.name.endswith(".lua")
    ]
    return {reason for text in texts for reason in _REASON_LITERAL.findall(text)}


def _error_classes(module) -> set[type]:
    return {
        cls
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, svckit_errors.ServiceError)
    }


def test_python_reasons_are_the_proto_enum_without_its_prefix():
    proto = {name.removeprefix("ERROR_REASON_") for name in pb.ErrorReason.keys()} - {"UNSPECIFIED"}
    assert proto == {reason.value for reason in ErrorReason}


def test_every_reason_a_lua_script_returns_is_an_error_reason():
    lua = _lua_reasons()
    assert "DISCOUNT_CODE_EXHAUSTED" in lua  # the scan finds the scripts' refusals
    assert lua - set(ErrorReason) == set()


SHARED_REASONS = {name.removeprefix("ERROR_REASON_") for name in ops.ErrorReason.keys()}


def test_every_error_pricing_svc_can_raise_carries_an_error_reason():
    classes = _error_classes(errors) | _error_classes(svckit_errors) | _error_classes(interceptors)
    reasons = {cls.reason for cls in classes} - {
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "ABORTED",
    }
    # Those four are svckit's generic bases; pricing_svc raises only their named subclasses. The shared
    # plumbing's own reasons are declared once, in ops.v1.ErrorReason.
    assert reasons - set(ErrorReason) - SHARED_REASONS == {"UNAVAILABLE", "DEPENDENCY_UNAVAILABLE"}

"""One list of error reasons: balance.v1.ErrorReason, balance_svc.errors.ErrorReason and the Lua scripts."""

from __future__ import annotations

import re
from importlib import resources

from balance.v1 import balance_service_pb2 as pb
from ops.v1 import ops_service_pb2 as ops

import balance_svc.errors
import svckit.errors
from balance_svc.errors import SCRIPT_REFUSALS, ErrorReason
from svckit import interceptors
from svckit.errors import ServiceError

# svckit's generic reasons that balance_svc never returns: it names each case instead (HOLD_NOT_FOUND, not
# NOT_FOUND), and it calls no other service.
_NEVER_RETURNED = {
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "ABORTED",
    "UNAVAILABLE",
    "DEPENDENCY_UNAVAILABLE",
}


def _lua_reasons() -> set[str]:
    folder = resources.files("balance_svc") / "lua"
    text = "".join(f.read_text() for f in folder.iterdir() if f.name.endswith(".lua"))
    return set(re.findall(r"refuse\('([A-Z_]+)'", text))


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_python_mirrors_the_proto_enum():
    proto = {name.removeprefix("ERROR_REASON_") for name in pb.ErrorReason.keys()} - {"UNSPECIFIED"}
    assert proto == set(ErrorReason)


def test_every_reason_a_script_returns_is_declared_and_raised_as_its_own_class():
    assert _lua_reasons() == set(SCRIPT_REFUSALS)
    assert set(SCRIPT_REFUSALS) <= set(ErrorReason)


def test_every_reason_balance_svc_or_svckit_can_return_is_declared():
    modules = {balance_svc.errors.__name__, svckit.errors.__name__, interceptors.__name__, "svckit.policy"}
    reasons = {cls.reason for cls in _subclasses(ServiceError) if cls.__module__ in modules}
    shared = {
        name.removeprefix("ERROR_REASON_") for name in ops.ErrorReason.keys()
    }  # declared once, in ops.v1
    assert reasons - _NEVER_RETURNED - shared <= set(ErrorReason)
    assert "HOLD_NOT_FOUND" in reasons  # the walk sees balance_svc's own classes

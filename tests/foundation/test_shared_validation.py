"""The shared field checks: ISO 4217 currencies, free text and the paging codec."""

from __future__ import annotations

import pytest

from svckit.currencies import minor_exponent
from svckit.errors import InvalidArgument, Violations
from svckit.paging import Paging
from svckit.validation import check_currency, check_text


def _violations(check) -> list[tuple[str, str]]:
    v = Violations()
    check(v)
    try:
        v.raise_if_any()
    except InvalidArgument as err:
        return list(err.field_violations)
    return []


@pytest.mark.parametrize("code", ["USD", "EUR", "JPY", "BHD"])
def test_real_currencies_are_accepted(code: str) -> None:
    assert _violations(lambda v: check_currency(v, code)) == []


@pytest.mark.parametrize("code", ["ZZZ", "UDS", "usd", "XAU", "XXX", "", "USDD"])
def test_made_up_or_unit_less_currencies_are_refused(code: str) -> None:
    assert [f for f, _ in _violations(lambda v: check_currency(v, code))] == ["currency"]


def test_minor_exponents_come_from_the_table() -> None:
    assert (minor_exponent("USD"), minor_exponent("JPY"), minor_exponent("BHD")) == (2, 0, 3)
    assert minor_exponent("ZZZ") is None


@pytest.mark.parametrize("text", ["a\x00b", "line\nbreak", "tab\there", "\x7f", "para\u2029"])
def test_free_text_refuses_control_characters(text: str) -> None:
    assert [f for f, _ in _violations(lambda v: check_text(v, text, "reason", max_chars=64))] == ["reason"]


def test_free_text_caps_length_and_accepts_unicode() -> None:
    assert _violations(lambda v: check_text(v, "Café ☕ 東京", "reason", max_chars=10)) == []
    assert _violations(lambda v: check_text(v, "x" * 11, "reason", max_chars=10))
    assert _violations(lambda v: check_text(v, "", "reason", max_chars=10, required=True))


def test_page_size_above_the_maximum_is_coerced_down() -> None:
    paging = Paging("test.v1.List", default_size=50, max_size=500)
    v = Violations()
    assert (paging.page_size(v, 0), paging.page_size(v, 10**6), paging.page_size(v, 7)) == (50, 500, 7)
    v.raise_if_any()
    assert _violations(lambda v: paging.page_size(v, -1))


def test_page_tokens_round_trip_and_refuse_other_methods_tokens() -> None:
    a, b = Paging("a.v1.List", 10, 100), Paging("b.v1.List", 10, 100)
    v = Violations()
    assert a.decode_token(v, a.encode_token("42")) == "42"
    v.raise_if_any()
    assert _violations(lambda v: a.decode_token(v, b.encode_token("42")))
    assert _violations(lambda v: a.decode_token(v, "not base64!"))
